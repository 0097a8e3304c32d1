/**
 * Crash safety: the worker is killed with SIGKILL at each stage of an archive run (test hook
 * LOCRIT_MEM_TEST='kill-at=<locrit>:<phase>,...'). Right after the kill every message is in the
 * database or in a complete archive; a rerun finishes or rolls back the run, and the result is
 * the same as an uninterrupted run's, with no message archived twice.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { listArchives } from '../../src/archive/format.js';
import { journalPath } from '../../src/archive/journal.js';
import { archivesOf, sorted } from '../archive/archiveHelpers.js';
import { FIXED_NOW, idsOf, makeLocrit, runCli, tempDir, writeConfig } from '../helpers.js';

const PHASES = ['exporting', 'exported', 'verified', 'committed', 'deleting', 'deleted'] as const;
const EXPECTED_ACTION: Record<string, string> = { exporting: 'rolled-back', exported: 'rolled-back', verified: 'rolled-back', committed: 'finished', deleting: 'finished', deleted: 'finished', compacting: 'finished' };

describe('archive survives SIGKILL at every stage', () => {
  it('loses nothing, and a rerun finishes or rolls back without archiving twice', async (t) => {
    const data = tempDir(t);
    const memory = path.join(data, 'memory');
    const archive = path.join(data, 'archive');
    // Small chunks (archive.batch_messages), so that a run can be killed between two chunks ('exporting').
    const config = writeConfig(data, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n  batch_messages: 37\n');
    const names = ['control', ...PHASES.map((p) => `k_${p}`), 'k_compacting'];
    // Identical Locrits (same seed): an uninterrupted run on `control` says what every run must end with.
    // One after the other: eight databases open at once in this process can exhaust the address
    // space Kuzu reserves for each (an mmap of 8 TiB fails under load).
    const fixtures = [];
    for (const name of names) fixtures.push(await makeLocrit(memory, { name, messages: 200, sessions: 3, criticalShare: 0.05 }));
    const original = await idsOf(fixtures[0].dbPath);
    const days = String((Date.now() - FIXED_NOW.getTime()) / 86_400_000 + 20);
    const args = ['-c', config, '-j', '2', 'archive', '--json', '--days', days, '--keep', '50', '--max-per-conversation', '60'];
    const plain = names.filter((n) => n !== 'k_compacting');

    const killAt = [...PHASES.map((p) => `k_${p}:${p}`), 'k_compacting:compacting'].join(',');
    const killed = await runCli([...args, ...plain], { cwd: data, env: { LOCRIT_MEM_TEST: `kill-at=${killAt}` } });
    assert.equal(killed.code, 3, killed.stderr);
    const killedCompacting = await runCli([...args, '--compact', 'k_compacting'], { cwd: data, env: { LOCRIT_MEM_TEST: `kill-at=${killAt}` } });
    assert.equal(killedCompacting.code, 3, killedCompacting.stderr);
    const first = [...JSON.parse(killed.stdout).locrits, ...JSON.parse(killedCompacting.stdout).locrits];
    for (const l of first) {
      if (l.name === 'control') assert.equal(l.status, 'done');
      else assert.equal(l.error?.reason, 'damaged', `${l.name} should have been killed: ${JSON.stringify(l.error)}`);
    }

    // Right after the kill: every message is in the database or in a complete archive.
    for (const name of names) {
      const inDb = await idsOf(path.join(memory, name, 'kuzu.db'));
      const archived = (await archivesOf(archive, name)).flatMap((a) => a.ids);
      assert.deepEqual(sorted(new Set([...inDb, ...archived])), original, `${name}: a message is lost after the kill`);
    }
    assert.ok(fs.existsSync(journalPath(path.join(memory, 'k_committed', 'kuzu.db'))));
    assert.equal(listArchives(archive, 'k_exported').partial.length, 1);

    const rerun = await runCli([...args, ...plain], { cwd: data });
    assert.equal(rerun.code, 0, rerun.stderr);
    const rerunCompacting = await runCli([...args, '--compact', 'k_compacting'], { cwd: data });
    assert.equal(rerunCompacting.code, 0, rerunCompacting.stderr);
    const second = [...JSON.parse(rerun.stdout).locrits, ...JSON.parse(rerunCompacting.stdout).locrits];

    const controlRemaining = await idsOf(fixtures[0].dbPath);
    const [controlArchive] = await archivesOf(archive, 'control');
    assert.ok(controlArchive.ids.length > 50);
    for (const name of names) {
      const dbPath = path.join(memory, name, 'kuzu.db');
      const report = second.find((l: { name: string }) => l.name === name);
      if (name !== 'control') assert.equal(report.interrupted?.action, EXPECTED_ACTION[name.slice(2)], `${name}: ${JSON.stringify(report.interrupted)}`);
      const inDb = await idsOf(dbPath);
      const archives = await archivesOf(archive, name);
      // Same end state as the uninterrupted run: one archive, the same ids, nothing in two places.
      assert.equal(archives.length, 1, `${name}: ${archives.map((a) => a.folder).join(', ')}`);
      assert.deepEqual(archives[0].ids, controlArchive.ids, name);
      assert.deepEqual(inDb, controlRemaining, name);
      assert.equal(inDb.filter((id) => archives[0].ids.includes(id)).length, 0, name);
      assert.equal(listArchives(archive, name).partial.length, 0, name);
      assert.equal(fs.existsSync(journalPath(dbPath)), false, name);
      assert.deepEqual(fs.readdirSync(path.dirname(dbPath)).filter((f) => f.includes('compact.') || f.endsWith('.lock')), [], name);
    }
  });
});
