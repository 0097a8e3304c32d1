/**
 * What every recover flow shares: the settings of the run, Kuzu work in a worker process, the
 * verification that ends every change, the refusal of a held database, and the fallbacks an
 * operator is pointed to when a repair cannot bring everything back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listArchives } from '../archive/format.js';
import { DatabaseUnavailableError, ExitCode, toErrorReport, type ErrorReport, type LockHolder } from '../errors.js';
import { fileSizes } from '../layout/files.js';
import type { LocritTarget } from '../layout/locrits.js';
import { runEach } from '../runner/pool.js';
import type { TaskName, TaskPayload, TaskResult } from '../runner/protocol.js';
import { stopBeforeChange } from '../store/locks.js';
import type { TableCounts } from '../store/salvageQueries.js';
import type { StoreSettings } from '../store/settings.js';
import { describeHolder } from './diagnose.js';
import type { RecoveryBase, RecoverProblem, Verification } from './types.js';
import { verifyInspection } from './verify.js';
import type { TestKnobs } from '../testKnobs.js';

export interface RecoverOptions {
  locrits: string[];
  dryRun?: boolean;
  /** Seconds to wait for a holder to release the database before refusing. */
  waitSeconds?: number;
  fromBackup?: string;
  fromArchive?: string;
  list?: boolean;
  /** Overrides conversations.dir. */
  conversationsDir?: string;
  /** Rows per salvage batch (tests use small ones). */
  batchSize?: number;
  /** Backups to merge into kuzu.db (--merge-backup, repeatable); without it, every reset found is merged. */
  mergeBackups?: string[];
  /** Swap in a salvage that holds fewer messages than last known (or none). */
  acceptLoss?: boolean;
  /** Asks the operator (a terminal) whether to swap in such a salvage; absent: the answer is no. */
  confirmLoss?: (question: string) => Promise<boolean>;
  /** Clear the "salvaged with losses" flag of the Locrits named. */
  acknowledgeLoss?: boolean;
  /** Remove the backups whose every message is in kuzu.db or a complete archive. */
  pruneBackups?: boolean;
}

/** The run every flow works in, resolved once by the command. */
export interface RecoverEnv {
  options: RecoverOptions;
  dataDir: string;
  cwd: string;
  jobs: number;
  /** Test-only knobs (src/testKnobs.ts). */
  knobs: TestKnobs;
  /** Shows the current phase of a long step (a spinner on a terminal). */
  phase(text: string): void;
  store: StoreSettings;
  backupDir: string | null;
  archiveDir: string;
  /** memory.embedding_dimension: the dimension of a rebuilt database when the damaged one does not say. */
  dimension: number;
  batchSize: number;
}

export type Attempt<T> = { ok: true; value: T } | { ok: false; error: ErrorReport };

export function emptyBase(problem: RecoverProblem = 'none'): RecoveryBase {
  return {
    problem, problems: [], outcome: 'ok', plan: [], steps: [], holder: null, waitedSeconds: null, snapshotAt: null, verification: null, suggestions: [], error: null, exitCode: ExitCode.ok,
  };
}

/** Runs one recover step in a worker process; a crash comes back as a 'damaged' error. */
export async function inWorker<N extends TaskName>(env: RecoverEnv, task: N, target: LocritTarget, payload: TaskPayload<N>): Promise<Attempt<TaskResult<N>>> {
  const [outcome] = await runEach(task, [target], payload, {
    jobs: 1,
    knobs: env.knobs,
    onProgress: (t, phase) => env.phase(`${t.name}: ${phase}`),
    step: true,
  });
  return outcome.ok ? { ok: true, value: outcome.value } : { ok: false, error: outcome.error };
}

/** A fresh read-only open of `dbPath` in a worker, compared with what it must hold. */
export async function verify(env: RecoverEnv, target: LocritTarget, dbPath: string, expected: TableCounts | null, allowedMissing: string[] | null = null): Promise<Verification> {
  const inspection = await inWorker(env, 'recover-inspect', target, { path: dbPath, store: env.store, deep: true });
  return verifyInspection(dbPath, inspection, expected, { walLeft: fs.existsSync(`${dbPath}.wal`), allowedMissing });
}

