/**
 * recover beside a running application. A Locrit a live writer holds (the application at work,
 * committing and checkpointing) is diagnosed from a private copy, its --dry-run and --list work,
 * and only the repair it needs is refused, or waited for with --wait. And the application
 * resetting a Locrit while `recover --from-archive` holds it, just before the restore commits:
 * the restore stops there, changes nothing more and keeps every file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startLiveWriter } from '../../src/fixtures/live.js';
import { simulateReset } from '../../src/fixtures/reset.js';
import { archivesOf, sorted } from '../archive/archiveHelpers.js';
import { idsOf, makeLocrit, runCli, runCliWithResetAt, sha256File, tempDir, writeConfig } from '../helpers.js';

describe('recover beside a running application', () => {
  it('--from-archive stops before its commit when the application reset the Locrit meanwhile: nothing lost, every file kept', async (t) => {
    const root = tempDir(t);
    const data = path.join(root, 'memory');
    const cfg = writeConfig(root, `memory:\n  embedding_dimension: 16\nkuzu:\n  buffer_pool_mb: 64\narchive:\n  dir: ${path.join(root, 'archive')}\n`);
    const fixture = await makeLocrit(data, { name: 'bob' });
    const archived = await runCli(['-c', cfg, '-d', data, 'archive', 'bob', '--days', '20', '--keep', '50', '--include-critical', '--json']);
    assert.equal(archived.code, 0, archived.stderr);
    const [folderName] = fs.readdirSync(path.join(root, 'archive', 'bob')).filter((f) => /^\d{8}T/.test(f));
    const folder = path.join(root, 'archive', 'bob', folderName);
    const archiveHashes = Object.fromEntries(fs.readdirSync(folder).map((f) => [f, sha256File(path.join(folder, f))]));
    const left = await idsOf(fixture.dbPath);
    assert.ok(left.length < 200);

    // Just before the restore commits, the application's open fails on our lock: kuzu.db moves aside, a fresh one takes its place.
    const { result, movedTo, freshHash } = await runCliWithResetAt(t, 'restoring', { name: 'bob', dbPath: fixture.dbPath }, ['-c', cfg, '-d', data, 'recover', '--from-archive', folder, '--json']);
    assert.equal(result.code, 3, result.stderr);
    const bob = JSON.parse(result.stdout).locrits[0];
    assert.equal(bob.outcome, 'failed');
    assert.equal(bob.error.reason, 'replaced');
    assert.match(bob.error.message, /Stopped before committing the restored messages/);
    assert.match(bob.error.message, /kuzu\.db\.backup_20261101_120000/);
    assert.match(bob.error.hint, /locrit-mem recover bob/);
    // The application's fresh database is left as it made it, with no WAL of ours beside it.
    assert.equal(sha256File(fixture.dbPath), freshHash);
    assert.equal(fs.existsSync(`${fixture.dbPath}.wal`), false);
    // The restore was rolled back: the moved-aside file and our backup hold what was there before, the archive is untouched.
    assert.deepEqual(await idsOf(movedTo), left);
    assert.ok(fs.existsSync(bob.archiveRestore.dbBackup));
    assert.deepEqual(await idsOf(bob.archiveRestore.dbBackup), left);
    assert.deepEqual(Object.fromEntries(fs.readdirSync(folder).map((f) => [f, sha256File(path.join(folder, f))])), archiveHashes);
    // Nothing lost: every message is in the moved-aside file or the archive.
    const archivedIds = (await archivesOf(path.join(root, 'archive'), 'bob')).flatMap((a) => a.ids);
    assert.deepEqual(sorted([...left, ...archivedIds]), sorted(fixture.messageIds));
    assert.equal(bob.archiveRestore.messages, null);
  });

  it('diagnoses Locrits live writers hold from private copies; only the repair a reset needs is refused, and --wait merges once the writer stops', async (t) => {
    const data = tempDir(t);
    const ada = await makeLocrit(data, { name: 'ada', messages: 60 });
    const reset = await simulateReset({ dataDir: data, name: 'ada', at: new Date('2026-11-02T10:00:00'), newMessages: 10, leaveWal: false });
    const cy = await makeLocrit(data, { name: 'cy', messages: 40, seed: 3 });
    const adaWriter = await startLiveWriter(ada.dbPath, { checkpointEvery: 15, pauseMs: 2 });
    const cyWriter = await startLiveWriter(cy.dbPath, { checkpointEvery: 15, pauseMs: 2 });
    t.after(async () => {
      await adaWriter.stop();
      await cyWriter.stop();
    });
    const backupHash = sha256File(reset.backupPath);

    const diagnosed = await runCli(['-d', data, 'recover', '--json']);
    assert.equal(diagnosed.code, 3, diagnosed.stderr);
    assert.equal(diagnosed.stderr, '');
    const [adaReport, cyReport] = JSON.parse(diagnosed.stdout).locrits;
    // The reset is found on the copy, and the merge it needs is refused: the writer holds the file.
    assert.equal(adaReport.problem, 'reset');
    assert.equal(adaReport.action, 'refuse');
    assert.equal(adaReport.outcome, 'refused');
    assert.equal(adaReport.holder.pid, adaWriter.pid);
    assert.ok(Date.parse(adaReport.snapshotAt) > 0);
    assert.deepEqual(adaReport.merge.resets.map((r: { missing: number }) => r.missing), [60]);
    assert.equal(adaReport.error.reason, 'in-use');
    assert.match(adaReport.error.message, /found on a private copy/);
    // Nothing wrong with cy: its WAL is its writer at work, not an unclean stop.
    assert.equal(cyReport.problem, 'none');
    assert.equal(cyReport.outcome, 'ok');
    assert.equal(cyReport.exitCode, 0);
    assert.equal(cyReport.holder.pid, cyWriter.pid);
    assert.ok(Date.parse(cyReport.snapshotAt) > 0);
    const text = await runCli(['-d', data, 'recover', 'cy']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`held by pid ${cyWriter.pid}`));
    assert.match(text.stdout, /diagnosed from a private copy taken at/);

    const dry = await runCli(['-d', data, 'recover', 'ada', '--dry-run', '--json']);
    assert.equal(dry.code, 1, dry.stderr);
    const planned = JSON.parse(dry.stdout).locrits[0];
    assert.equal(planned.outcome, 'planned');
    assert.equal(planned.action, 'merge');
    assert.match(planned.plan.at(-1), new RegExp(`needs the file to itself: .* is open in pid ${adaWriter.pid}`));

    const listed = await runCli(['-d', data, 'recover', 'ada', '--list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).locrits[0].backups.map((b: { path: string; messages: number }) => [b.path, b.messages]), [[reset.backupPath, 60]]);
    assert.equal(sha256File(reset.backupPath), backupHash, 'the backup is untouched');

    // --wait: the merge waits for the writer to stop, then runs on the file the writer left.
    // The writer stops only once recover is waiting: its scan for resets (a folder of its own in
    // TMPDIR, removed when done) is the last thing it does before it waits.
    const tmp = tempDir(t);
    const waiting = runCli(['-d', data, 'recover', 'ada', '--wait', '60', '--json'], { env: { TMPDIR: tmp } });
    let finished = false;
    void waiting.then(() => (finished = true));
    const scanning = (): boolean => fs.readdirSync(tmp).some((name) => name.startsWith('locrit-mem-resets-'));
    while (!scanning() && !finished) await new Promise((resolve) => setTimeout(resolve, 5));
    while (scanning() && !finished) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(!finished, 'recover ended before it waited');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = await adaWriter.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
    const result = await waiting;
    assert.equal(result.code, 0, result.stderr);
    const merged = JSON.parse(result.stdout).locrits[0];
    assert.equal(merged.outcome, 'merged');
    assert.equal(merged.holder, null);
    assert.ok(merged.waitedSeconds > 0);
    assert.equal(merged.steps[0].step, 'wait');
    // Every message: the 60 in the backup, the fresh file's 10 and every one the writer committed.
    const after = await idsOf(ada.dbPath);
    assert.equal(after.length, 60 + adaWriter.committed());
    assert.equal(new Set(after).size, after.length);
    for (const id of [...ada.messageIds, ...reset.fresh.messageIds]) assert.ok(after.includes(id), id);
    assert.equal(sha256File(reset.backupPath), backupHash, 'the backup is byte-identical');
    const cyStopped = await cyWriter.stop();
    assert.equal(cyStopped.code, 0, cyStopped.stderr);
    assert.equal((await idsOf(cy.dbPath)).length, cyWriter.committed());
  });
});
