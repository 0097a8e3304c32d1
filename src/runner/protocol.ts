import type { ErrorReport } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';
import type { TaskName } from './tasks.js';

/** Parent -> worker. */
export type WorkerRequest = { type: 'run'; id: number; task: TaskName; target: LocritTarget; payload: unknown } | { type: 'exit' };

/** Worker -> parent. */
export type WorkerReply =
  | { type: 'progress'; id: number; phase: string }
  | { type: 'done'; id: number; value: unknown }
  | { type: 'failed'; id: number; error: ErrorReport };