export function step(part: RecoveryBase, name: string, ok: boolean, detail: string): void {
  part.steps.push({ step: name, ok, detail });
}

export function walBytesOf(dbPath: string): number | null {
  return fs.statSync(`${dbPath}.wal`, { throwIfNoEntry: false })?.size ?? null;
}

/** Says which work folders of a killed run taking the run lock removed (see removeWorkFolders). */
export function noteRemovedLeftovers(part: RecoveryBase, removed: string[]): void {
  if (removed.length) step(part, 'clean up', true, `removed what a killed run left: ${removed.map((p) => path.basename(p)).join(', ')}`);
}

/** Marks the part as refused because another process holds the database. */
export function refuse<P extends RecoveryBase & { action: string }>(part: P, dbPath: string, holder: LockHolder): P & { action: 'refuse' } {
  const refused = part as P & { action: 'refuse' };
  refused.problem = 'in-use';
  refused.action = 'refuse';
  refused.outcome = 'refused';
  refused.holder = holder;
  refused.exitCode = ExitCode.unavailable;
  const error = new DatabaseUnavailableError(
    `${dbPath} is in use by ${describeHolder(holder)}`,
    'in-use',
    'stop the Locrit application (or that process) first, or rerun with --wait <seconds>',
    holder,
  );
  refused.error = toErrorReport(error);
  if (!refused.problems.length) refused.problems.push(`held by a running process: ${describeHolder(holder)}`);
  return refused;
}

/** An unexpected error ends the flow as failed, with what was done so far kept in the part. */
export function fail(part: RecoveryBase, error: unknown, exitCode: (report: ErrorReport) => ExitCode = (report) => report.exitCode): void {
  part.error = toErrorReport(error);
  part.outcome = 'failed';
  part.exitCode = exitCode(part.error);
  part.problems.push(part.error.message);
}

/** Backups and archives the operator can fall back on, newest first in the suggestion. */
export function suggestFallbacks(env: RecoverEnv, target: LocritTarget, part: RecoveryBase, exclude: string[] = []): void {
  const backups = fileSizes(target.dbPath, env.backupDir)
    .backups.filter((b) => !exclude.includes(b.path))
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  if (backups[0]) part.suggestions.push(`locrit-mem recover ${target.name} --from-backup ${backups[0].path}   (newest backup, ${backups[0].createdAt ?? 'time unknown'})`);
  const archives = listArchives(env.archiveDir, target.name).complete;
  if (archives.length) {
    part.suggestions.push(`locrit-mem recover ${target.name} --from-archive <folder>   (${archives.length} archive(s) under ${path.dirname(archives[0])}, newest ${path.basename(archives[archives.length - 1])})`);
  }
  if (!backups.length && !archives.length) part.suggestions.push(`no backup and no archive of ${target.name} was found (backups beside ${target.dbPath}${env.backupDir ? ` and in ${env.backupDir}` : ''}, archives in ${env.archiveDir})`);
  part.suggestions.push(`locrit-mem recover ${target.name} --list   (every backup and archive with its messages)`);
}

export function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/**
 * The last step before a restore changes anything: wait for a holder to let go (--wait), refuse
 * if it does not, and stop at the plan under --dry-run. True when the flow must stop here.
 */
export async function stoppedBeforeChange(part: RecoveryBase & { action: string }, dbPath: string, options: { waitSeconds?: number; dryRun?: boolean }, plannedExit?: ExitCode): Promise<boolean> {
  const before = await stopBeforeChange(dbPath, options);
  part.waitedSeconds = before.waited;
  if (before.stop === 'held') {
    refuse(part, dbPath, before.holder);
    return true;
  }
  if (before.stop === 'dry-run') {
    part.outcome = 'planned';
    if (plannedExit !== undefined) part.exitCode = plannedExit;
    return true;
  }
  return false;
}
