/**
 * The worker side of `validate`: what a worker process does for one Locrit. Each phase runs in
 * a worker so that a native crash inside Kuzu on a damaged page ends only that Locrit's check
 * ("database damaged"); the parent (src/commands/validate.ts) chooses the phases and assembles
 * the report.
 */
import { DatabaseUnavailableError, ExitCode, LocritMemError, toErrorReport } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';
import type { TaskContext } from '../runner/protocol.js';
import { checkHeader } from '../store/header.js';
import { DEEP_BATCH, deepScan } from '../store/deepScan.js';
import { withStore } from '../store/kuzu.js';
import { readSchema } from '../store/schema.js';
import { withSnapshot } from '../store/snapshot.js';
import { preparedSnapshot } from '../store/snapshotsAhead.js';
import { checkDatabase, checkSnapshot, rulePasses } from './check.js';
import { fixDatabase } from './fix.js';
import type { CheckDeepResult, CheckResult, DeepResult, FixTaskResult, ValidatePayload } from './types.js';

declare module '../runner/protocol.js' {
  interface TaskTable {
    /** The integrity rules, on a private copy. */
    'validate-check': { payload: ValidatePayload; result: CheckResult };
    /** Every column of every row, on a private copy. */
    'validate-deep': { payload: ValidatePayload; result: DeepResult };
    /** Both on one copy and one open: the usual `--deep`. */
    'validate-check-deep': { payload: ValidatePayload; result: CheckDeepResult };
    /** The rules plus the repair (`--fix`). */
    'validate-fix': { payload: ValidatePayload; result: FixTaskResult };
  }
}

export async function checkTask(target: LocritTarget, payload: ValidatePayload, task: TaskContext): Promise<CheckResult> {
  return asDamageOnFailure(target, async () => {
    checkHeader(target.dbPath);
    return (await checkSnapshot(target, payload, task, false)).result;
  });
}

export async function deepTask(target: LocritTarget, payload: ValidatePayload, task: TaskContext): Promise<DeepResult> {
  return asDamageOnFailure(target, async () => {
    checkHeader(target.dbPath);
    task.progress('deep: copying');
    return withSnapshot(target.dbPath, async (snapshot) => {
      task.progress('deep: reading every row');
      const scans = await withStore(snapshot.dbPath, { readOnly: true, ...payload.store }, async (store) => deepScan(store, await readSchema(store), (table, rows) => task.progress(`deep: ${table} ${rows} rows`)));
      return { scans, snapshot: { takenAt: snapshot.takenAt, holder: snapshot.holder } };
    });
  });
}

export async function checkDeepTask(target: LocritTarget, payload: ValidatePayload, task: TaskContext): Promise<CheckDeepResult> {
  return asDamageOnFailure(target, async () => {
    checkHeader(target.dbPath);
    // Usually the parent took the copy already, while this worker started (see src/commands/validate.ts).
    const taken = preparedSnapshot(task.prepared, target.dbPath);
    if (!taken) task.progress('copying');
    return withSnapshot(target.dbPath, async (snapshot) => {
      task.progress('checking');
      const readFrom = { takenAt: snapshot.takenAt, holder: snapshot.holder };
      return withStore(snapshot.dbPath, { readOnly: true, ...payload.store, privateCopy: true }, async (store): Promise<CheckDeepResult> => {
        const schema = await readSchema(store);
        // The per-message rules ride on the deep read of Message, so that the table (the
        // embeddings are most of the file) is read once, some graph rules on its reads of
        // PART_OF and RESPONDS_TO, and the other embedding counts on their tables' reads; the
        // other rules run after it.
        const passes = rulePasses(schema, payload);
        const extras = [passes.message, passes.partOf, passes.respondsTo, ...passes.embeddingCounts].filter((p): p is NonNullable<typeof p> => p !== null);
        // The parent reads this phase name to tell a crash of the deep read from one of the rules.
        task.progress('deep: reading every row');
        let deep: CheckDeepResult['deep'];
        try {
          deep = { ok: true, result: { scans: await deepScan(store, schema, (table, rows) => task.progress(`deep: ${table} ${rows} rows`), DEEP_BATCH, extras), snapshot: readFrom } };
        } catch (error) {
          deep = { ok: false, error: toErrorReport(asDamage(target, error)) };
        }
        task.progress('checking');
        const { result } = await checkDatabase(store, target, payload, false, { schema, ...passes });
        return { check: { ...result, snapshot: readFrom }, deep };
      });
    }, { taken });
  });
}

export async function fixTask(target: LocritTarget, payload: ValidatePayload, task: TaskContext): Promise<FixTaskResult> {
  return asDamageOnFailure(target, async () => {
    checkHeader(target.dbPath);
    return fixDatabase(target, payload, task);
  });
}

async function asDamageOnFailure<T>(target: LocritTarget, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asDamage(target, error);
  }
}

/**
 * Kuzu's errors while reading pages (runtime, IO, storage) mean a damaged file; anything else
 * (a full buffer pool, a bug in this tool) is reported as such, never as damage.
 */
function asDamage(target: LocritTarget, error: unknown): unknown {
  if (error instanceof LocritMemError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/buffer pool is full|Buffer manager exception/i.test(message)) {
    return new LocritMemError(`${target.dbPath}: Kuzu ran out of buffer pool while checking it (${message.split('\n')[0]})`, ExitCode.unavailable, 'raise kuzu.buffer_pool_mb in the configuration');
  }
  if (/^(Runtime|IO|Storage|Overflow|Conversion) exception|Reading past the end|basic_string/i.test(message)) {
    return new DatabaseUnavailableError(`${target.dbPath} is damaged: Kuzu failed to read it (${message.split('\n')[0].slice(0, 200)})`, 'damaged', `run \`locrit-mem recover ${target.name}\` to salvage what can still be read`);
  }
  return error;
}
