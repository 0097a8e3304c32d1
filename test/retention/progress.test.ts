/** The phases a real archive run reports: each step after the run lock says what it does. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runRetention } from '../../src/commands/archive.js';
import { buildContext, type Reporter } from '../../src/commands/context.js';
import { FIXED_NOW, makeLocrit, runCli, tempDir, writeConfig } from '../helpers.js';

describe('archive progress', () => {
  it('names the cleanup and the read-write open after the run lock, so that no label stays on screen through them', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    await makeLocrit(memory, { name: 'carol', messages: 200, sessions: 2 });
    writeConfig(root, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n');
    const days = Math.ceil((Date.now() - FIXED_NOW.getTime()) / 86_400_000) + 20;
    // Leave a killed compaction behind, so that the next run has leftovers to clean.
    const killed = await runCli(['archive', '--compact', '--days', String(days), '--keep', '50'], { cwd: root, env: { LOCRIT_MEM_TEST: 'kill-at=compacting' } });
    assert.equal(killed.code, 3);
    const phases: string[] = [];
    const reporter: Reporter = { warn: () => undefined, info: () => undefined, debug: () => undefined, phase: (text) => phases.push(text), done: () => undefined };
    const context = buildContext({ dataDir: memory, jobs: 1 }, reporter, root, {});
    const report = await runRetention(context, 'archive', { locrits: [], compact: true, overrides: { archiveAfterDays: days, keepCount: 50 } });
    assert.equal(report.exitCode, 0);
    const after = phases.slice(phases.indexOf('carol: taking the run lock'));
    assert.deepEqual(after.slice(0, 3), ['carol: taking the run lock', 'carol: cleaning up after an interrupted run', 'carol: opening the database read-write']);
  });

  it('counts the messages written of those planned while archiving', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    await makeLocrit(memory, { name: 'dave', messages: 300, sessions: 2 });
    writeConfig(root, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n  batch_messages: 100\n');
    const phases: string[] = [];
    const reporter: Reporter = { warn: () => undefined, info: () => undefined, debug: () => undefined, phase: (text) => phases.push(text), done: () => undefined };
    const context = buildContext({ jobs: 1 }, reporter, root, {});
    const days = Math.ceil((Date.now() - FIXED_NOW.getTime()) / 86_400_000) + 20;
    const report = await runRetention(context, 'archive', { locrits: [], overrides: { archiveAfterDays: days, keepCount: 50, protectCritical: false } });
    const planned = report.locrits[0].archived!;
    assert.equal(planned, 250);
    const counts = phases.map((p) => /archiving: (\d+)\/250 messages written \(chunk (\d)\/3\)/.exec(p)).filter((m) => m !== null).map((m) => [Number(m![1]), Number(m![2])]);
    assert.deepEqual(counts, [[100, 1], [200, 2], [250, 3]]);
  });
});
