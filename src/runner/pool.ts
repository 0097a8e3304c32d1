/**
 * Runs a task over many Locrits in worker processes, at most `jobs` at once, and returns the
 * outcomes in the order of the targets. A worker that dies (SIGSEGV inside Kuzu on a damaged
 * file) fails only the Locrit it was working on; a fresh worker takes the rest.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { DatabaseUnavailableError, diskNearlyFull, ExitCode, freeBytesOn, InterruptedError, isNoSpace, NoSpaceError, toErrorReport, type ErrorReport } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';
import { RUN_SCRATCH_ENV, runScratchForWorkers } from '../layout/scratch.js';
import { ForkedChild, type ChildDeath } from './child.js';
import type { TestKnobs } from '../testKnobs.js';
import { WORKER_TASK_ENV, type TaskName, type TaskPayload, type TaskResult, type WorkerReply, type WorkerRequest } from './protocol.js';

export type TaskOutcome<T> =
  | { target: LocritTarget; ok: true; value: T; durationMs: number }
  /** death: how the worker ended when it died on this Locrit; null when the task failed with an error (or never started). */
  | { target: LocritTarget; ok: false; error: ErrorReport; death: ChildDeath | null; durationMs: number };

/**
 * Work done in this process for a Locrit before its task is sent to a worker (a private copy of
 * its database), so that it overlaps a worker's start and the previous Locrit's task. At most
 * one Locrit beyond those being worked on is prepared ahead.
 */
export interface Prefetch {
  /** Prepares a target; `value` goes to the task as TaskContext.prepared. A failure is that Locrit's outcome. */
  take(target: LocritTarget): Promise<{ value: unknown; release(): Promise<void> }>;
}

export interface RunOptions {
  jobs: number;
  /** Prepare each Locrit in this process, ahead of its task; every prepared value is released before runEach returns, whatever happens. */
  prefetch?: Prefetch;
  /** The run's test knobs (CommandContext.knobs), passed to every task. */
  knobs: TestKnobs;
  onProgress?: (target: LocritTarget, phase: string) => void;
  onOutcome?: (outcome: TaskOutcome<unknown>) => void;
  /**
   * The run is one step of a command that reports how each Locrit ended itself (recover runs
   * several in a row on one Locrit): its progress shows, but no result line per Locrit.
   */
  step?: boolean;
}

/** The worker's entry point, which knows the tasks (a path, not an import: the pool does not depend on them). */
const WORKER = fileURLToPath(new URL('../worker/main.js', import.meta.url));
const STDERR_TAIL = 4000;

/**
 * Some damaged files make Kuzu allocate without bound outside its buffer pool (a zeroed page
 * took a worker past 5 GB in 20 s, and on until the machine runs out, so the command never
 * returned). Healthy workers stay under their buffer pool plus about 300 MB; one past the pool
 * plus this much is stopped and its Locrit reported damaged.
 */
const MEMORY_HEADROOM_MB = 2048;
const DEFAULT_POOL_MB = 256;

/** The buffer pool a task's payload asks for (every Locrit task carries its store settings). */
function payloadPoolMb(payload: TaskPayload<TaskName>): number {
  const pool = payload.store.bufferPoolMb;
  return pool > 0 ? pool : DEFAULT_POOL_MB;
}

/**
 * Ctrl-C (SIGINT) while Locrits are being worked on: the first one lets the Locrits in progress
 * finish and starts no other, the second stops those too (every task is safe to kill: the next
 * run finishes or rolls back what was half-done). Either way every Locrit gets an outcome, so
 * the command still prints what was done and what was not, and exits 130. Workers run in their
 * own process group, so that the terminal's Ctrl-C reaches this process only and the choice is
 * made here. The state lasts for the process: a later pass of the same run starts nothing.
 */
let interrupts = 0;
const interruptListeners: Array<(count: number) => void> = [];

/** Called on each Ctrl-C during a run with the count so far (1: finishing the Locrits in progress; 2: stopping them). */
export function onInterrupt(listener: (count: number) => void): void {
  interruptListeners.push(listener);
}

