/**
 * `recover`: diagnose each Locrit and repair what can be repaired, keeping the original bytes
 * of everything it touches. Cases, in the order they are checked: held by a running process
 * (refuse, or --wait), unclean stop (replay the WAL), cannot be opened or read (salvage into a
 * fresh database), unsaved conversations (report), nothing wrong. --from-backup, --from-archive
 * and --list are explicit modes. Kuzu work runs in worker processes (src/runner/, and the
 * salvage child of src/recover/salvage.ts), so a native crash never ends the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkArchive, type ArchiveRestoreCounts, type ArchiveToRestore } from '../archive/restore.js';
import { listArchives, messageFilesOf, readManifest } from '../archive/format.js';
import { readConversationFiles, type ConversationFiles, type ConversationHeader } from '../conversations/read.js';
import { DatabaseUnavailableError, ExitCode, toErrorReport, UsageError, worstExitCode, type ErrorReport, type LockHolder } from '../errors.js';
import { copyBackup, swapIn } from '../layout/backup.js';
import { fileSizes } from '../layout/files.js';
import { DB_FILE, resolveTargets, type LocritTarget } from '../layout/locrits.js';
import { acquireRunLock } from '../layout/runLock.js';
import { findUnsavedConversations } from '../recover/conversations.js';
import { describeHolder, diagnose, type Diagnosis } from '../recover/diagnose.js';
import { installRebuilt, keepAsAppBackup, workFolder } from '../recover/files.js';
import { salvageDatabase, SALVAGE_BATCH } from '../recover/salvage.js';
import type { RecoverTaskPayload } from '../recover/tasks.js';
import type {
  ConversationCheck, ListedArchive, ListedBackup, LocritRecovery, RecoverStep, SalvageReport, Verification,
} from '../recover/types.js';
import { countDelta, verifyInspection } from '../recover/verify.js';
import { runEach } from '../runner/pool.js';
import { checkHeader } from '../store/header.js';
import type { Inspection } from '../store/inspect.js';
import { describeProcess, locksOn } from '../store/locks.js';
import type { BuildResult, TableCounts } from '../store/salvage.js';
import { resolveConfigPath } from '../config/load.js';
import { storeSettings, type CommandContext, type StoreSettings } from './context.js';
import { REPORT_VERSION, toolInfo, type ToolInfo } from './report.js';

export type RecoverMode = 'diagnose' | 'from-backup' | 'from-archive' | 'list';

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
}

export interface RecoverReport {
  version: typeof REPORT_VERSION;
  command: 'recover';
  tool: ToolInfo;
  generatedAt: string;
  mode: RecoverMode;
  dryRun: boolean;
  dataDir: string;
  configFile: string | null;
  archiveDir: string;
  conversations: { dir: string; exists: boolean; files: number; unreadable: { file: string; error: string }[]; otherLocrits: number } | null;
  locrits: LocritRecovery[];
  exitCode: ExitCode;
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: ErrorReport };

interface Env {
  context: CommandContext;
  options: RecoverOptions;
  store: StoreSettings;
  backupDir: string | null;
  archiveDir: string;
  dimension: number;
  batchSize: number;
}

export async function runRecover(context: CommandContext, options: RecoverOptions): Promise<RecoverReport> {
  const modes = [options.fromBackup !== undefined && '--from-backup', options.fromArchive !== undefined && '--from-archive', options.list && '--list'].filter(Boolean);
  if (modes.length > 1) throw new UsageError(`${modes.join(' and ')} cannot be combined`, 'choose one of --from-backup, --from-archive, --list');
  const mode: RecoverMode = options.fromBackup !== undefined ? 'from-backup' : options.fromArchive !== undefined ? 'from-archive' : options.list ? 'list' : 'diagnose';
  if (options.waitSeconds !== undefined && mode === 'list') throw new UsageError('--wait has no meaning with --list', 'drop --wait');
  const values = context.config.values;
  const backupDir = values.backup.dir === null ? null : resolveConfigPath(context.config, values.backup.dir);
  const env: Env = {
    context,
    options,
    store: storeSettings(context),
    backupDir,
    archiveDir: resolveConfigPath(context.config, values.archive.dir),
    dimension: values.memory.embedding_dimension,
    batchSize: options.batchSize ?? SALVAGE_BATCH,
  };
  let locrits: LocritRecovery[];
  let conversations: RecoverReport['conversations'] = null;
  if (mode === 'from-backup') locrits = [await fromBackup(env)];
  else if (mode === 'from-archive') locrits = [await fromArchive(env)];
  else if (mode === 'list') locrits = await listAll(env, resolveTargets(options.locrits, context.dataDir, context.cwd));
  else {
    const targets = resolveTargets(options.locrits, context.dataDir, context.cwd);
    if (targets.length === 0) context.reporter.warn(`no Locrit databases under ${context.dataDir}`);
    const dir = options.conversationsDir ? path.resolve(context.cwd, options.conversationsDir) : resolveConfigPath(context.config, values.conversations.dir);
    const files = readConversationFiles(dir);
    const names = new Set(targets.map((t) => t.name));
    conversations = {
      dir,
      exists: files.exists,
      files: files.headers.length + files.unreadable.length,
      unreadable: files.unreadable,
      otherLocrits: files.headers.filter((h) => h.locrit === null || !names.has(h.locrit)).length,
    };
    for (const bad of files.unreadable) context.reporter.warn(`conversation file ${bad.file} cannot be read: ${bad.error}`);
    locrits = await diagnoseAll(env, targets, files);
  }
  context.reporter.done();
  return {
    version: REPORT_VERSION,
    command: 'recover',
    tool: toolInfo(),
    generatedAt: context.now.toISOString(),
    mode,
    dryRun: Boolean(options.dryRun),
    dataDir: context.dataDir,
    configFile: context.config.source,
    archiveDir: env.archiveDir,
    conversations,
    locrits,
    exitCode: worstExitCode(locrits.map((l) => l.exitCode)),
  };
}

// ---------------------------------------------------------------- helpers

function blank(target: LocritTarget): LocritRecovery {
  return {
    name: target.name, path: target.dbPath, problem: 'none', problems: [], action: 'none', outcome: 'ok', plan: [], steps: [], holder: null,
    waitedSeconds: null, replay: null, salvage: null, backupRestore: null, archiveRestore: null, conversations: null, verification: null,
    backups: null, archives: null, suggestions: [], error: null, exitCode: ExitCode.ok, durationMs: 0,
  };
}

/** Runs one recover step in a worker process; a crash comes back as a 'damaged' error. */
async function inWorker<T>(env: Env, target: LocritTarget, payload: RecoverTaskPayload): Promise<Attempt<T>> {
  const [outcome] = await runEach<T>('recover', [target], payload, {
    jobs: 1,
    onProgress: (t, phase) => env.context.reporter.phase(`${t.name}: ${phase}`),
  });
  return outcome.ok ? { ok: true, value: outcome.value } : { ok: false, error: outcome.error };
}

