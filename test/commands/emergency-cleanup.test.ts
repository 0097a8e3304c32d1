/**
 * `emergency-cleanup`: the oldest half of a Locrit over the message limit goes (archived first,
 * critical spared), a healthy Locrit is not touched, --no-archive really drops, the size rule
 * compacts and says when the limit is still not met.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { archivesOf, messageRows, sortKey, sorted } from '../archive/archiveHelpers.js';
import { BIN, idsOf, makeLocrit, ROOT, runCli, snapshotFolder, tempDir, writeConfig } from '../helpers.js';

function hasScript(): boolean {
  return spawnSync('script', ['--version']).status === 0;
}

/** Runs the CLI on a pseudo-terminal (script(1)), typing `answer` at the prompt. */
function onTerminal(args: string[], answer: string, cwd: string): Promise<{ code: number | null; output: string }> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', `stty cols 160 rows 50; ${quoted}`, '/dev/null'], { cwd, env: { ...process.env, NO_COLOR: '1', LOCRIT_MEM_CONFIG: '' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.stdin.write(`${answer}\n`);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') });
    });
  });
}

function setup(t: Parameters<typeof tempDir>[0], memoryExtra = ''): { data: string; memory: string; archive: string; config: string } {
  const data = tempDir(t);
  const memory = path.join(data, 'memory');
  const config = writeConfig(data, `memory:\n  base_path: memory\n  max_db_size_mb: 0\n${memoryExtra}archive:\n  dir: archive\n`);
  return { data, memory, archive: path.join(data, 'archive'), config };
}

/** The oldest floor(n/2) messages that are not critical: what the 50% cut must remove. */
async function oldestHalf(dbPath: string, critical: string[]): Promise<string[]> {
  const rows = (await messageRows(dbPath)).sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
  return sorted(rows.slice(0, Math.floor(rows.length / 2)).map((r) => r.id).filter((id) => !critical.includes(id)));
}

