/**
 * The per-Locrit jobs a worker process can run, loaded lazily by name. Each runs in a worker
 * process so that a native crash inside Kuzu ends only that Locrit's job, and so that --jobs
 * can run several Locrits at once. Each name's payload and result are declared beside its
 * function (TaskTable in src/runner/protocol.ts); this table must give every name a function of
 * exactly that type, or it does not compile.
 */
import type { LocritTarget } from '../layout/locrits.js';
import type { TaskContext, TaskName, TaskPayload, TaskResult } from '../runner/protocol.js';
import { loadKuzu } from '../store/kuzu.js';

export type LocritTask<N extends TaskName> = (target: LocritTarget, payload: TaskPayload<N>, context: TaskContext) => Promise<TaskResult<N>>;

export const TASKS: { [N in TaskName]: () => Promise<LocritTask<N>> } = {
  stats: async () => (await import('../statistics/task.js')).statsTask,
  retention: async () => (await import('../retention/task.js')).retentionTask,
  'recover-inspect': async () => (await import('../recover/task.js')).inspectTask,
  'recover-replay': async () => (await import('../recover/task.js')).replayTask,
  'recover-build': async () => (await import('../recover/task.js')).buildTask,
  'recover-restore-archive': async () => (await import('../recover/task.js')).restoreArchiveTask,
  'validate-check': async () => (await import('../validation/task.js')).checkTask,
  'validate-deep': async () => (await import('../validation/task.js')).deepTask,
  'validate-check-deep': async () => (await import('../validation/task.js')).checkDeepTask,
  'validate-fix': async () => (await import('../validation/task.js')).fixTask,
};

/** Runs one task by name; the payload comes from the parent over IPC (runEach typed it there). */
export async function runTask<N extends TaskName>(name: N, target: LocritTarget, payload: TaskPayload<N>, context: TaskContext): Promise<TaskResult<N>> {
  const task = await TASKS[name]();
  return task(target, payload, context);
}

/** Loads a task's code and Kuzu ahead of its first request; a failure is left for that request to report. */
export async function preloadTask(name: string): Promise<void> {
  if (!Object.hasOwn(TASKS, name)) return;
  await Promise.all([TASKS[name as TaskName](), loadKuzu()]).catch(() => undefined);
}
