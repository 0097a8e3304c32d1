/** `archive --compact` gives space back whenever earlier deletes left it in the file, even with nothing new to archive. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { compactionOwedPath } from '../../src/retention/owed.js';
import { archivesOf, sorted } from '../archive/archiveHelpers.js';
import { FIXED_NOW, idsOf, makeLocrit, runCli, tempDir, writeConfig } from '../helpers.js';

describe('archive --compact with nothing left to archive', () => {
  it('compacts what an earlier run without --compact, or one stopped during its compaction, left; the plan says so', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    const fixture = await makeLocrit(memory, { name: 'carol', messages: 600, sessions: 3 });
    writeConfig(root, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n');
    const days = String(Math.ceil((Date.now() - FIXED_NOW.getTime()) / 86_400_000) + 20);
    const rules = ['--days', days, '--keep', '100', '--max-per-conversation', '0'];

    // 1. Archive without --compact: the file does not shrink, and the plan of that run said so.
    const plan = await runCli(['archive', '--dry-run', ...rules], { cwd: root });
    assert.match(plan.stdout, /carol: the file will not shrink .*; add --compact to rebuild it/);
    assert.match(plan.stdout, /│ carol +│ planned +│ [\d,]+ → [\d,]+ +│ [\d.]+ MiB +│ [\d,]+ +│ \d+ +│ - +│/, 'no bytes back without a compaction');
    const first = await runCli(['archive', '--json', ...rules], { cwd: root });
    assert.equal(first.code, 0, first.stderr);
    const done = JSON.parse(first.stdout).locrits[0];
    assert.ok(done.deleted > 0 && done.compaction === null);
    assert.ok(done.compactionOwed.bytes > 0);
    assert.ok(fs.existsSync(compactionOwedPath(fixture.dbPath)));
    const remaining = await idsOf(fixture.dbPath);

    // 2. Killed while compacting: the rerun still compacts.
    const killed = await runCli(['archive', '--compact', ...rules], { cwd: root, env: { LOCRIT_MEM_TEST: 'kill-at=compacting' } });
    assert.equal(killed.code, 3, killed.stdout);
    const dry = await runCli(['archive', '--compact', '--dry-run', '--json', ...rules], { cwd: root });
    const planned = JSON.parse(dry.stdout).locrits[0];
    assert.equal(planned.selected, 0);
    assert.equal(planned.status, 'planned');
    assert.ok(planned.compactionPlanned && planned.expectedBytesBack > 0);
    const dryText = await runCli(['archive', '--compact', '--dry-run', ...rules], { cwd: root });
    assert.match(dryText.stdout, /carol would be compacted \(.*earlier runs deleted messages without compacting since \d{4}-\d\d-\d\d, about [\d.]+ \w+ to give back\)/);

    const before = fs.statSync(fixture.dbPath).size;
    const rerun = await runCli(['archive', '--compact', '--json', ...rules], { cwd: root });
    assert.equal(rerun.code, 0, rerun.stderr);
    const compacted = JSON.parse(rerun.stdout).locrits[0];
    assert.equal(compacted.deleted, 0);
    assert.ok(compacted.compaction?.swapped, 'compacted with nothing new to archive');
    assert.ok(fs.statSync(fixture.dbPath).size < before);
    assert.equal(compacted.compactionOwed, null);
    // The disk it takes after the run counts the backup the compaction kept.
    assert.equal(compacted.disk.after, fs.statSync(fixture.dbPath).size + fs.statSync(compacted.compaction.backup).size);
    assert.equal(compacted.disk.before, before);
    const total = JSON.parse(rerun.stdout).total;
    assert.equal(total.diskAfter, compacted.disk.after);
    assert.ok(!fs.existsSync(compactionOwedPath(fixture.dbPath)));
    assert.deepEqual(await idsOf(fixture.dbPath), remaining, 'the compaction kept every message');
    const archived = (await archivesOf(path.join(root, 'archive'), 'carol')).flatMap((a) => a.ids);
    assert.deepEqual(sorted([...remaining, ...archived]), sorted(fixture.messageIds));

    // 3. Nothing owed any more: a further --compact run has nothing to do.
    const again = await runCli(['archive', '--compact', '--json', ...rules], { cwd: root });
    assert.equal(JSON.parse(again.stdout).locrits[0].status, 'nothing-to-do');
  });
});
