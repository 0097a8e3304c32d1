/**
 * recover --prune-backups: a backup goes only when every message it holds is in kuzu.db or a
 * complete archive; one holding messages found nowhere else stays; --dry-run removes nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { simulateReset } from '../../src/fixtures/reset.js';
import { idsOf, makeLocrit, runCli, snapshotFolder, tempDir } from '../helpers.js';

describe('recover --prune-backups', () => {
  it('keeps a reset backup until it is merged, then removes it; --dry-run changes nothing', async (t) => {
    const data = tempDir(t);
    const bob = await makeLocrit(data, { name: 'bob', messages: 80 });
    const reset = await simulateReset({ dataDir: data, name: 'bob', at: new Date('2026-11-02T10:00:00'), newMessages: 20 });
    const dir = path.dirname(bob.dbPath);

    const kept = await runCli(['-d', data, 'recover', 'bob', '--prune-backups', '--json']);
    assert.equal(kept.code, 0, kept.stderr);
    const before = JSON.parse(kept.stdout).locrits[0];
    assert.deepEqual(before.pruned.map((p: { removable: boolean; missing: number }) => [p.removable, p.missing]), [[false, 80]]);
    assert.ok(fs.existsSync(reset.backupPath), 'a backup holding lost messages stays');

    const merged = await runCli(['-d', data, 'recover', 'bob', '--json']);
    assert.equal(merged.code, 0, merged.stderr);
    const ids = await idsOf(bob.dbPath);
    assert.equal(ids.length, 100);
    const files = snapshotFolder(dir);
    const dry = await runCli(['-d', data, 'recover', 'bob', '--prune-backups', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const planned = JSON.parse(dry.stdout).locrits[0];
    assert.equal(planned.pruned.length, 2, 'the application backup and the file the merge replaced');
    assert.ok(planned.pruned.every((p: { removable: boolean; removed: boolean }) => p.removable && !p.removed));
    assert.deepEqual(snapshotFolder(dir), files, '--dry-run removes nothing');

    const pruned = await runCli(['-d', data, 'recover', 'bob', '--prune-backups', '--json']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.ok(JSON.parse(pruned.stdout).locrits[0].pruned.every((p: { removed: boolean }) => p.removed));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['kuzu.db']);
    assert.deepEqual(await idsOf(bob.dbPath), ids, 'the database is untouched');
  });
});
