/**
 * The per-Locrit jobs a worker process can run, loaded lazily by name. Each runs in a worker
 * process so that a native crash inside Kuzu ends only that Locrit's job, and so that --jobs
 * can run several Locrits at once.
 */
import type { LocritTarget } from '../layout/locrits.js';

export interface TaskContext {
  /** Reports the current phase (shown by the spinner on a terminal). */
  progress(phase: string): void;
}

export type LocritTask<P = unknown, R = unknown> = (target: LocritTarget, payload: P, context: TaskContext) => Promise<R>;

export const TASKS = {
  stats: async () => (await import('../commands/statsTask.js')).statsTask,
  recover: async () => (await import('../recover/tasks.js')).recoverTask,
  retention: async () => (await import('../retention/task.js')).retentionTask,
  validate: async () => (await import('../commands/validate.js')).validateTask,
} satisfies Record<string, () => Promise<LocritTask<any, any>>>;

export type TaskName = keyof typeof TASKS;