async function holderOf(dbPath: string): Promise<LockHolder | null> {
  const locks = fs.existsSync(dbPath) ? locksOn(dbPath) : [];
  if (locks.length === 0) return null;
  const writer = locks.find((l) => l.mode === 'WRITE') ?? locks[0];
  return describeProcess(writer.pid);
}

/** The holder after waiting up to `seconds` for it to let go (polling /proc/locks). */
async function waitForRelease(dbPath: string, seconds: number | undefined): Promise<{ holder: LockHolder | null; waited: number | null }> {
  let holder = await holderOf(dbPath);
  if (!holder || seconds === undefined) return { holder, waited: null };
  const started = Date.now();
  while (holder && Date.now() - started < seconds * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    holder = await holderOf(dbPath);
  }
  return { holder, waited: Math.round((Date.now() - started) / 100) / 10 };
}

function walBytesOf(dbPath: string): number | null {
  return fs.statSync(`${dbPath}.wal`, { throwIfNoEntry: false })?.size ?? null;
}

function step(result: LocritRecovery, name: string, ok: boolean, detail: string): void {
  result.steps.push({ step: name, ok, detail });
}

/**
 * The last step before a restore changes anything: wait for a holder to let go (--wait), refuse
 * if it does not, and stop at the plan under --dry-run. True when the run must stop here.
 */
async function stopBeforeChange(result: LocritRecovery, dbPath: string, options: { waitSeconds?: number; dryRun?: boolean }, plannedExit?: ExitCode): Promise<boolean> {
  const { holder, waited } = await waitForRelease(dbPath, options.waitSeconds);
  result.waitedSeconds = waited;
  if (holder) {
    refuse(result, holder);
    return true;
  }
  if (options.dryRun) {
    result.outcome = 'planned';
    if (plannedExit !== undefined) result.exitCode = plannedExit;
    return true;
  }
  return false;
}

function refuse(result: LocritRecovery, holder: LockHolder): void {
  result.problem = 'in-use';
  result.action = 'refuse';
  result.outcome = 'refused';
  result.holder = holder;
  result.exitCode = ExitCode.unavailable;
  const error = new DatabaseUnavailableError(
    `${result.path} is in use by ${describeHolder(holder)}`,
    'in-use',
    'stop the Locrit application (or that process) first, or rerun with --wait <seconds>',
    holder,
  );
  result.error = toErrorReport(error);
  if (!result.problems.length) result.problems.push(`held by a running process: ${describeHolder(holder)}`);
}

