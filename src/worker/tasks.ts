/**
 * The per-Locrit jobs a worker process can run, loaded lazily by name. Each runs in a worker
 * process so that a native crash inside Kuzu ends only that Locrit's job, and so that --jobs
 * can run several Locrits at once.
 */
import type { LocritTarget } from '../layout/locrits.js';
import type { TaskContext, TaskName } from '../runner/protocol.js';

export type LocritTask<P = unknown, R = unknown> = (target: LocritTarget, payload: P, context: TaskContext) => Promise<R>;

export const TASKS = {
  stats: async () => (await import('../commands/statsTask.js')).statsTask,
  recover: async () => (await import('../recover/task.js')).recoverTask,
  retention: async () => (await import('../retention/task.js')).retentionTask,
  validate: async () => (await import('../validation/task.js')).validateTask,
} satisfies Record<TaskName, () => Promise<LocritTask<any, any>>>;