export function wasInterrupted(): boolean {
  return interrupts > 0;
}

/** What a run over many Locrits is doing, for a progress display. `index` counts from 0 in `total`. */
export type RunEvent =
  | { kind: 'start'; index: number; total: number; target: LocritTarget }
  | { kind: 'phase'; index: number; total: number; target: LocritTarget; phase: string }
  | { kind: 'end'; index: number; total: number; outcome: TaskOutcome<unknown>; step?: boolean }
  | { kind: 'finish'; total: number };

const runListeners: Array<(event: RunEvent) => void> = [];

/** Follows every run of this process: each Locrit as it starts, its phases, and its outcome as soon as it is known. */
export function onRunEvent(listener: (event: RunEvent) => void): void {
  runListeners.push(listener);
}

function emit(event: RunEvent): void {
  for (const listener of runListeners) listener(event);
}

/** A worker started before the first runEach (prestartWorker), not yet taken by a run. */
let spare: Worker | null = null;

/**
 * Starts a worker process for `task` now, before the first runEach: a command calls it as early
 * as it can, so that the worker's start (Node, then the task's code and Kuzu, which it loads
 * while it waits: 100 ms and more) overlaps with this process loading the configuration and the
 * command. The first run takes it; until then it does not keep this process alive, and if no
 * run does, it ends with this process. Best effort: a failure here is met again, and reported,
 * by the run.
 */
export function prestartWorker(task: TaskName): void {
  try {
    spare ??= new Worker(task, { held: false });
  } catch {
    spare = null;
  }
}

function takeSpare(): Worker | null {
  const worker = spare;
  spare = null;
  if (!worker?.alive) return null;
  worker.hold();
  return worker;
}

