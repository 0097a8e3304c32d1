/**
 * `recover` on the application's resets, through the CLI: --dry-run shows the plan and the
 * counts and changes nothing; the merge gives the union of ids and clears the finding in
 * stats and validate; twice changes nothing; a held database is refused; a WAL another file
 * wrote is never replayed into a Locrit.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { holdDatabase, killWriterMidWrite } from '../../src/fixtures/damage.js';
import { simulateReset } from '../../src/fixtures/reset.js';
import { idsOf, makeLocrit, runCli, sha256File, snapshotFolder, tempDir } from '../helpers.js';

const BACKUP = 'kuzu.db.backup_20261102_100000';

describe('recover after a reset', () => {
  it('--dry-run plans the merge with counts; the merge brings every message back; stats, validate and a second run then find nothing', async (t) => {
    const data = tempDir(t);
    const bob = await makeLocrit(data, { name: 'bob', messages: 120 });
    const writer = killWriterMidWrite(bob.dbPath, { committed: 4, uncommitted: 1, seed: 5 });
    const reset = await simulateReset({ dataDir: data, name: 'bob', at: new Date('2026-11-02T10:00:00'), newMessages: 30 });
    const folder = path.dirname(bob.dbPath);
    const files = snapshotFolder(folder);

    const dry = await runCli(['-d', data, 'recover', 'bob', '--dry-run', '--json']);
    assert.equal(dry.code, 1, dry.stderr);
    const planned = JSON.parse(dry.stdout).locrits[0];
    assert.equal(planned.problem, 'reset');
    assert.equal(planned.action, 'merge');
    assert.equal(planned.outcome, 'planned');
    assert.deepEqual(planned.merge.resets.map((r: { backup: string; held: number; missing: number }) => [path.basename(r.backup), r.held, r.missing]), [[BACKUP, 124, 124]]);
    assert.equal(planned.merge.missingMessages, 124);
    assert.equal(planned.merge.messagesBefore, 30);
    assert.match(planned.merge.foreignWal.reason, /before kuzu\.db was created/);
    assert.deepEqual(snapshotFolder(folder), files, '--dry-run changes nothing');

    const run = await runCli(['-d', data, 'recover', 'bob', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const merged = JSON.parse(run.stdout).locrits[0];
    assert.equal(merged.outcome, 'merged');
    assert.equal(merged.verification.ok, true);
    assert.equal(merged.merge.messagesAfter, 154);
    assert.equal(merged.merge.foreignWalMovedTo, `${reset.backupPath}.wal`);
    assert.deepEqual(await idsOf(bob.dbPath), [...bob.messageIds, ...writer.committedIds, ...reset.fresh.messageIds].sort());
    assert.equal(sha256File(reset.backupPath), files[BACKUP], 'the backup is byte-identical');

    const stats = JSON.parse((await runCli(['-d', data, 'stats', '--json'])).stdout).locrits[0];
    assert.equal(stats.resets.missingMessages, 0);
    assert.equal(stats.resets.foreignWal, null);
    const validate = JSON.parse((await runCli(['-d', data, 'validate', '--json'])).stdout).locrits[0];
    assert.equal(validate.findings.some((f: { rule: string }) => f.rule === 'file.reset' || f.rule === 'file.foreign-wal'), false);
    const mergedHash = sha256File(bob.dbPath);
    const again = await runCli(['-d', data, 'recover', 'bob', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).locrits[0].problem, 'none');
    assert.equal(sha256File(bob.dbPath), mergedHash, 'twice changes nothing');
  });

  it('refuses a held database; --merge-backup names the backups of one Locrit', async (t) => {
    const data = tempDir(t);
    const ada = await makeLocrit(data, { name: 'ada', messages: 60 });
    await simulateReset({ dataDir: data, name: 'ada', at: new Date('2026-11-02T10:00:00'), newMessages: 10 });
    await makeLocrit(data, { name: 'cy', messages: 20, seed: 3 });
    const holder = await holdDatabase(ada.dbPath);
    t.after(() => holder.release());
    const files = snapshotFolder(path.dirname(ada.dbPath));
    const held = await runCli(['-d', data, 'recover', 'ada', '--json']);
    assert.equal(held.code, 3);
    assert.equal(JSON.parse(held.stdout).locrits[0].outcome, 'refused');
    assert.deepEqual(snapshotFolder(path.dirname(ada.dbPath)), files);
    await holder.release();
    const two = await runCli(['-d', data, 'recover', '--merge-backup', path.join(path.dirname(ada.dbPath), BACKUP)]);
    assert.equal(two.code, 2);
    assert.match(two.stderr, /--merge-backup names backups of one Locrit/);
    const explicit = await runCli(['-d', data, 'recover', 'ada', '--merge-backup', path.join(path.dirname(ada.dbPath), BACKUP), '--json']);
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.equal(JSON.parse(explicit.stdout).locrits[0].merge.messagesAfter, 70);
  });

  it('never replays a WAL that another database file wrote: it is moved aside and reported', async (t) => {
    const data = tempDir(t);
    const eve = await makeLocrit(data, { name: 'eve', messages: 60 });
    const zed = await makeLocrit(data, { name: 'zed', messages: 40, seed: 9 });
    killWriterMidWrite(zed.dbPath, { committed: 5, uncommitted: 0, seed: 4 });
    // Zed's WAL beside eve's file, older than eve's file: replayed, it would put zed's messages into eve.
    const foreign = `${eve.dbPath}.wal`;
    fs.copyFileSync(`${zed.dbPath}.wal`, foreign);
    const before = new Date(fs.statSync(eve.dbPath).birthtimeMs - 60_000);
    fs.utimesSync(foreign, before, before);
    const walHash = sha256File(foreign);
    // archive opens kuzu.db read-write, which would replay the WAL: it refuses instead.
    const files = snapshotFolder(path.dirname(eve.dbPath));
    const archive = await runCli(['-d', data, 'archive', 'eve', '--days', '0', '--keep', '0', '--max-per-conversation', '10']);
    assert.equal(archive.code, 3, archive.stderr);
    assert.match(archive.stdout + archive.stderr, /kuzu\.db\.wal was written by another database file/);
    assert.deepEqual(snapshotFolder(path.dirname(eve.dbPath)), files);
    const run = await runCli(['-d', data, 'recover', 'eve', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout).locrits[0];
    assert.equal(result.problem, 'foreign-wal');
    assert.equal(result.action, 'move-foreign-wal');
    assert.equal(fs.existsSync(foreign), false);
    const moved = result.merge.foreignWalMovedTo as string;
    assert.match(path.basename(moved), /^kuzu\.db\.wal\.locrit-mem-foreign_\d{8}T\d{9}Z$/);
    assert.equal(sha256File(moved), walHash, 'kept as it was');
    assert.deepEqual(await idsOf(eve.dbPath), [...eve.messageIds].sort(), "eve holds her own 60 messages, none of zed's");
  });
});
