/**
 * Runs a task over many Locrits in worker processes, at most `jobs` at once, and returns the
 * outcomes in the order of the targets. A worker that dies (SIGSEGV inside Kuzu on a damaged
 * file) fails only the Locrit it was working on; a fresh worker takes the rest.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { DatabaseUnavailableError, InterruptedError, toErrorReport, type ErrorReport } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';
import { RUN_SCRATCH_ENV, runScratchForWorkers } from '../layout/scratch.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';
import type { TaskName } from './tasks.js';

export type TaskOutcome<T> =
  | { target: LocritTarget; ok: true; value: T; durationMs: number }
  | { target: LocritTarget; ok: false; error: ErrorReport; durationMs: number };

export interface RunOptions {
  jobs: number;
  onProgress?: (target: LocritTarget, phase: string) => void;
  onOutcome?: (outcome: TaskOutcome<unknown>) => void;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
const STDERR_TAIL = 4000;

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
  | { kind: 'end'; index: number; total: number; outcome: TaskOutcome<unknown> }
  | { kind: 'finish'; total: number };

const runListeners: Array<(event: RunEvent) => void> = [];

/** Follows every run of this process: each Locrit as it starts, its phases, and its outcome as soon as it is known. */
export function onRunEvent(listener: (event: RunEvent) => void): void {
  runListeners.push(listener);
}

function emit(event: RunEvent): void {
  for (const listener of runListeners) listener(event);
}

export async function runEach<T>(task: TaskName, targets: LocritTarget[], payload: unknown, options: RunOptions): Promise<TaskOutcome<T>[]> {
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

  const runLane = async (): Promise<void> => {
    let worker: Worker | null = null;
    try {
      while (next < targets.length && interrupts === 0) {
        const index = next++;
        const total = targets.length;
        worker ??= new Worker();
        busy.add(worker);
        emit({ kind: 'start', index, total, target: targets[index] });
        const onProgress = (target: LocritTarget, phase: string): void => {
          emit({ kind: 'phase', index, total, target, phase });
          options.onProgress?.(target, phase);
        };
        const outcome = await worker.run<T>(index, task, targets[index], payload, onProgress);
        busy.delete(worker);
        if (!worker.alive) worker = null;
        outcomes[index] = outcome;
        emit({ kind: 'end', index, total, outcome: outcome as TaskOutcome<unknown> });
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
    emit({ kind: 'finish', total: targets.length });
  }
  for (let index = 0; index < targets.length; index++) {
    if (outcomes[index]) continue;
    const error = new InterruptedError('not started: the run was interrupted', 'run the same command again to do it');
    outcomes[index] = { target: targets[index], ok: false, error: toErrorReport(error), durationMs: 0 };
  }
  return outcomes;
}

class Worker {
  private readonly child: ChildProcess;
  private stderr = '';
  /** Stopped by a second Ctrl-C, not by a crash. */
  private interrupted = false;
  alive = true;

  constructor() {
    this.child = fork(WORKER, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: workerEnv(), detached: true });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_TAIL);
    });
    this.child.once('exit', () => {
      this.alive = false;
    });
  }

  run<T>(id: number, task: TaskName, target: LocritTarget, payload: unknown, onProgress?: (target: LocritTarget, phase: string) => void): Promise<TaskOutcome<T>> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    return new Promise((resolve) => {
      const onMessage = (reply: WorkerReply): void => {
        if (reply.id !== id) return;
        if (reply.type === 'progress') return onProgress?.(target, reply.phase);
        cleanup();
        if (reply.type === 'done') resolve({ target, ok: true, value: reply.value as T, durationMs: elapsed() });
        else resolve({ target, ok: false, error: reply.error, durationMs: elapsed() });
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        cleanup();
        this.alive = false;
        if (this.interrupted) {
          const error = new InterruptedError(
            `stopped while in progress: the run was interrupted`,
            'run the same command again: it finishes or rolls back what was left half-done',
          );
          return resolve({ target, ok: false, error: toErrorReport(error), durationMs: elapsed() });
        }
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const detail = this.stderr.trim().split('\n').pop();
        const error = new DatabaseUnavailableError(
          `Kuzu ${how} while working on ${target.dbPath}: the database is damaged${detail ? ` (${detail.slice(0, 200)})` : ''}`,
          'damaged',
          `run \`locrit-mem recover ${target.name}\` to salvage what can still be read`,
        );
        resolve({ target, ok: false, error: toErrorReport(error), durationMs: elapsed() });
      };
      const cleanup = (): void => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      const request: WorkerRequest = { type: 'run', id, task, target, payload };
      this.child.send(request);
    });
  }

  interrupt(): void {
    this.interrupted = true;
    if (this.alive) this.child.kill('SIGKILL');
  }

  stop(): void {
    if (this.alive && this.child.connected) this.child.send({ type: 'exit' } satisfies WorkerRequest);
  }
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