/** Runs task `task` with the same payload for each target; the outcomes come back in the order of the targets. */
export async function runEach<N extends TaskName>(task: N, targets: LocritTarget[], payload: TaskPayload<N>, options: RunOptions): Promise<TaskOutcome<TaskResult<N>>[]> {
  type T = TaskResult<N>;
  type Prepared = { ok: true; value: unknown; release(): Promise<void> } | { ok: false; error: unknown };
  const outcomes: TaskOutcome<T>[] = new Array(targets.length);
  let next = 0;
  const jobs = Math.max(1, Math.min(options.jobs, targets.length));
  const busy = new Set<Worker>();
  const onSigint = (): void => {
    interrupts++;
    if (interrupts >= 2) for (const worker of busy) worker.interrupt();
    for (const listener of interruptListeners) listener(interrupts);
  };
  process.on('SIGINT', onSigint);

  // Prepared Locrits not yet handed to a lane, and the releases under way.
  const prepared = new Map<number, Promise<Prepared>>();
  const releases: Promise<void>[] = [];
  const prepare = (index: number): void => {
    if (!options.prefetch || index >= targets.length || prepared.has(index)) return;
    prepared.set(index, options.prefetch.take(targets[index]).then(
      ({ value, release }): Prepared => ({ ok: true, value, release }),
      (error: unknown): Prepared => ({ ok: false, error }),
    ));
  };
  /** The outcome of a Locrit whose task was never sent: its preparation failed, or the run was stopped meanwhile. */
  const notSent = (index: number, error: unknown, started: number): TaskOutcome<T> => ({
    target: targets[index], ok: false, error: toErrorReport(error), death: null, durationMs: Math.round(performance.now() - started),
  });
  const release = (ready: Prepared | undefined): void => {
    // A release that fails (the folder already gone) has nothing left to clean.
    if (ready?.ok) releases.push(ready.release().catch(() => undefined));
  };

  const runLane = async (): Promise<void> => {
    let worker: Worker | null = null;
    try {
      while (next < targets.length && interrupts === 0) {
        const index = next++;
        const total = targets.length;
        // The worker starts first, so that it boots while this process prepares the Locrit.
        worker ??= takeSpare() ?? new Worker(task);
        busy.add(worker);
        emit({ kind: 'start', index, total, target: targets[index] });
        const onProgress = (target: LocritTarget, phase: string): void => {
          emit({ kind: 'phase', index, total, target, phase });
          options.onProgress?.(target, phase);
        };
        prepare(index);
        let outcome: TaskOutcome<T>;
        const pending = prepared.get(index);
        prepared.delete(index);
        if (pending) {
          const started = performance.now();
          onProgress(targets[index], 'copying');
          const ready = await pending;
          if (ready.ok && interrupts >= 2) {
            // A second Ctrl-C while the Locrit was being prepared stopped its worker: it is not sent.
            release(ready);
            outcome = notSent(index, new InterruptedError('stopped while in progress: the run was interrupted', 'run the same command again to do it'), started);
          } else if (ready.ok) {
            if (!worker.alive) {
              // It died while the Locrit was being prepared (before any request reached it): a fresh one takes the Locrit.
              busy.delete(worker);
              worker = new Worker(task);
              busy.add(worker);
            }
            try {
              // The request is sent at once; the next Locrit is prepared while this one is worked on.
              const running = worker.run(index, task, targets[index], payload, options.knobs, onProgress, ready.value);
              prepare(next);
              outcome = await running;
            } finally {
              release(ready);
            }
            outcome.durationMs = Math.round(performance.now() - started);
          } else {
            outcome = notSent(index, ready.error, started);
          }
        } else {
          outcome = await worker.run(index, task, targets[index], payload, options.knobs, onProgress);
        }
        busy.delete(worker);
        if (!worker.alive) worker = null;
        outcomes[index] = outcome;
        emit({ kind: 'end', index, total, outcome: outcome as TaskOutcome<unknown>, ...(options.step ? { step: true } : {}) });
        options.onOutcome?.(outcome as TaskOutcome<unknown>);
      }
    } finally {
      worker?.stop();
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, runLane));
  } finally {
    process.off('SIGINT', onSigint);
    // Prepared for a Locrit no lane took (the run was interrupted, or a lane failed).
    for (const pending of prepared.values()) release(await pending);
    prepared.clear();
    await Promise.all(releases);
    emit({ kind: 'finish', total: targets.length });
  }
  for (let index = 0; index < targets.length; index++) {
    if (outcomes[index]) continue;
    const error = new InterruptedError('not started: the run was interrupted', 'run the same command again to do it');
    outcomes[index] = { target: targets[index], ok: false, error: toErrorReport(error), death: null, durationMs: 0 };
  }
  return outcomes;
}

class Worker {
  // Its own process group (detached), so that the terminal's Ctrl-C reaches this process only.
  private readonly child: ForkedChild<WorkerRequest, WorkerReply>;
  /** Stopped by a second Ctrl-C, not by a crash. */
  private interrupted = false;

  /** `held: false`: started ahead of need (prestartWorker), it does not keep this process alive until hold() is called. */
  constructor(task: TaskName, options: { held: boolean } = { held: true }) {
    this.child = new ForkedChild<WorkerRequest, WorkerReply>(WORKER, { env: { ...workerEnv(), [WORKER_TASK_ENV]: task }, stderrTailChars: STDERR_TAIL, detached: true });
    if (!options.held) this.child.hold(false);
  }

  hold(): void {
    this.child.hold(true);
  }

  get alive(): boolean {
    return this.child.alive;
  }

