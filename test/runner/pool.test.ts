/**
 * The worker pool on real worker processes: a worker that dies is replaced and the other
 * Locrits are still worked on, outcomes come back in the order of the targets, and a death by
 * signal (damage) is told apart from an exit code (a failure of the worker itself).
 * The deaths are made by a module preloaded into every worker (NODE_OPTIONS=--import) that
 * kills or ends its process when it is handed the Locrit named 'killed' or 'exits', allocates
 * without bound for 'hog', and for 'sleeps' writes its pid to a file and waits forever.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, it, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { StatsPayload } from '../../src/commands/stats.js';
import { DatabaseUnavailableError, ExitCode } from '../../src/errors.js';
import type { LocritTarget } from '../../src/layout/locrits.js';
import { runEach, type Prefetch } from '../../src/runner/pool.js';
import { NO_TEST_KNOBS } from '../../src/testKnobs.js';
import { FIXED_NOW, makeLocrit, tempDir } from '../helpers.js';

// Wraps the worker's own message handler (a second listener would race the worker's start-up
// for the first request).
const PRELOAD = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const on = process.on.bind(process);
process.on = (event, listener) => on(event, event !== 'message' ? listener : (request, ...rest) => {
  if (request?.type === 'run' && request.target.name === 'killed') process.kill(process.pid, 'SIGKILL');
  else if (request?.type === 'run' && request.target.name === 'exits') process.exit(7);
  else if (request?.type === 'run' && request.target.name === 'hog') {
    const kept = [];
    setInterval(() => kept.push(Buffer.alloc(64 * 1024 * 1024, 1)), 5);
  } else if (request?.type === 'run' && request.target.name === 'sleeps') {
    require('node:fs').writeFileSync(request.target.dbPath, String(process.pid));
    // Stands for native work whose teardown hangs: an orderly exit would never end.
    process.on('exit', () => { for (;;) {} });
    setInterval(() => undefined, 1000);
  }
  else return listener(request, ...rest);
});
`;

/** Every worker forked while `work` runs loads PRELOAD first. */
async function withDyingWorkers<T>(t: TestContext, work: () => Promise<T>): Promise<T> {
  const dir = tempDir(t);
  const preload = path.join(dir, 'preload.mjs');
  fs.writeFileSync(preload, PRELOAD);
  const before = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${before ? `${before} ` : ''}--import=${pathToFileURL(preload).href}`;
  try {
    return await work();
  } finally {
    if (before === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = before;
  }
}

const payload: StatsPayload = { store: { bufferPoolMb: 64, threads: 1 }, nowMs: FIXED_NOW.getTime() };

describe('worker pool', () => {
  it('replaces a dead worker, keeps the order of the targets, and tells a signal from an exit code', async (t) => {
    const data = tempDir(t);
    const first = await makeLocrit(data, { name: 'first', messages: 20, vectorIndexes: false });
    const last = await makeLocrit(data, { name: 'last', messages: 30, vectorIndexes: false });
    const target = (name: string, dbPath = path.join(data, name, 'kuzu.db')): LocritTarget => ({ name, dir: path.dirname(dbPath), dbPath });
    const targets = [target('first', first.dbPath), target('killed'), target('exits'), target('last', last.dbPath)];

    for (const jobs of [1, 2]) {
      const outcomes = await withDyingWorkers(t, () => runEach('stats', targets, payload, { jobs, knobs: NO_TEST_KNOBS }));
      assert.deepEqual(outcomes.map((o) => o.target.name), ['first', 'killed', 'exits', 'last'], `jobs ${jobs}: the order of the targets`);
      const [a, killed, exits, b] = outcomes;
      // A fresh worker took over after each death.
      assert.ok(a.ok && b.ok, `jobs ${jobs}: ${JSON.stringify([a, b])}`);
      assert.equal(a.value.database.messages, 20);
      assert.equal(b.value.database.messages, 30);

      assert.ok(!killed.ok);
      assert.deepEqual(killed.death, { signal: 'SIGKILL', exitCode: null });
      assert.equal(killed.error.reason, 'damaged', 'only a signal is damage');
      assert.equal(killed.error.exitCode, ExitCode.unavailable);

      assert.ok(!exits.ok);
      assert.deepEqual(exits.death, { signal: null, exitCode: 7 });
      assert.equal(exits.error.reason, null, 'an exit code is not damage');
      assert.equal(exits.error.kind, 'InternalError');
      assert.equal(exits.error.exitCode, ExitCode.internal);
      assert.match(exits.error.message, /exited with code 7/);
    }
  });

  it('prepares each Locrit in the parent at most one ahead, hands the value to its task, and releases every value, a dead worker\'s and a failed one\'s included', async (t) => {
    const data = tempDir(t);
    const first = await makeLocrit(data, { name: 'first', messages: 20, vectorIndexes: false });
    const last = await makeLocrit(data, { name: 'last', messages: 30, vectorIndexes: false });
    const target = (name: string, dbPath = path.join(data, name, 'kuzu.db')): LocritTarget => ({ name, dir: path.dirname(dbPath), dbPath });
    const targets = [target('first', first.dbPath), target('killed'), target('unprepared'), target('last', last.dbPath)];
    for (const jobs of [1, 2]) {
      const held = new Set<string>();
      const taken: string[] = [];
      let mostHeld = 0;
      const prefetch: Prefetch = {
        async take(locrit) {
          if (locrit.name === 'unprepared') throw new DatabaseUnavailableError(`${locrit.dbPath} changed during each of 8 attempts to copy it for reading`, 'busy', 'run the command again in a moment');
          taken.push(locrit.name);
          held.add(locrit.name);
          mostHeld = Math.max(mostHeld, held.size);
          return { value: { tag: locrit.name }, release: async () => void held.delete(locrit.name) };
        },
      };
      const outcomes = await withDyingWorkers(t, () => runEach('stats', targets, payload, { jobs, knobs: NO_TEST_KNOBS, prefetch }));
      assert.deepEqual(outcomes.map((o) => o.target.name), ['first', 'killed', 'unprepared', 'last'], `jobs ${jobs}: the order of the targets`);
      const [a, killed, unprepared, b] = outcomes;
      assert.ok(a.ok && b.ok, `jobs ${jobs}: ${JSON.stringify([a, b])}`);
      assert.equal(a.value.database.messages, 20);
      assert.equal(b.value.database.messages, 30);
      assert.ok(!killed.ok);
      assert.deepEqual(killed.death, { signal: 'SIGKILL', exitCode: null });
      assert.ok(!unprepared.ok);
      assert.equal(unprepared.death, null, 'a Locrit that could not be prepared is never sent to a worker');
      assert.equal(unprepared.error.reason, 'busy');
      assert.deepEqual(taken.sort(), ['first', 'killed', 'last']);
      assert.deepEqual([...held], [], `jobs ${jobs}: every prepared value was released before runEach returned`);
      assert.ok(mostHeld <= jobs + 1, `jobs ${jobs}: ${mostHeld} Locrits prepared at once`);
    }
  });

  it('a second Ctrl-C while a Locrit is being prepared ends the run at once: the Locrit is reported interrupted and its value released', async (t) => {
    const dir = tempDir(t);
    const script = path.join(dir, 'parent.mjs');
    const pool = pathToFileURL(path.resolve('dist/src/runner/pool.js')).href;
    // The preparation takes both interrupts, then lasts long enough for the killed worker's exit to be seen.
    fs.writeFileSync(script, `
import { runEach } from ${JSON.stringify(pool)};
let released = false;
const prefetch = { async take() {
  process.emit('SIGINT');
  process.emit('SIGINT');
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { value: null, release: async () => { released = true; } };
} };
const [outcome] = await runEach('stats', [{ name: 'slow', dir: ${JSON.stringify(dir)}, dbPath: ${JSON.stringify(path.join(dir, 'kuzu.db'))} }], ${JSON.stringify(payload)}, { jobs: 1, knobs: ${JSON.stringify(NO_TEST_KNOBS)}, prefetch });
process.stdout.write(JSON.stringify({ ok: outcome.ok, kind: outcome.error?.kind, released }));
`);
    const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    parent.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const deadline = setTimeout(() => parent.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => parent.on('exit', resolve));
    clearTimeout(deadline);
    assert.equal(code, 0, 'the run ended by itself');
    assert.deepEqual(JSON.parse(stdout), { ok: false, kind: 'InterruptedError', released: true });
  });

  it('a task that fails with an error leaves the worker alive and has no death', async (t) => {
    const data = tempDir(t);
    const only = await makeLocrit(data, { name: 'only', messages: 10, vectorIndexes: false });
    const missing: LocritTarget = { name: 'missing', dir: path.join(data, 'missing'), dbPath: path.join(data, 'missing', 'kuzu.db') };
    const outcomes = await runEach('stats', [missing, { name: 'only', dir: path.dirname(only.dbPath), dbPath: only.dbPath }], payload, { jobs: 1, knobs: NO_TEST_KNOBS });
    const [failed, ok] = outcomes;
    assert.ok(!failed.ok);
    assert.equal(failed.death, null);
    assert.equal(failed.error.reason, 'missing');
    assert.ok(ok.ok);
    assert.equal(ok.value.database.messages, 10);
  });

  it('stops a worker whose memory runs past its buffer pool plus 2 GiB and reports the Locrit damaged', async (t) => {
    const data = tempDir(t);
    const hog: LocritTarget = { name: 'hog', dir: path.join(data, 'hog'), dbPath: path.join(data, 'hog', 'kuzu.db') };
    const [outcome] = await withDyingWorkers(t, () => runEach('stats', [hog], payload, { jobs: 1, knobs: NO_TEST_KNOBS }));
    assert.ok(!outcome.ok);
    assert.equal(outcome.error.reason, 'damaged');
    assert.match(outcome.error.message, /MiB of memory .*more than the 64 MiB buffer pool plus 2048 MiB/);
  });

  it('a worker whose parent was killed dies at once instead of holding the Locrit', async (t) => {
    const dir = tempDir(t);
    const pidFile = path.join(dir, 'worker.pid');
    const script = path.join(dir, 'parent.mjs');
    const pool = pathToFileURL(path.resolve('dist/src/runner/pool.js')).href;
    fs.writeFileSync(script, `
import { runEach } from ${JSON.stringify(pool)};
await runEach('stats', [{ name: 'sleeps', dir: ${JSON.stringify(dir)}, dbPath: ${JSON.stringify(pidFile)} }], ${JSON.stringify(payload)}, { jobs: 1, knobs: ${JSON.stringify(NO_TEST_KNOBS)} });
`);
    const parent = await withDyingWorkers(t, async () => spawn(process.execPath, [script], { stdio: 'ignore', env: process.env }));
    const workerPid = await waitFor(() => (fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8') ? Number(fs.readFileSync(pidFile, 'utf8')) : null));
    assert.ok(isAlive(workerPid), 'the worker runs while its parent does');
    parent.kill('SIGKILL');
    await waitFor(() => (isAlive(workerPid) ? null : true));
  });
});

describe('a worker started ahead', () => {
  // Records, in every forked worker, its start (with the task it was asked to preload) and each request it is handed.
  const PROBE = `
import fs from 'node:fs';
if (process.send) {
  const note = (event) => fs.appendFileSync(process.env.WORKER_PROBE_FILE, JSON.stringify({ pid: process.pid, preload: process.env.LOCRIT_MEM_WORKER_TASK ?? null, event }) + '\\n');
  note('start');
  // Wraps the worker's own handler, as PRELOAD does: a listener of its own would take the first request before the worker listens.
  const on = process.on.bind(process);
  process.on = (event, listener) => on(event, event !== 'message' ? listener : (request, ...rest) => {
    if (request?.type === 'run') note('run');
    return listener(request, ...rest);
  });
}
`;

  /** Runs `body` (after importing prestartWorker and runEach) in a parent process of its own, with the probe in every worker. */
  async function parentRun(t: TestContext, body: string): Promise<{ code: number | null; stdout: string; notes: { pid: number; preload: string | null; event: string }[] }> {
    const dir = tempDir(t);
    const probe = path.join(dir, 'probe.mjs');
    const notes = path.join(dir, 'notes.jsonl');
    const script = path.join(dir, 'parent.mjs');
    fs.writeFileSync(probe, PROBE);
    const pool = pathToFileURL(path.resolve('dist/src/runner/pool.js')).href;
    fs.writeFileSync(script, `import { prestartWorker, runEach } from ${JSON.stringify(pool)};\n${body}\n`);
    const env = { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(probe).href}`, WORKER_PROBE_FILE: notes };
    const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let stdout = '';
    parent.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // A parent kept alive by its idle worker would never end: 30 s is far more than it needs.
    const deadline = setTimeout(() => parent.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => parent.on('exit', resolve));
    clearTimeout(deadline);
    const read = (): { pid: number; preload: string | null; event: string }[] => (fs.existsSync(notes) ? fs.readFileSync(notes, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
    // The worker of a parent that ends without using it goes too.
    for (const pid of new Set(read().map((n) => n.pid))) await waitFor(() => (isAlive(pid) ? null : true));
    return { code, stdout, notes: read() };
  }

  it('is the worker the first run takes', async (t) => {
    const data = tempDir(t);
    const only = await makeLocrit(data, { name: 'only', messages: 10, vectorIndexes: false });
    const run = await parentRun(t, `prestartWorker('stats');
const [outcome] = await runEach('stats', [{ name: 'only', dir: ${JSON.stringify(path.dirname(only.dbPath))}, dbPath: ${JSON.stringify(only.dbPath)} }], ${JSON.stringify(payload)}, { jobs: 1, knobs: ${JSON.stringify(NO_TEST_KNOBS)} });
process.stdout.write(String(outcome.ok && outcome.value.database.messages));`);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, '10');
    const starts = run.notes.filter((n) => n.event === 'start');
    assert.equal(starts.length, 1, 'one worker: the one started ahead');
    assert.equal(starts[0].preload, 'stats');
    assert.deepEqual(run.notes.filter((n) => n.event === 'run').map((n) => n.pid), [starts[0].pid]);
  });

  it('never used, it does not keep its parent alive and ends with it', async (t) => {
    const run = await parentRun(t, `prestartWorker('stats');
await new Promise((resolve) => setTimeout(resolve, 300));`);
    assert.equal(run.code, 0);
    assert.equal(run.notes.filter((n) => n.event === 'start').length, 1);
    assert.equal(run.notes.filter((n) => n.event === 'run').length, 0);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `probe` until it gives a value (at most 20 s: a loaded machine starts processes slowly). */
async function waitFor<T>(probe: () => T | null): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
