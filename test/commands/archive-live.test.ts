/**
 * Writers beside a running application: the application resets a Locrit (moves kuzu.db aside,
 * starts a fresh one) while archive holds it, at the last moment before a destructive step;
 * archive must stop there, change nothing more and keep every file. And --wait.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { holdDatabase } from '../../src/fixtures/damage.js';
import { archivesOf, sorted } from '../archive/archiveHelpers.js';
import { FIXED_NOW, idsOf, makeLocrit, runCli, runCliWithResetAt, sha256File, tempDir, writeConfig } from '../helpers.js';

/** --days that puts the cutoff `daysBeforeFixedNow` before the fixtures' fixed "now". */
const daysFlag = (daysBeforeFixedNow: number): string => String((Date.now() - FIXED_NOW.getTime()) / 86_400_000 + daysBeforeFixedNow);

function setup(t: Parameters<typeof tempDir>[0]): { data: string; memory: string; archive: string; config: string } {
  const data = tempDir(t);
  const memory = path.join(data, 'memory');
  const archive = path.join(data, 'archive');
  const config = writeConfig(data, 'memory:\n  base_path: memory\n  enable_embeddings: true\narchive:\n  dir: archive\n');
  return { data, memory, archive, config };
}

describe('archive beside a running application', () => {
  for (const [phase, step] of [['compacting', 'swapping the compacted file in'], ['deleting', 'committing the delete']] as const) {
    it(`stops before ${step} when the application reset the Locrit meanwhile: nothing more changed, every message kept`, async (t) => {
      const { data, memory, archive, config } = setup(t);
      const fixture = await makeLocrit(memory, { name: 'bob', messages: 300 });
      const original = sorted(fixture.messageIds);
      const args = ['-c', config, 'archive', '--json', '--compact', '--days', daysFlag(20), '--keep', '50'];
      const { result, movedTo, freshHash } = await runCliWithResetAt(t, phase, { name: 'bob', dbPath: fixture.dbPath }, args, { cwd: data });
      assert.equal(result.code, 3, result.stderr);
      const bob = JSON.parse(result.stdout).locrits[0];
      assert.equal(bob.status, 'unavailable');
      assert.equal(bob.error.reason, 'replaced');
      assert.match(bob.error.message, new RegExp(`Stopped before ${step}`));
      assert.match(bob.error.message, /kuzu\.db\.backup_20261101_120000/);
      assert.match(bob.error.hint, /locrit-mem recover bob/);
      // The application's fresh database is left exactly as it made it, with no WAL of ours beside it.
      assert.equal(sha256File(fixture.dbPath), freshHash);
      assert.equal(fs.existsSync(`${fixture.dbPath}.wal`), false);
      // Every message is in the file the application moved aside or in the verified archive.
      const kept = await idsOf(movedTo);
      const archived = (await archivesOf(archive, 'bob')).flatMap((a) => a.ids);
      assert.deepEqual(sorted(new Set([...kept, ...archived])), original);
      if (phase === 'deleting') assert.deepEqual(sorted(kept), original, 'the delete was rolled back');
      else assert.ok(archived.length > 0 && kept.length === original.length - archived.length);
    });
  }

  it('--wait waits for the application to let go, then archives; without it the held Locrit is refused at once', async (t) => {
    const { data, memory, archive, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 200 });
    const holder = await holdDatabase(fixture.dbPath);
    t.after(() => holder.release());
    const refused = await runCli(['-c', config, 'archive', '--json', '--days', daysFlag(20), '--keep', '50'], { cwd: data });
    assert.equal(refused.code, 3);
    const refusedBob = JSON.parse(refused.stdout).locrits[0];
    assert.equal(refusedBob.error.reason, 'in-use');
    assert.match(refusedBob.error.hint, /--wait/);
    const waiting = runCli(['-c', config, 'archive', '--json', '--wait', '60', '--days', daysFlag(20), '--keep', '50'], { cwd: data });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await holder.release();
    const result = await waiting;
    assert.equal(result.code, 0, result.stderr);
    const bob = JSON.parse(result.stdout).locrits[0];
    assert.ok(bob.deleted > 0);
    const kept = await idsOf(fixture.dbPath);
    const archived = (await archivesOf(archive, 'bob')).flatMap((a) => a.ids);
    assert.deepEqual(sorted([...kept, ...archived]), sorted(fixture.messageIds));
    const badFlag = await runCli(['-c', config, 'archive', '--wait', 'soon'], { cwd: data });
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--wait must be a positive number/);
  });
});