  async run<N extends TaskName>(
    id: number, task: N, target: LocritTarget, payload: TaskPayload<N>, knobs: TestKnobs, onProgress?: (target: LocritTarget, phase: string) => void, prepared?: unknown,
  ): Promise<TaskOutcome<TaskResult<N>>> {
    const started = performance.now();
    const poolMb = payloadPoolMb(payload);
    const memoryLimitMb = poolMb + MEMORY_HEADROOM_MB;
    const answer = await this.child.ask<WorkerReply>({ type: 'run', id, task, target, payload, knobs, ...(prepared === undefined ? {} : { prepared }) }, (reply) => {
      if (reply.id !== id) return undefined;
      if (reply.type === 'progress') {
        onProgress?.(target, reply.phase);
        return undefined;
      }
      return reply;
    }, { memoryLimitMb });
    const durationMs = Math.round(performance.now() - started);
    if (answer.kind === 'died') {
      if (this.interrupted) {
        const error = new InterruptedError(
          `stopped while in progress: the run was interrupted`,
          'run the same command again: it finishes or rolls back what was left half-done',
        );
        return { target, ok: false, error: toErrorReport(error), death: answer.death, durationMs };
      }
      if (answer.outOfMemoryMb !== null) {
        const error = new DatabaseUnavailableError(
          `Kuzu used ${answer.outOfMemoryMb.toLocaleString('en-US')} MiB of memory while working on ${target.dbPath} (more than the ${poolMb} MiB buffer pool plus ${MEMORY_HEADROOM_MB} MiB) and was stopped: the database is damaged`,
          'damaged',
          `run \`locrit-mem recover ${target.name}\` to salvage what can still be read`,
        );
        return { target, ok: false, error: toErrorReport(error), death: answer.death, durationMs };
      }
      return { target, ok: false, error: workerDeathError(target, answer.death, this.child.stderrLines().pop()), death: answer.death, durationMs };
    }
    const reply = answer.value;
    // The worker ran the task this request named, so its value is that task's result.
    if (reply.type === 'done') return { target, ok: true, value: reply.value as TaskResult<N>, durationMs };
    if (reply.type === 'failed') return { target, ok: false, error: reply.error, death: null, durationMs };
    throw new Error(`unexpected worker reply ${reply.type}`);
  }

  interrupt(): void {
    this.interrupted = true;
    this.child.kill();
  }

  stop(): void {
    if (this.alive) this.child.stop();
  }
}

/**
 * What a worker's death means for the Locrit it was working on. A signal (SIGSEGV, SIGABRT, a
 * kill) is Kuzu dying on the file: the database is damaged. An exit code is the worker failing
 * by itself (a module that cannot load, a bug): an internal error, never a reason to rebuild a file.
 */
export function workerDeathError(target: LocritTarget, death: ChildDeath, lastStderrLine?: string): ErrorReport {
  const detail = lastStderrLine ? ` (${lastStderrLine.slice(0, 200)})` : '';
  // Kuzu 0.11 can abort (SIGABRT, "double free") after a write failed on a full disk: the file is
  // as the last commit left it, and freeing space is the cure, not a rebuild.
  const folder = path.dirname(target.dbPath);
  if (death.signal && (diskNearlyFull(folder) || (lastStderrLine !== undefined && isNoSpace(new Error(lastStderrLine))))) {
    return toErrorReport(new NoSpaceError(folder, freeBytesOn(folder), `Kuzu worked on ${target.dbPath} (it was stopped by ${death.signal})`));
  }
  if (death.signal) {
    return toErrorReport(new DatabaseUnavailableError(
      `Kuzu was killed by ${death.signal} while working on ${target.dbPath}: the database is damaged${detail}`,
      'damaged',
      `run \`locrit-mem recover ${target.name}\` to salvage what can still be read`,
    ));
  }
  return {
    kind: 'InternalError',
    message: `the worker process exited with code ${death.exitCode} while working on ${target.dbPath}${detail}`,
    hint: 'rerun with --verbose and report this with the output',
    exitCode: ExitCode.internal,
    reason: null,
    holder: null,
  };
}

/**
 * The environment of a worker. Copies of live databases go in this run's scratch folder, which
 * this process removes when it ends, even when a worker was killed mid-copy. Kuzu allocates from many threads and glibc gives each its own
 * malloc arena, which keeps freed memory: one arena halves a worker's resident memory
 * (100 vs 206 MB after opening 100 small Locrits in turn, same speed; see bench/RESULTS.md).
 * An operator's own MALLOC_ARENA_MAX wins.
 */
function workerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '1', [RUN_SCRATCH_ENV]: runScratchForWorkers() };
}

/** Default parallelism: the number of cores. */
export function defaultJobs(): number {
  return Math.max(1, os.availableParallelism());
}
