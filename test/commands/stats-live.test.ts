/**
 * `stats` and `validate` beside a running application: a writer committing and checkpointing
 * all the time, an application (re)opening its Locrits read-write over and over, and runs of
 * locrit-mem killed in the middle.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { statsTask } from '../../src/statistics/task.js';
import { startAppStarts, startLiveWriter } from '../../src/fixtures/live.js';
import { RUN_SCRATCH_ENV, scratchBase } from '../../src/layout/scratch.js';
import { BIN, FIXED_NOW, idsOf, makeLocrit, runCli, tempDir, waitForFile, writeConfig } from '../helpers.js';
import { NO_TEST_KNOBS } from '../../src/testKnobs.js';

const quiet = { progress: () => undefined, knobs: NO_TEST_KNOBS, testPoint: () => undefined };

describe('stats beside a running application', () => {
  it('50 runs against a writer that commits and checkpoints all the time each count between its commits before and after, and the writer never fails', async (t) => {
    const scratch = path.join(tempDir(t, 'locrit-scratch-'), 'run-test');
    fs.mkdirSync(scratch, { mode: 0o700 });
    process.env[RUN_SCRATCH_ENV] = scratch;
    t.after(() => delete process.env[RUN_SCRATCH_ENV]);
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'busy', messages: 300 });
    const writer = await startLiveWriter(fixture.dbPath, { checkpointEvery: 10, pauseMs: 2 });
    t.after(() => writer.stop());
    await writer.nextCommit();
    const target = { name: 'busy', dir: path.dirname(fixture.dbPath), dbPath: fixture.dbPath };
    const payload = { store: { bufferPoolMb: 64, threads: 1 }, nowMs: FIXED_NOW.getTime() };
    const partOfBeyondMessages = fixture.relCounts.PART_OF - 300;
    let retried = 0;
    const started = performance.now();
    for (let run = 0; run < 50; run++) {
      const low = writer.committed();
      const { database, snapshot } = await statsTask(target, payload, quiet);
      const high = await writer.nextCommit();
      assert.ok(database.messages >= low && database.messages <= high, `run ${run}: ${database.messages} messages, the writer had committed ${low} before and ${high} after`);
      // Each message and its PART_OF commit together: a torn copy would break this.
      assert.equal(database.relRows.PART_OF - database.messages, partOfBeyondMessages, `run ${run}: PART_OF rows match the messages`);
      assert.equal(snapshot.holder?.pid, writer.pid);
      if (snapshot.attempts > 1) retried++;
    }
    const stopped = await writer.stop();
    assert.equal(stopped.stderr, '', 'the writer saw no error');
    assert.equal(stopped.code, 0);
    assert.deepEqual(fs.readdirSync(scratch), [], 'no copy is left behind');
    t.diagnostic(`${retried} of 50 runs copied the file more than once (a checkpoint during the copy); ${Math.round(performance.now() - started)} ms in all; ${writer.committed() - 300} messages written meanwhile`);
  });

  it('an application opening its Locrits read-write over and over never fails while stats and validate loop over them', async (t) => {
    const data = tempDir(t);
    const scratchRoot = tempDir(t, 'locrit-tmp-');
    const one = await makeLocrit(data, { name: 'one', messages: 150 });
    const two = await makeLocrit(data, { name: 'two', messages: 150 });
    const config = writeConfig(data, 'memory:\n  max_messages_per_locrit: 100000\n');
    const app = startAppStarts([one.dbPath, two.dbPath], { rounds: 20, pauseMs: 40 });
    t.after(() => app.child.kill());
    let finished = false;
    void app.done.finally(() => (finished = true));
    const runs: { command: string; code: number; stderr: string }[] = [];
    while (!finished) {
      for (const command of ['stats', 'validate']) {
        const result = await runCli(['-c', config, '-d', data, command, '--json'], { env: { TMPDIR: scratchRoot } });
        runs.push({ command, code: result.code, stderr: result.stderr });
        for (const locrit of JSON.parse(result.stdout).locrits) assert.notEqual(locrit.status, 'unavailable', `${command}: ${JSON.stringify(locrit.error)}`);
      }
    }
    const { opened, failures } = await app.done;
    assert.deepEqual(failures, [], 'the application never failed to open a Locrit');
    assert.equal(opened, 40);
    assert.ok(runs.length >= 2, `${runs.length} runs of locrit-mem overlapped the application's opens`);
    for (const run of runs) assert.equal(run.stderr, '', `${run.command} printed on stderr`);
    assert.deepEqual(fs.readdirSync(scratchBase(scratchRoot)), [], 'no copy is left behind');
  });

  it('reads a Locrit as its copy taken ahead was, though the file changes between that copy and the read', async (t) => {
    const data = tempDir(t);
    const scratchRoot = tempDir(t, 'locrit-tmp-');
    const pauses = tempDir(t, 'locrit-pause-');
    await makeLocrit(data, { name: 'a', messages: 100 });
    const b = await makeLocrit(data, { name: 'b', messages: 300 });
    const first = await startLiveWriter(b.dbPath, { checkpointEvery: 10, pauseMs: 2 });
    t.after(() => first.stop());
    const low = first.committed();
    // The command's process stops once each copy is taken (test point 'copied'): a's, then b's.
    const run = runCli(['-d', data, '--jobs', '1', 'stats', '--json'], { env: { TMPDIR: scratchRoot, LOCRIT_MEM_TEST: `pause-at=copied@${pauses}` } });
    await waitForFile(path.join(pauses, 'a.copied'), run);
    fs.rmSync(path.join(pauses, 'a.copied'));
    await waitForFile(path.join(pauses, 'b.copied'), run);
    // b's copy is taken and not read yet. Another writer, started now, commits twice more.
    assert.equal((await first.stop()).stderr, '', 'the writer saw no error');
    const second = await startLiveWriter(b.dbPath, { checkpointEvery: 10, pauseMs: 2 });
    t.after(() => second.stop());
    await second.nextCommit();
    await second.nextCommit();
    assert.equal((await second.stop()).stderr, '', 'the second writer saw no error');
    const final = (await idsOf(b.dbPath)).length;
    fs.rmSync(path.join(pauses, 'b.copied'));
    const { code, stdout, stderr } = await run;
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as { locrits: { name: string; database: { messages: number; relRows: Record<string, number> }; inUse: { pid: number } | null }[] };
    const read = report.locrits.find((l) => l.name === 'b')!;
    assert.ok(read.database.messages >= low && read.database.messages <= final - 2, `${read.database.messages} messages: ${low} before the run, ${final} at the end, 2 or more of them committed after the copy`);
    assert.equal(read.database.relRows.PART_OF - read.database.messages, b.relCounts.PART_OF - 300, 'PART_OF rows match the messages: one consistent state');
    assert.equal(read.inUse?.pid, first.pid, 'the holder when the copy was taken');
    assert.deepEqual(fs.readdirSync(scratchBase(scratchRoot)), [], 'no copy is left behind');
  });

  it('removes the copy taken ahead for the next Locrit when the run is interrupted before it starts', async (t) => {
    const data = tempDir(t);
    const scratchRoot = tempDir(t, 'locrit-tmp-');
    const pauses = tempDir(t, 'locrit-pause-');
    for (const name of ['a', 'b', 'c']) await makeLocrit(data, { name, messages: 200 });
    // The worker stops with a's copy in hand (test point 'reading') while b's is taken ahead.
    const child = spawn(process.execPath, [BIN, '-d', data, '--jobs', '1', 'stats', '--json'], {
      env: { ...process.env, TMPDIR: scratchRoot, LOCRIT_MEM_CONFIG: '', NO_COLOR: '1', LOCRIT_MEM_TEST: `pause-at=reading@${pauses}` }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitForFile(path.join(pauses, 'a.reading'), exited);
    const runFolder = path.join(scratchBase(scratchRoot), `run-${child.pid}`);
    const deadline = Date.now() + 60_000;
    while (!fs.readdirSync(runFolder).some((name) => name.startsWith('b-'))) {
      assert.ok(Date.now() < deadline, 'b was never copied ahead');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGINT');
    while (!stderr.includes('Interrupted: finishing the Locrits in progress')) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `the run did not take the interrupt: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    fs.rmSync(path.join(pauses, 'a.reading'));
    assert.equal(await exited, 130, stderr);
    // a finished: its copy was not removed under it by the interrupt.
    const report = JSON.parse(stdout) as { locrits: { name: string; database: { messages: number } | null; error: { kind: string } | null }[] };
    assert.deepEqual(report.locrits.map((l) => [l.name, l.database?.messages ?? l.error?.kind]), [['a', 200], ['b', 'InterruptedError'], ['c', 'InterruptedError']]);
    assert.deepEqual(fs.readdirSync(scratchBase(scratchRoot)), [], 'no copy is left behind');
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`leaves no copy behind when a run is stopped with ${signal}${signal === 'SIGKILL' ? ' (the next run removes it)' : ''}`, async (t) => {
      const data = tempDir(t);
      const scratchRoot = tempDir(t, 'locrit-tmp-');
      for (const name of ['a', 'b', 'c', 'd']) await makeLocrit(data, { name, messages: 300 });
      const child = spawn(process.execPath, [BIN, '-d', data, '--jobs', '1', 'stats', '--json'], { env: { ...process.env, TMPDIR: scratchRoot, LOCRIT_MEM_CONFIG: '' }, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const runFolder = path.join(scratchBase(scratchRoot), `run-${child.pid}`);
      // Wait until a worker holds a copy in the run's folder.
      const deadline = Date.now() + 60_000;
      while (!(fs.existsSync(runFolder) && fs.readdirSync(runFolder).length > 0)) {
        assert.ok(Date.now() < deadline && child.exitCode === null, 'the run never made a copy');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const workers = childrenOf(child.pid!);
      child.kill(signal);
      await exited;
      await waitGone(workers);
      if (signal === 'SIGKILL') {
        assert.ok(fs.existsSync(runFolder), 'a SIGKILLed run cannot clean up after itself');
        const next = await runCli(['-d', data, 'stats', 'a', '--json'], { env: { TMPDIR: scratchRoot } });
        assert.equal(next.code, 0, next.stderr);
      }
      assert.deepEqual(fs.readdirSync(scratchBase(scratchRoot)), [], 'no copy is left behind');
    });
  }
});

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function waitGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const pid of pids) {
    for (;;) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
