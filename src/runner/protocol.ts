/**
 * What the parent and a worker process say to each other, and what a task sees of its worker.
 * The tasks themselves are listed in src/worker/tasks.ts, the worker's entry point.
 */
import type { ErrorReport } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';

/** Parent -> worker. */
export type WorkerRequest = { type: 'run'; id: number; task: TaskName; target: LocritTarget; payload: unknown } | { type: 'exit' };

/** Worker -> parent. */
export type WorkerReply =
  | { type: 'progress'; id: number; phase: string }
  | { type: 'done'; id: number; value: unknown }
  | { type: 'failed'; id: number; error: ErrorReport };

/** The per-Locrit jobs a worker can run (src/worker/tasks.ts maps each to its function). */
export type TaskName = 'stats' | 'recover' | 'retention' | 'validate';

/** What a task receives from its worker besides the Locrit and the payload. */
export interface TaskContext {
  /** Reports the current phase (shown by the spinner on a terminal). */
  progress(phase: string): void;
}