/** Backups and archives the operator can fall back on, newest first in the suggestion. */
function suggestFallbacks(env: Env, target: LocritTarget, result: LocritRecovery, exclude: string[] = []): void {
  const backups = fileSizes(target.dbPath, env.backupDir)
    .backups.filter((b) => !exclude.includes(b.path))
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  if (backups[0]) result.suggestions.push(`locrit-mem recover ${target.name} --from-backup ${backups[0].path}   (newest backup, ${backups[0].createdAt ?? 'time unknown'})`);
  const archives = listArchives(env.archiveDir, target.name).complete;
  if (archives.length) {
    result.suggestions.push(`locrit-mem recover ${target.name} --from-archive <folder>   (${archives.length} archive(s) under ${path.dirname(archives[0])}, newest ${path.basename(archives[archives.length - 1])})`);
  }
  if (!backups.length && !archives.length) result.suggestions.push(`no backup and no archive of ${target.name} was found (backups beside ${target.dbPath}${env.backupDir ? ` and in ${env.backupDir}` : ''}, archives in ${env.archiveDir})`);
  result.suggestions.push(`locrit-mem recover ${target.name} --list   (every backup and archive with its messages)`);
}

// ---------------------------------------------------------------- diagnose and repair

async function diagnoseAll(env: Env, targets: LocritTarget[], conversations: ConversationFiles): Promise<LocritRecovery[]> {
  const byLocrit = new Map<string, ConversationHeader[]>();
  for (const header of conversations.headers) {
    if (header.locrit === null) continue;
    byLocrit.set(header.locrit, [...(byLocrit.get(header.locrit) ?? []), header]);
  }
  // Probe every Locrit that is present and free, in parallel workers; the rest are handled one by one.
  const holders = new Map<string, LockHolder | null>();
  for (const target of targets) holders.set(target.dbPath, await holderOf(target.dbPath));
  const probeTargets = targets.filter((t) => fs.existsSync(t.dbPath) && !holders.get(t.dbPath));
  const probes = new Map<string, Attempt<Inspection>>();
  const outcomes = await runEach<Inspection>('recover', probeTargets, { op: 'inspect', path: null, store: env.store, deep: true, sessions: true, archiveMessageFilesByLocrit: archiveFilesFor(env, probeTargets, byLocrit) } satisfies RecoverTaskPayload, {
    jobs: env.context.jobs,
    onProgress: (t, phase) => env.context.reporter.phase(`${t.name}: ${phase}`),
  });
  for (const outcome of outcomes) probes.set(outcome.target.dbPath, outcome.ok ? { ok: true, value: outcome.value } : { ok: false, error: outcome.error });

  const results: LocritRecovery[] = [];
  for (const target of targets) {
    const started = performance.now();
    const result = blank(target);
    try {
      await recoverOne(env, target, result, holders.get(target.dbPath) ?? null, probes.get(target.dbPath) ?? null, byLocrit.get(target.name) ?? []);
    } catch (error) {
      result.error = toErrorReport(error);
      result.outcome = 'failed';
      result.exitCode = result.error.exitCode === ExitCode.usage ? ExitCode.usage : ExitCode.unavailable;
      result.problems.push(result.error.message);
    }
    result.durationMs = Math.round(performance.now() - started);
    results.push(result);
  }
  return results;
}

/** The messages files (every chunk) of a complete archive; none when its manifest cannot be read. */
function archivedMessageFiles(folder: string): string[] {
  try {
    return messageFilesOf(folder);
  } catch {
    return [];
  }
}

function archiveFilesFor(env: Env, targets: LocritTarget[], byLocrit: Map<string, ConversationHeader[]>): Record<string, string[]> {
  const files: Record<string, string[]> = {};
  for (const target of targets) {
    if (!byLocrit.has(target.name)) continue;
    files[target.name] = listArchives(env.archiveDir, target.name).complete.flatMap(archivedMessageFiles).filter((f) => fs.existsSync(f));
  }
  return files;
}

