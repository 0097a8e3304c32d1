/**
 * Runs a task over many Locrits in worker processes, at most `jobs` at once, and returns the
 * outcomes in the order of the targets. A worker that dies (SIGSEGV inside Kuzu on a damaged
 * file) fails only the Locrit it was working on; a fresh worker takes the rest.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { DatabaseUnavailableError, toErrorReport, type ErrorReport } from '../errors.js';
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

export async function runEach<T>(task: TaskName, targets: LocritTarget[], payload: unknown, options: RunOptions): Promise<TaskOutcome<T>[]> {
  const outcomes: TaskOutcome<T>[] = new Array(targets.length);
  let next = 0;
  const jobs = Math.max(1, Math.min(options.jobs, targets.length));

  const runLane = async (): Promise<void> => {
    let worker: Worker | null = null;
    try {
      while (next < targets.length) {
        const index = next++;
        worker ??= new Worker();
        const outcome = await worker.run<T>(index, task, targets[index], payload, options.onProgress);
        if (!worker.alive) worker = null;
        outcomes[index] = outcome;
        options.onOutcome?.(outcome as TaskOutcome<unknown>);
      }
    } finally {
      worker?.stop();
    }
  };
  await Promise.all(Array.from({ length: jobs }, runLane));
  return outcomes;
}

class Worker {
  private readonly child: ChildProcess;
  private stderr = '';
  alive = true;

  constructor() {
    this.child = fork(WORKER, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: workerEnv() });
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