describe('emergency-cleanup', () => {
  it('cuts the oldest 50% of a Locrit over the message limit, archived first, critical spared; leaves a healthy Locrit untouched', async (t) => {
    const { data, memory, archive, config } = setup(t, '  max_messages_per_locrit: 200\n');
    const big = await makeLocrit(memory, { name: 'big', messages: 240, criticalShare: 0.1 });
    await makeLocrit(memory, { name: 'small', messages: 80, seed: 2 });
    const original = await idsOf(big.dbPath);
    const expected = await oldestHalf(big.dbPath, big.criticalMessageIds);
    const smallBefore = snapshotFolder(path.join(memory, 'small'));

    const result = await runCli(['-c', config, 'emergency-cleanup', '--yes', '--json', '--no-compact'], { cwd: data });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.command, 'emergency-cleanup');
    const [bigReport, smallReport] = report.locrits;
    assert.equal(bigReport.status, 'done');
    assert.equal(bigReport.rules[0].rule, 'emergency-count');
    assert.equal(bigReport.rules[0].applies, true);
    assert.equal(bigReport.rules[0].parameters.removeCount, 120);
    assert.equal(bigReport.spared, 120 - expected.length);

    const remaining = await idsOf(big.dbPath);
    const [written] = await archivesOf(archive, 'big');
    assert.deepEqual(written.ids, expected, 'exactly the oldest half, minus critical messages');
    assert.deepEqual(sorted([...remaining, ...written.ids]), original);
    for (const id of big.criticalMessageIds) assert.ok(remaining.includes(id));
    const limit = bigReport.limits.find((l: { name: string }) => l.name === 'max_messages_per_locrit');
    assert.deepEqual([limit.before, limit.after, limit.met], [240, remaining.length, true]);

    assert.equal(smallReport.status, 'nothing-to-do');
    assert.deepEqual(snapshotFolder(path.join(memory, 'small')), smallBefore, 'a Locrit within its limits is not touched');
    assert.equal(fs.existsSync(path.join(archive, 'small')), false);
  });

  it('--no-archive --yes really drops (the seed behaviour): no archive, same messages gone', async (t) => {
    const { data, memory, archive, config } = setup(t, '  max_messages_per_locrit: 100\n');
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 150, criticalShare: 0.1 });
    const expected = await oldestHalf(fixture.dbPath, fixture.criticalMessageIds);
    const original = await idsOf(fixture.dbPath);
    const result = await runCli(['-c', config, 'emergency-cleanup', '--no-archive', '--yes', '--no-compact', '--json'], { cwd: data });
    assert.equal(result.code, 0, result.stderr);
    const bob = JSON.parse(result.stdout).locrits[0];
    assert.equal(bob.archive, null);
    assert.equal(bob.deleted, expected.length);
    assert.deepEqual(await idsOf(fixture.dbPath), original.filter((id) => !expected.includes(id)));
    assert.equal(fs.existsSync(archive), false);
  });

  it('over max_db_size_mb: age rule 7 days / keep 500, compaction by default, exit 1 when the file is still over', async (t) => {
    const { data, memory, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 200 });
    const original = await idsOf(fixture.dbPath);
    const dry = await runCli(['-c', config, 'emergency-cleanup', '--dry-run', '--max-size-mb', '1', '--json'], { cwd: data });
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout).locrits[0];
    assert.equal(plan.rules[1].rule, 'emergency-size');
    assert.equal(plan.rules[1].applies, true);
    assert.equal(plan.selected, 0, 'keep 500 keeps all 200 messages');
    assert.ok(plan.compactionPlanned.neededBytes > 0);

    const result = await runCli(['-c', config, 'emergency-cleanup', '--yes', '--max-size-mb', '1', '--json'], { cwd: data });
    assert.equal(result.code, 1, result.stderr + result.stdout);
    const bob = JSON.parse(result.stdout).locrits[0];
    assert.ok(bob.compaction, 'the size rule compacts by default');
    const size = bob.limits.find((l: { name: string }) => l.name === 'max_db_size_mb');
    assert.equal(size.met, false);
    assert.equal(size.after, fs.statSync(fixture.dbPath).size);
    assert.deepEqual(await idsOf(fixture.dbPath), original);
    const table = await runCli(['-c', config, 'emergency-cleanup', '--yes', '--no-compact', '--max-size-mb', '1'], { cwd: data });
    assert.equal(table.code, 1);
    assert.match(table.stdout, /bob: max_db_size_mb still not met: .* \(the file only shrinks when compacted\)/);
  });

  it('on a terminal, prints the plan and asks; "n" changes nothing, "y" does it', { skip: !hasScript() && 'needs script(1) for a pseudo-terminal' }, async (t) => {
    const { data, memory, archive, config } = setup(t, '  max_messages_per_locrit: 100\n');
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 150 });
    const before = snapshotFolder(data);
    const no = await onTerminal(['-c', config, 'emergency-cleanup', '--no-compact'], 'n', data);
    assert.equal(no.code, 2, no.output);
    assert.match(no.output, /bob emergency-count: \d+ messages/);
    assert.match(no.output, /Archive and delete \d+ messages from 1 Locrit\? \[y\/N\]/);
    assert.match(no.output, /Error: cancelled: nothing was changed/);
    assert.deepEqual(snapshotFolder(data), before);
    const yes = await onTerminal(['-c', config, 'emergency-cleanup', '--no-compact'], 'y', data);
    assert.equal(yes.code, 0, yes.output);
    const [written] = await archivesOf(archive, 'bob');
    assert.equal((await idsOf(fixture.dbPath)).length + written.ids.length, 150);
  });

  it('refuses to compact when the disk is too full, before changing anything', async (t) => {
    const { data, memory, config } = setup(t, '  max_messages_per_locrit: 100\n');
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 150 });
    const before = snapshotFolder(data);
    const result = await runCli(['-c', config, 'emergency-cleanup', '--yes', '--json'], { cwd: data, env: { LOCRIT_MEM_TEST: 'free-bytes=1000' } });
    assert.equal(result.code, 3);
    const bob = JSON.parse(result.stdout).locrits[0];
    assert.match(bob.error.message, /no space left on the disk of .*bob \(1000 bytes free, about [\d.]+ MiB needed\) while planning to compact .*kuzu\.db/);
    assert.equal(bob.error.reason, 'no-space');
    assert.match(bob.error.hint, /--no-compact/);
    assert.deepEqual(snapshotFolder(data), before);
    assert.equal((await idsOf(fixture.dbPath)).length, 150);
  });
});