async function recoverOne(
  env: Env, target: LocritTarget, result: LocritRecovery, initialHolder: LockHolder | null, initialProbe: Attempt<Inspection> | null, headers: ConversationHeader[],
): Promise<void> {
  const { options } = env;
  let holder = initialHolder;
  let probe = initialProbe;
  // 1. Held by a running process: wait if asked, else refuse.
  if (holder && options.waitSeconds !== undefined) {
    env.context.reporter.phase(`${target.name}: waiting up to ${options.waitSeconds}s for pid ${holder.pid} to release the database`);
    const waited = await waitForRelease(target.dbPath, options.waitSeconds);
    result.waitedSeconds = waited.waited;
    step(result, 'wait', waited.holder === null, waited.holder ? `still held by pid ${waited.holder.pid} after ${waited.waited}s` : `released after ${waited.waited}s`);
    holder = waited.holder;
    if (!holder) probe = await probeOne(env, target, headers);
  }
  const diagnosis = diagnose({ dbPath: target.dbPath, dbExists: fs.existsSync(target.dbPath), walBytes: walBytesOf(target.dbPath), holder, probe, batchSize: env.batchSize });
  apply(result, diagnosis);
  if (diagnosis.problem === 'in-use') {
    const failedProbe = probe && !probe.ok ? probe.error : null;
    refuse(result, holder ?? failedProbe?.holder ?? (await holderOf(target.dbPath)) ?? { pid: 0, command: null, rssBytes: null, cpuPercent: null });
    return;
  }
  if (diagnosis.problem === 'missing' || diagnosis.problem === 'unsupported-version' || diagnosis.problem === 'check-failed') {
    result.outcome = diagnosis.problem === 'check-failed' ? 'failed' : 'unusable';
    result.exitCode = ExitCode.unavailable;
    if (probe && !probe.ok) result.error = probe.error;
    if (diagnosis.problem !== 'check-failed') suggestFallbacks(env, target, result);
    return;
  }
  if (options.dryRun) {
    if (diagnosis.action === 'salvage') suggestFallbacks(env, target, result);
    result.outcome = diagnosis.action === 'none' ? 'ok' : 'planned';
    result.exitCode = diagnosis.action === 'none' ? ExitCode.ok : ExitCode.findings;
  } else if (diagnosis.action === 'replay-wal' || diagnosis.action === 'salvage') {
    const lock = acquireRunLock(target.dbPath, 'recover');
    try {
      // The application may have started since the probe.
      const late = await holderOf(target.dbPath);
      if (late) {
        refuse(result, late);
        return;
      }
      if (diagnosis.action === 'replay-wal') await replay(env, target, result, (probe as { ok: true; value: Inspection }).value);
      else await salvage(env, target, result);
    } finally {
      lock.release();
    }
    if (result.exitCode === ExitCode.unavailable) return;
    if (result.salvage && result.exitCode !== ExitCode.ok && headers.length) {
      // Messages the salvage lost would all look "unsaved": comparing would mislead.
      result.problems.push(`${headers.length} conversation file(s) not compared: the salvage could not bring every row back`);
      return;
    }
    if (headers.length) probe = result.verification?.ok ? await probeOne(env, target, headers) : probe;
  }
  // 7. Unsaved conversations, against what the (possibly repaired) database holds.
  if (headers.length && probe?.ok) {
    const check = checkConversations(headers, probe.value);
    result.conversations = check;
    if (check.unsaved.length) {
      const missing = check.unsaved.reduce((sum, u) => sum + u.missing, 0);
      result.problems.push(`${check.unsaved.length} conversation(s) recorded ${missing} more message(s) than the database and archives hold: they were never saved`);
      if (result.problem === 'none') {
        result.problem = 'unsaved-conversations';
        result.action = 'report';
        result.outcome = 'reported';
        result.plan.push('report the conversations whose message_count exceeds what their session holds; their missing messages exist nowhere to restore from');
      }
      result.exitCode = worstExitCode([result.exitCode, ExitCode.findings]);
    }
  }
}

function apply(result: LocritRecovery, diagnosis: Diagnosis): void {
  result.problem = diagnosis.problem;
  result.problems.push(...diagnosis.problems);
  result.action = diagnosis.action;
  result.plan = [...diagnosis.plan];
}

async function probeOne(env: Env, target: LocritTarget, headers: ConversationHeader[]): Promise<Attempt<Inspection>> {
  const archiveFiles = headers.length ? archiveFilesFor(env, [target], new Map([[target.name, headers]])) : {};
  return inWorker<Inspection>(env, target, { op: 'inspect', path: null, store: env.store, deep: true, sessions: true, archiveMessageFilesByLocrit: archiveFiles });
}

function checkConversations(headers: ConversationHeader[], inspection: Inspection): ConversationCheck {
  return findUnsavedConversations(headers, inspection.sessionMessages ?? {}, inspection.archivedPerSession);
}

async function verify(env: Env, target: LocritTarget, dbPath: string, expected: TableCounts | null, allowedMissing: string[] | null = null): Promise<Verification> {
  const inspection = await inWorker<Inspection>(env, target, { op: 'inspect', path: dbPath, store: env.store, deep: true });
  return verifyInspection(dbPath, inspection, expected, { walLeft: fs.existsSync(`${dbPath}.wal`), allowedMissing });
}

