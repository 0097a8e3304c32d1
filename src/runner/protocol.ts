/**
 * What the parent and a worker process say to each other, and what a task sees of its worker.
 * The tasks themselves are listed in src/worker/tasks.ts, the worker's entry point.
 */
import type { ErrorReport } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';
import type { TestKnobs } from '../testKnobs.js';

/**
 * The per-Locrit jobs a worker can run: each name with the payload it takes and the result it
 * returns. Each task module adds its own entries beside its function, by declaration merging
 * (`declare module '../runner/protocol.js' { interface TaskTable { ... } }`), so that this layer
 * names no engine and a caller of runEach gets the result type of the name it runs.
 * src/worker/tasks.ts maps every name to its function and fails to compile if one is missing or
 * does not match its entry.
 */
export interface TaskTable {}

export type TaskName = keyof TaskTable;
type Payloads = { [N in TaskName]: TaskTable[N] extends { payload: infer P } ? P : never };
type Results = { [N in TaskName]: TaskTable[N] extends { result: infer R } ? R : never };
export type TaskPayload<N extends TaskName> = Payloads[N];
export type TaskResult<N extends TaskName> = Results[N];

/**
 * The environment variable naming the task a worker is started for: it loads that task's code
 * and Kuzu while the parent is still preparing the first Locrit.
 */
export const WORKER_TASK_ENV = 'LOCRIT_MEM_WORKER_TASK';

/** Parent -> worker. */
export type WorkerRequest =
  | { type: 'run'; id: number; task: TaskName; target: LocritTarget; payload: TaskPayload<TaskName>; knobs: TestKnobs; prepared?: unknown }
  | { type: 'exit' };

/** Worker -> parent. */
export type WorkerReply =
  | { type: 'progress'; id: number; phase: string }
  | { type: 'done'; id: number; value: unknown }
  | { type: 'failed'; id: number; error: ErrorReport };

/** What a task receives from its worker besides the Locrit and the payload. */
export interface TaskContext {
  /** Reports the current phase (shown by the spinner on a terminal). */
  progress(phase: string): void;
  /** The test knobs of the run (src/testKnobs.ts), as the parent read them. */
  knobs: TestKnobs;
  /** A point where a test may kill or pause this worker (the kill-at and pause-at knobs), for this Locrit. */
  testPoint(point: string): void;
  /** What the parent prepared for this Locrit before sending it (RunOptions.prefetch), or undefined. */
  prepared?: unknown;
}