describe('emergency-cleanup killed while compacting', () => {
  it('the rerun finishes the killed plan: the same messages archived and kept as an uninterrupted run, none archived twice', async (t) => {
    const { data, memory, archive, config } = setup(t, '  max_messages_per_locrit: 100\n');
    // Identical Locrits (same seed); `control` runs uninterrupted. After the kill `killed` still
    // holds more than the limit: planned anew, the count rule would halve it a second time.
    const control = await makeLocrit(memory, { name: 'control', messages: 240 });
    const killed = await makeLocrit(memory, { name: 'killed', messages: 240 });
    const original = await idsOf(killed.dbPath);
    const first = await runCli(['-c', config, 'emergency-cleanup', '--yes', '--json'], { cwd: data, env: { LOCRIT_MEM_TEST: 'kill-at=killed:compacting' } });
    assert.equal(first.code, 3, first.stderr);
    const rerun = await runCli(['-c', config, 'emergency-cleanup', '--yes', '--json', 'killed'], { cwd: data });
    assert.equal(rerun.code, 0, rerun.stderr);
    const report = JSON.parse(rerun.stdout).locrits[0];
    assert.equal(report.interrupted?.action, 'finished');
    assert.ok(report.compaction, 'the rerun compacts, as the killed run would have');
    const [controlArchive] = await archivesOf(archive, 'control');
    const archives = await archivesOf(archive, 'killed');
    assert.equal(archives.length, 1, archives.map((a) => a.folder).join(', '));
    assert.deepEqual(archives[0].ids, controlArchive.ids);
    const inDb = await idsOf(killed.dbPath);
    assert.deepEqual(inDb, await idsOf(control.dbPath));
    assert.deepEqual(sorted([...inDb, ...archives[0].ids]), original);
    assert.deepEqual(fs.readdirSync(path.dirname(killed.dbPath)).filter((f) => f.includes('journal') || f.includes('compact.')), []);
  });
});

describe("emergency-cleanup with the application's own config.yaml", () => {
  it('takes memory.max_messages as the message limit, says so, lets --max-messages override it, and names Locrits by display name', async (t) => {
    const dir = tempDir(t);
    const text = fs.readFileSync(path.join(ROOT, 'test', 'config', 'application-config.yaml'), 'utf8').replace('  max_messages: 10000', '  max_messages: 30');
    const config = writeConfig(dir, text, 'config.yaml');
    const line = text.split('\n').findIndex((l) => l.startsWith('  max_messages: ')) + 1;
    const fixture = await makeLocrit(path.join(dir, 'data', 'memory'), { name: 'Bob Technique', messages: 40, sessions: 2, vectorIndexes: false });
    const before = snapshotFolder(path.dirname(fixture.dbPath));

    const plan = await runCli(['-c', 'config.yaml', 'emergency-cleanup', '--dry-run', '--json'], { cwd: dir });
    assert.equal(plan.stderr, '');
    const report = JSON.parse(plan.stdout);
    assert.equal(report.settings.maxMessagesPerLocrit, 30);
    assert.deepEqual(report.settingSources.maxMessagesPerLocrit, { from: 'config', key: 'memory.max_messages', file: config, line });
    const bob = report.locrits[0];
    assert.deepEqual([bob.name, bob.displayName, bob.active, bob.memoryService, bob.status], ['bob_technique', 'Bob Technique', true, 'kuzu_graph', 'planned']);
    assert.deepEqual(bob.limits.find((l: { name: string }) => l.name === 'max_messages_per_locrit').source, report.settingSources.maxMessagesPerLocrit);
    assert.ok(report.configNotes.some((n: { code: string; locrit: string }) => n.code === 'never-started' && n.locrit === 'marie_recherche'));

    const flagged = await runCli(['-c', 'config.yaml', '--verbose', 'emergency-cleanup', '--dry-run', '--max-messages', '50'], { cwd: dir });
    assert.equal(flagged.code, 0, flagged.stderr);
    assert.match(flagged.stdout, /bob_technique \(Bob Technique\)\s.*nothing to do/);
    assert.match(flagged.stdout, /limits: max_messages_per_locrit 50 \(flag --max-messages\)/);
    assert.deepEqual(snapshotFolder(path.dirname(fixture.dbPath)), before, 'a dry run changes nothing');
  });
});