/** 2. Unclean stop: back up the pair, replay the WAL, check every table against the read-only view of the pair. */
async function replay(env: Env, target: LocritTarget, result: LocritRecovery, pairView: Inspection): Promise<void> {
  const walBytes = walBytesOf(target.dbPath) ?? 0;
  const backup = copyBackup(target.dbPath, 'recover', env.backupDir);
  step(result, 'backup', true, `kept ${backup.dbBackup}${backup.walBackup ? ` and ${backup.walBackup}` : ''}`);
  // What kuzu.db held without its WAL: the backup copy, opened alone through a hard link.
  let countsBefore: TableCounts | null = null;
  const alone = workFolder(target.dbPath, 'walless');
  try {
    const link = path.join(alone, DB_FILE);
    try {
      fs.linkSync(backup.dbBackup, link);
    } catch {
      fs.copyFileSync(backup.dbBackup, link);
    }
    const before = await inWorker<Inspection>(env, target, { op: 'inspect', path: link, store: env.store });
    countsBefore = before.ok ? before.value.counts : null;
  } finally {
    fs.rmSync(alone, { recursive: true, force: true });
  }
  const replayed = await inWorker<TableCounts>(env, target, { op: 'replay', path: target.dbPath, store: env.store });
  step(result, 'replay', replayed.ok, replayed.ok ? `WAL of ${walBytes} bytes replayed into kuzu.db and checkpointed` : replayed.error.message);
  result.replay = {
    walBytes, dbBackup: backup.dbBackup, walBackup: backup.walBackup, countsBefore, countsExpected: pairView.counts,
    replayed: countDelta(countsBefore, pairView.counts),
  };
  const verification = await verify(env, target, target.dbPath, pairView.counts, pairView.schemaMissing);
  result.verification = verification;
  step(result, 'verify', verification.ok, verification.ok ? 'opens; every table holds what the read-only view of the pair showed; schema complete' : verification.problems.join('; '));
  if (replayed.ok && verification.ok) {
    result.outcome = 'repaired';
    result.exitCode = ExitCode.ok;
  } else {
    // The read-only view of the pair worked, so what it showed can still be salvaged from the
    // untouched copy (read-only opens replay its WAL in memory) into a fresh database.
    step(result, 'fall back', true, `salvage from the untouched pair kept in ${backup.dbBackup}`);
    result.action = 'salvage';
    result.plan.push('the replay failed: salvage from the untouched pair into a fresh database');
    await salvage(env, target, result, backup.dbBackup);
  }
}

