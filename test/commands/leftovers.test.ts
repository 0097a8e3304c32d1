/** What an interrupted run leaves is reported by stats, validate and recover --dry-run, with its size and the command that clears it. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runLockPath } from '../../src/layout/runLock.js';
import { FIXED_NOW, idsOf, makeLocrit, runCli, tempDir, writeConfig } from '../helpers.js';

describe('leftovers of interrupted runs', () => {
  it('are reported with their size and the command that clears them, which does', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    const [carol, dave, erin] = await Promise.all(['carol', 'dave', 'erin'].map((name) => makeLocrit(memory, { name, messages: 300, sessions: 3 })));
    writeConfig(root, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n');
    const days = String(Math.ceil((Date.now() - FIXED_NOW.getTime()) / 86_400_000) + 20);
    const rules = ['--days', days, '--keep', '100', '--max-per-conversation', '0'];
    // carol: killed while compacting; dave: killed with its archive files written, no manifest; erin: a lock whose process is gone.
    const killed = await runCli(['-j', '1', 'archive', '--compact', ...rules, 'carol', 'dave'], { cwd: root, env: { LOCRIT_MEM_TEST: 'kill-at=carol:compacting,dave:exported' } });
    assert.equal(killed.code, 3, killed.stdout);
    fs.writeFileSync(runLockPath(erin.dbPath), JSON.stringify({ pid: 2 ** 22 + 1, command: 'archive', since: '2026-11-01T00:00:00Z' }));

    const stats = await runCli(['stats', '--json'], { cwd: root });
    const byName = Object.fromEntries(JSON.parse(stats.stdout).locrits.map((l: { name: string }) => [l.name, l]));
    const kinds = (name: string): string[] => byName[name].leftovers.map((l: { kind: string }) => l.kind);
    // A killed worker leaves its run lock too; the journal stays until the run has compacted.
    assert.deepEqual(kinds('carol'), ['compaction', 'compaction', 'journal', 'stale-lock']);
    assert.deepEqual(kinds('dave'), ['partial-archive', 'stale-lock']);
    assert.deepEqual(kinds('erin'), ['stale-lock']);
    for (const l of [...byName.carol.leftovers, ...byName.dave.leftovers]) assert.ok(l.bytes > 0, l.path);
    assert.equal(byName.carol.leftovers[0].clearedBy, 'locrit-mem archive carol');

    const text = await runCli(['stats'], { cwd: root });
    assert.match(text.stdout, /! carol: left by an interrupted run, [\d.]+ \w+: kuzu\.db\.locrit-mem-compact\.tmp \([\d.]+ \w+\), kuzu\.db\.locrit-mem-compact\.export \([\d.]+ \w+\), kuzu\.db\.locrit-mem-journal\.json \([\d.]+ \w+\), kuzu\.db\.locrit-mem\.lock \(\d+ B\); run `locrit-mem archive carol` to clear them/);
    assert.match(text.stdout, /! erin: left by an interrupted run, [\d.]+ B: kuzu\.db\.locrit-mem\.lock \(\d+ B\); run `locrit-mem archive erin` to clear it/);

    const validate = await runCli(['validate', '--json'], { cwd: root });
    const findings = Object.fromEntries(JSON.parse(validate.stdout).locrits.map((l: { name: string; findings: { rule: string; examples: string[] }[] }) => [l.name, l.findings.find((f) => f.rule === 'file.leftovers')]));
    assert.deepEqual(findings.carol.examples, ['kuzu.db.locrit-mem-compact.tmp', 'kuzu.db.locrit-mem-compact.export', 'kuzu.db.locrit-mem-journal.json', 'kuzu.db.locrit-mem.lock']);
    assert.ok(findings.dave.examples.some((e: string) => e.endsWith('.partial')));
    assert.equal(findings.erin.severity, 'warn');

    const recover = await runCli(['recover', '--dry-run'], { cwd: root });
    assert.match(recover.stdout, /carol \(.*\)\n(.*\n)*? {2}! left by an interrupted run, .*`locrit-mem archive carol`/);
    const list = await runCli(['recover', '--list', '--json', 'dave'], { cwd: root });
    const partial = JSON.parse(list.stdout).locrits[0].archives.find((a: { complete: boolean }) => !a.complete);
    assert.ok(partial.bytes > 0, 'a partial archive shows its real size');

    // The command they name clears them.
    const cleared = await runCli(['archive', ...rules], { cwd: root });
    assert.equal(cleared.code, 0, cleared.stderr);
    const after = await runCli(['stats', '--json'], { cwd: root });
    for (const l of JSON.parse(after.stdout).locrits) assert.deepEqual(l.leftovers, [], l.name);
    assert.ok(fs.existsSync(carol.dbPath) && fs.existsSync(dave.dbPath));
  });

  it("a killed recover's work folder is reported, and removed by the next run that takes the Locrit's lock", async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    const frank = await makeLocrit(memory, { name: 'frank', messages: 120, sessions: 2 });
    writeConfig(root, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n');
    const before = await idsOf(frank.dbPath);
    // What a salvage killed mid-way leaves: its work folder with a half-built database inside.
    const work = path.join(path.dirname(frank.dbPath), '.locrit-mem-salvage-Ab12Cd');
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'kuzu.db'), Buffer.alloc(8192, 1));

    const stats = await runCli(['stats', '--json'], { cwd: root });
    const [leftover] = JSON.parse(stats.stdout).locrits[0].leftovers;
    assert.equal(leftover.kind, 'recover-work');
    assert.equal(leftover.bytes, 8192);
    assert.equal(leftover.clearedBy, 'locrit-mem recover frank');

    const recover = await runCli(['recover', '--json', 'frank'], { cwd: root });
    assert.equal(recover.code, 0, recover.stderr);
    const steps = JSON.parse(recover.stdout).locrits[0].steps as { step: string; detail: string }[];
    assert.ok(steps.some((s) => s.step === 'clean up' && s.detail.includes('.locrit-mem-salvage-Ab12Cd')), JSON.stringify(steps));
    assert.equal(fs.existsSync(work), false);
    assert.deepEqual(await idsOf(frank.dbPath), before);
    const after = await runCli(['stats', '--json'], { cwd: root });
    assert.deepEqual(JSON.parse(after.stdout).locrits[0].leftovers, []);
  });
});