/** 3. Cannot be opened or read: salvage table by table, rebuild, verify, swap in, keep the damaged file. */
async function salvage(env: Env, target: LocritTarget, result: LocritRecovery, source = target.dbPath): Promise<void> {
  const work = workFolder(target.dbPath, 'salvage');
  try {
    const wal = `${source}.wal`;
    const salvaged = await salvageDatabase(source, {
      workDir: work,
      bufferPoolMb: env.store.bufferPoolMb,
      batchSize: env.batchSize,
      walPath: fs.existsSync(wal) ? wal : null,
      onProgress: (text) => env.context.reporter.phase(`${target.name}: ${text}`),
    });
    const read = salvaged.tables.reduce((sum, t) => sum + t.salvaged, 0);
    step(
      result, 'salvage', salvaged.opened,
      salvaged.opened
        ? `${read} row(s) read in ${salvaged.attempts} attempt(s), ${salvaged.crashes} of which crashed Kuzu${salvaged.usedWal ? '' : fs.existsSync(wal) ? '; the WAL could not be used, the main file was read alone' : ''}`
        : `Kuzu cannot open the file at all: ${salvaged.openError ?? 'unknown error'}`,
    );
    const dimension = salvaged.dimension ?? env.dimension;
    const rebuilt = path.join(work, DB_FILE);
    const built = await inWorker<BuildResult>(env, target, { op: 'build', path: rebuilt, store: env.store, folder: target.name, dimension, files: salvaged.files });
    if (!built.ok) {
      step(result, 'build', false, built.error.message);
      result.outcome = 'failed';
      result.exitCode = ExitCode.unavailable;
      suggestFallbacks(env, target, result);
      return;
    }
    const counts = built.value.counts;
    for (const table of salvaged.tables) {
      table.recovered = counts[table.table] ?? 0;
      table.withoutEndpoints = built.value.relsWithoutEndpoints[table.table] ?? 0;
      table.lost = table.expected === null ? (table.lostIdCount || null) : Math.max(0, table.expected - table.recovered);
      if (table.withoutEndpoints) table.notes.push(`${table.withoutEndpoints} relationship(s) read but not loaded: an end did not come back`);
    }
    const knownExpected = salvaged.tables.every((t) => t.expected !== null);
    const report: SalvageReport = {
      movedAsideTo: null,
      walMovedAsideTo: null,
      opened: salvaged.opened,
      openError: salvaged.openError,
      usedWal: salvaged.usedWal,
      dimension,
      dimensionFrom: salvaged.dimension === null ? 'config' : 'database',
      tables: salvaged.tables,
      totals: {
        expected: knownExpected && salvaged.opened ? salvaged.tables.reduce((s, t) => s + (t.expected ?? 0), 0) : null,
        recovered: salvaged.tables.reduce((s, t) => s + t.recovered, 0),
        lost: knownExpected && salvaged.opened ? salvaged.tables.reduce((s, t) => s + (t.lost ?? 0), 0) : null,
      },
      nothingReadable: salvaged.nothingReadable,
      schemaMissing: salvaged.schemaMissing,
      extraTables: salvaged.extraTables,
      vectorIndexes: built.value.vectorIndexes,
      attempts: salvaged.attempts,
      crashes: salvaged.crashes,
    };
    result.salvage = report;
    step(result, 'build', true, `fresh database with the Locrit schema (dimension ${dimension}${report.dimensionFrom === 'config' ? ', from memory.embedding_dimension' : ''}), ${report.totals.recovered} row(s) loaded${built.value.vectorIndexes.length ? `, vector indexes ${built.value.vectorIndexes.join(', ')}` : ''}`);
    // Check the new file before it replaces anything.
    const before = await verify(env, target, rebuilt, counts);
    step(result, 'verify new file', before.ok, before.ok ? 'opens; row counts equal what was loaded; schema complete' : before.problems.join('; '));
    if (!before.ok) {
      result.verification = before;
      result.outcome = 'failed';
      result.exitCode = ExitCode.unavailable;
      suggestFallbacks(env, target, result);
      return;
    }
    const kept = keepAsAppBackup(target.dbPath, new Date());
    report.movedAsideTo = kept.dbBackup;
    report.walMovedAsideTo = kept.walBackup;
    installRebuilt(rebuilt, target.dbPath);
    step(result, 'swap', true, `damaged file kept as ${kept.dbBackup}${kept.walBackup ? ` (its WAL as ${path.basename(kept.walBackup)})` : ''}; the rebuilt database is now ${target.dbPath}`);
    const verification = await verify(env, target, target.dbPath, counts);
    result.verification = verification;
    step(result, 'verify', verification.ok, verification.ok ? 'opens; every table holds what the salvage report says; schema complete' : verification.problems.join('; '));
    if (!verification.ok) {
      result.outcome = 'failed';
      result.exitCode = ExitCode.unavailable;
      suggestFallbacks(env, target, result, [kept.dbBackup]);
      return;
    }
    result.outcome = 'salvaged';
    const lostSome = report.totals.lost === null || report.totals.lost > 0 || salvaged.tables.some((t) => t.lostIdCount > 0 || t.partialRows > 0 || t.withoutEndpoints > 0);
    result.exitCode = lostSome ? ExitCode.findings : ExitCode.ok;
    if (report.nothingReadable) {
      result.problems.push(`nothing could be read from the damaged file${report.openError ? ` (${report.openError})` : ''}: the new database is empty`);
      suggestFallbacks(env, target, result, [kept.dbBackup]);
    } else if (lostSome) {
      suggestFallbacks(env, target, result, [kept.dbBackup]);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- --from-backup

function targetForFile(env: Env, file: string, flag: string): LocritTarget {
  const { options, context } = env;
  if (options.locrits.length > 1) throw new UsageError(`${flag} restores one Locrit, got ${options.locrits.length}`, `name one Locrit: locrit-mem recover <locrit> ${flag} <path>`);
  if (options.locrits.length === 1) return resolveTargets(options.locrits, context.dataDir, context.cwd)[0];
  // A backup beside a kuzu.db belongs to that Locrit.
  const dir = path.dirname(file);
  if (fs.existsSync(path.join(dir, DB_FILE)) || path.dirname(dir) === context.dataDir) {
    return { name: path.basename(dir), dir, dbPath: path.join(dir, DB_FILE) };
  }
  throw new UsageError(`cannot tell which Locrit ${file} belongs to`, `name it: locrit-mem recover <locrit> ${flag} ${file}`);
}

async function fromBackup(env: Env): Promise<LocritRecovery> {
  const { context, options } = env;
  const source = path.resolve(context.cwd, options.fromBackup!);
  const stat = fs.statSync(source, { throwIfNoEntry: false });
  if (!stat) throw new UsageError(`--from-backup ${options.fromBackup}: ${source} does not exist`, 'pick a file from `locrit-mem recover --list`');
  if (!stat.isFile()) throw new UsageError(`--from-backup ${options.fromBackup}: ${source} is not a file`, 'pass a kuzu.db backup file');
  const target = targetForFile(env, source, '--from-backup');
  if (path.resolve(source) === path.resolve(target.dbPath)) throw new UsageError(`--from-backup ${source} is the database itself`, 'pass one of its backups');
  const started = performance.now();
  const result = blank(target);
  result.problem = 'requested';
  result.action = 'restore-backup';
  const sourceWal = fs.existsSync(`${source}.wal`) ? `${source}.wal` : null;
  result.plan = [
    `check that ${source} opens read-only (every column of every table read) in a separate process`,
    `keep the current ${fs.existsSync(target.dbPath) ? 'database' : '(missing) database'} as kuzu.db.locrit-mem-pre-restore_<UTC stamp>, with any WAL moved aside with it`,
    `copy the backup${sourceWal ? ' and its WAL (replayed into the copy)' : ''} beside kuzu.db and swap it in atomically`,
    'verify: opens, row counts equal the backup\'s, schema',
  ];
  result.backupRestore = { source, sourceWal, sourceCounts: null, keptCurrentAs: null, movedWal: null };
  try {
    checkHeader(source);
    const inspected = await inWorker<Inspection>(env, target, { op: 'inspect', path: source, store: env.store, deep: true });
    if (!inspected.ok) {
      step(result, 'check backup', false, inspected.error.message);
      result.outcome = 'failed';
      // The hint of the inspection speaks of salvaging a live database; for a backup the way on is another backup.
      result.error = { ...inspected.error, hint: `the current database was not touched; pick another backup or an archive (\`locrit-mem recover ${target.name} --list\`)` };
      result.exitCode = ExitCode.unavailable;
      result.problems.push(`the backup cannot be used: ${inspected.error.message}`);
      suggestFallbacks(env, target, result, [source]);
      return finishTimed(result, started);
    }
    const sourceCounts = inspected.value.counts;
    result.backupRestore.sourceCounts = sourceCounts;
    step(result, 'check backup', true, `opens; ${inspected.value.messages} message(s)${inspected.value.schemaMissing.length ? `; lacks ${inspected.value.schemaMissing.join(', ')}` : ''}`);
    if (await stopBeforeChange(result, target.dbPath, options, ExitCode.ok)) return finishTimed(result, started);
    const lock = acquireRunLock(target.dbPath, 'recover --from-backup');
    try {
      fs.mkdirSync(target.dir, { recursive: true });
      const work = workFolder(target.dbPath, 'restore');
      try {
        const copy = path.join(work, DB_FILE);
        fs.copyFileSync(source, copy);
        if (sourceWal) {
          fs.copyFileSync(sourceWal, `${copy}.wal`);
          const replayed = await inWorker<TableCounts>(env, target, { op: 'replay', path: copy, store: env.store });
          step(result, 'replay backup WAL', replayed.ok, replayed.ok ? 'the backup\'s WAL was replayed into the copy' : replayed.error.message);
          if (!replayed.ok) {
            result.outcome = 'failed';
            result.exitCode = ExitCode.unavailable;
            return finishTimed(result, started);
          }
        }
        const hadDb = fs.existsSync(target.dbPath);
        const swapped = swapIn(target.dbPath, copy, 'pre-restore', env.backupDir);
        result.backupRestore.keptCurrentAs = hadDb ? swapped.dbBackup : null;
        result.backupRestore.movedWal = swapped.walBackup;
        step(result, 'swap', true, `${hadDb ? `current database kept as ${swapped.dbBackup}` : 'there was no current database'}${swapped.walBackup ? `; its WAL moved to ${swapped.walBackup}` : ''}; a copy of ${source} is now ${target.dbPath}`);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
      const verification = await verify(env, target, target.dbPath, sourceCounts, inspected.value.schemaMissing);
      result.verification = verification;
      step(result, 'verify', verification.ok, verification.ok ? 'opens; row counts equal the backup\'s; schema complete' : verification.problems.join('; '));
      result.outcome = verification.ok ? 'restored' : 'failed';
      result.exitCode = verification.ok ? ExitCode.ok : ExitCode.unavailable;
    } finally {
      lock.release();
    }
  } catch (error) {
    result.error = toErrorReport(error);
    result.outcome = 'failed';
    result.exitCode = result.error.exitCode;
    result.problems.push(result.error.message);
  }
  return finishTimed(result, started);
}

function finishTimed(result: LocritRecovery, started: number): LocritRecovery {
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

// ---------------------------------------------------------------- --from-archive

async function fromArchive(env: Env): Promise<LocritRecovery> {
  const { context, options } = env;
  const location = path.resolve(context.cwd, options.fromArchive!);
  if (!fs.existsSync(location)) throw new UsageError(`--from-archive ${options.fromArchive}: ${location} does not exist`, 'pass an archive folder or its manifest.json (`locrit-mem recover --list` shows them)');
  const archive: ArchiveToRestore = await checkArchive(location);
  let target: LocritTarget;
  if (options.locrits.length > 1) throw new UsageError(`--from-archive restores into one Locrit, got ${options.locrits.length}`, 'name one Locrit, or none to use the archive\'s own');
  if (options.locrits.length === 1) target = resolveTargets(options.locrits, context.dataDir, context.cwd)[0];
  else {
    const dir = path.join(context.dataDir, archive.locrit);
    target = { name: archive.locrit, dir, dbPath: path.join(dir, DB_FILE) };
    if (!fs.existsSync(target.dbPath)) {
      throw new DatabaseUnavailableError(`${target.dbPath} does not exist: there is no database to put archive ${archive.folder} back into`, 'missing', `restore a backup first (\`locrit-mem recover ${archive.locrit} --list\`)`);
    }
  }
  const started = performance.now();
  const result = blank(target);
  result.problem = 'requested';
  result.action = 'restore-archive';
  result.plan = [
    `archive ${archive.folder} (${archive.messages} message(s), made ${archive.createdAt}): every file's size and sha256 checked against the manifest`,
    'copy kuzu.db (and any WAL) to a backup (kuzu.db.locrit-mem-restore-archive_<UTC stamp>)',
    `in one transaction: create the archived messages whose id is not in the database, then their ${[...new Set(archive.relationships.map((r) => r.table))].join(', ') || 'relationships'} where both ends exist and no such relationship is there yet`,
    'verify: opens, row counts equal what the restore left, schema',
  ];
  result.archiveRestore = { archive: archive.folder, createdAt: archive.createdAt, checks: archive.checks, dbBackup: null, messages: null, relationships: [] };
  step(result, 'check archive', true, `${archive.checks.length} check(s) passed (sizes and sha256 of every file)`);
  if (archive.locrit !== target.name) result.problems.push(`the archive was made for '${archive.locrit}', restoring into '${target.name}' as asked`);
  if (await stopBeforeChange(result, target.dbPath, options)) return finishTimed(result, started);
  const lock = acquireRunLock(target.dbPath, 'recover --from-archive');
  try {
    checkHeader(target.dbPath);
    const backup = copyBackup(target.dbPath, 'restore-archive', env.backupDir);
    result.archiveRestore.dbBackup = backup.dbBackup;
    step(result, 'backup', true, `kept ${backup.dbBackup}${backup.walBackup ? ` and ${backup.walBackup}` : ''}`);
    const restored = await inWorker<ArchiveRestoreCounts>(env, target, { op: 'restore-archive', path: target.dbPath, store: env.store, archive });
    if (!restored.ok) {
      step(result, 'restore', false, restored.error.message);
      result.error = restored.error;
      result.outcome = 'failed';
      result.exitCode = ExitCode.unavailable;
      return finishTimed(result, started);
    }
    const r = restored.value;
    result.archiveRestore.messages = r.messages;
    result.archiveRestore.relationships = r.relationships;
    step(result, 'restore', true, `${r.messages.created} message(s) put back, ${r.messages.alreadyPresent} already present; ` +
      r.relationships.map((t) => `${t.table} +${t.created}${t.alreadyPresent ? ` (${t.alreadyPresent} present)` : ''}${t.missingEndpoint ? ` (${t.missingEndpoint} without an end)` : ''}`).join(', '));
    // Rows were added, no table: the schema is what it was (an older database may lack some).
    const verification = await verify(env, target, target.dbPath, r.countsAfter, r.schemaMissingBefore);
    result.verification = verification;
    step(result, 'verify', verification.ok, verification.ok ? 'opens; row counts equal what the restore left; schema complete' : verification.problems.join('; '));
    result.outcome = verification.ok ? 'restored' : 'failed';
    result.exitCode = verification.ok ? ExitCode.ok : ExitCode.unavailable;
  } catch (error) {
    result.error = toErrorReport(error);
    result.outcome = 'failed';
    result.exitCode = result.error.exitCode;
    result.problems.push(result.error.message);
  } finally {
    lock.release();
  }
  return finishTimed(result, started);
}

// ---------------------------------------------------------------- --list

async function listAll(env: Env, targets: LocritTarget[]): Promise<LocritRecovery[]> {
  const results: LocritRecovery[] = [];
  for (const target of targets) {
    const started = performance.now();
    const result = blank(target);
    result.problem = 'requested';
    result.action = 'list';
    result.outcome = 'listed';
    const found = fileSizes(target.dbPath, env.backupDir).backups.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    const asTargets = found.map((b): LocritTarget => ({ name: target.name, dir: path.dirname(b.path), dbPath: b.path }));
    const inspected = await runEach<Inspection>('recover', asTargets, { op: 'inspect', path: null, store: env.store } satisfies RecoverTaskPayload, { jobs: env.context.jobs });
    result.backups = found.map((b, i): ListedBackup => {
      const outcome = inspected[i];
      return {
        path: b.path, madeBy: b.madeBy, createdAt: b.createdAt, bytes: b.bytes, walBytes: fs.statSync(`${b.path}.wal`, { throwIfNoEntry: false })?.size ?? null,
        messages: outcome.ok ? outcome.value.messages : null, newestMessageAt: outcome.ok ? outcome.value.newestMessageAt : null,
        readable: outcome.ok, error: outcome.ok ? null : outcome.error.message,
      };
    });
    const archives = listArchives(env.archiveDir, target.name);
    result.archives = [
      ...archives.complete.reverse().map((folder): ListedArchive => {
        try {
          const { manifest } = readManifest(folder);
          return {
            folder, complete: true, createdAt: manifest.createdAt, reason: manifest.reason, rules: manifest.rules.map((r) => r.rule),
            messages: manifest.counts.messages, bytes: manifest.files.reduce((s, f) => s + f.bytes, 0),
            oldest: manifest.timeRange.oldest, newest: manifest.timeRange.newest, error: null,
          };
        } catch (error) {
          return { folder, complete: true, createdAt: null, reason: null, rules: [], messages: null, bytes: 0, oldest: null, newest: null, error: (error as Error).message };
        }
      }),
      ...archives.partial.map((folder): ListedArchive => ({
        folder, complete: false, createdAt: null, reason: null, rules: [], messages: null, bytes: 0, oldest: null, newest: null,
        error: 'incomplete: an interrupted archive run (the next archive run removes it)',
      })),
    ];
    result.durationMs = Math.round(performance.now() - started);
    results.push(result);
  }
  return results;
}
