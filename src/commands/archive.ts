/**
 * `archive` (rules 1 and 2) and the engine `emergency-cleanup` shares with it (rules 3 and 4):
 * retention that never loses a message. The parent resolves targets and assembles the report;
 * retentionTask runs per Locrit in a worker process.
 *
 * One run on one Locrit, in order (phases are reported to the spinner):
 *   lock      our run lock (src/layout/runLock.ts); a database another process holds is refused
 *   resume    an interrupted earlier run is finished or rolled back (src/archive/journal.ts)
 *   plan      rules -> one selection predicate; counts per rule, critical messages spared
 *   export    COPY ... TO Parquet into `<archive>/<locrit>/.<stamp>.partial/`, one chunk of at most
 *             archive.batch_messages messages (consecutive id range) at a time
 *   verify    read the files back: row counts, id digest == the database's, sha256s; manifest
 *   commit    journal written, folder renamed to `<stamp>/` (now a complete archive)
 *   delete    exactly the archived ids, one transaction, count checked; journal removed
 *   strip     (--strip-embeddings) low-priority embeddings set to NULL
 *   compact   rebuild, verify, swap (src/store/compact.ts)
 *
 * Test hook: LOCRIT_MEM_TEST_KILL_AT=<phase> (or `<locrit>:<phase>,<locrit>:<phase>` to pick
 * per Locrit) makes the worker SIGKILL itself at that point, to prove crash safety. Phases:
 * exporting (the first chunk's files written, more chunks to go; only when there are several),
 * exported (files written, no manifest), verified (manifest written, not renamed), committed
 * (archive complete, journal written, nothing deleted), deleting (inside the delete transaction,
 * before COMMIT), deleted (committed, journal still there), compacting (verified copy built,
 * not swapped in). Never set it outside tests.
 *
 * Memory: no table ever passes through the JS heap, and Kuzu's share is bounded by the chunk
 * size, not by the database or the selection. Export is Kuzu's COPY ... TO Parquet, one chunk
 * of at most archive.batch_messages messages per file (Kuzu sorts, so it holds one file's rows
 * in its bounded buffer pool; a pool too small for one chunk fails cleanly before any delete);
 * the id digest and the chunk bounds come from one stream of ids, one row at a time; the delete
 * is ONE transaction driven by the verified Parquet files inside Kuzu, one statement per chunk
 * file (see deleteArchivedIds: several transactions would break the all-or-nothing guarantee,
 * and batching ids through JS would buy nothing since Kuzu scans the files in 2,048-row vectors).
 *
 * Rule 6 (--strip-embeddings) is applied while rebuilding the file (see src/store/compact.ts:
 * Kuzu cannot update an indexed embedding column in place), so it always compacts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  ARCHIVE_FORMAT, ARCHIVE_FORMAT_VERSION, MANIFEST_FILE, listArchives, locritArchiveDir, messageFilesOf, partialFolderName, verifyArchive, writeManifest,
  type ArchiveManifest, type ArchiveReason, type ArchiveRule,
} from '../archive/format.js';
import { readJournal, removeJournal, syncDir, writeJournal, type RunJournal } from '../archive/journal.js';
import { resolveConfigPath } from '../config/load.js';
import type { ConfigNote } from '../config/registry.js';
import { flagSource, type ValueSource } from '../config/sources.js';
import { ExitCode, LocritMemError, worstExitCode, type ErrorReport, type ExitCode as Code, type LockHolder } from '../errors.js';
import { utcStamp } from '../layout/files.js';
import { identify, resolveTargets, type LocritIdentity, type LocritTarget } from '../layout/locrits.js';
import { withRunLock } from '../layout/runLock.js';
import { decideRules, embeddingBytes, mebibytes, ruleParameters, type RetentionCommand, type RetentionSettings, type RuleDecision } from '../policy/retention.js';
import { runEach } from '../runner/pool.js';
import type { TaskContext } from '../runner/tasks.js';
import { explainBufferPoolError, kuzuParquetReader, exportSelection } from '../store/archiveIo.js';
import { checkFreeSpaceForCompaction, compactDatabase, compactionNeedsBytes, compactionPaths, freeBytes, removeCompactionLeftovers, type CompactionResult, type StripInRebuild } from '../store/compact.js';
import { checkHeader } from '../store/header.js';
import { withStore, type KuzuStore } from '../store/kuzu.js';
import {
  buildSelection, countRules, countSpared, countStrip, deleteArchivedIds, deleteSelection, largestSessionAfter, measure, messageCount, stripTarget, type Selection,
} from '../store/retention.js';
import { readSchema, type DatabaseSchema } from '../store/schema.js';
import { embeddingDimension } from '../schema/locrit.js';
import type { StoreSettings } from '../store/settings.js';
import { storeSettings, type CommandContext } from './context.js';
import { REPORT_VERSION, toolInfo, toolVersion, type ToolInfo } from './report.js';

export const KILL_AT_ENV = 'LOCRIT_MEM_TEST_KILL_AT';

export interface RetentionOptions {
  locrits: string[];
  dryRun?: boolean;
  /** Rebuild the file afterwards to give space back (archive: --compact; emergency-cleanup: default). */
  compact?: boolean;
  stripEmbeddings?: boolean;
  /** false = --no-archive: delete without archiving (emergency-cleanup only). */
  archive?: boolean;
  /** Threshold overrides from flags. */
  overrides?: Partial<RetentionSettings>;
}

export interface RuleReport {
  rule: ArchiveRule;
  applies: boolean;
  reason: string;
  parameters: Record<string, string | number | boolean | null>;
  /** Messages this rule selects (a message selected by two rules counts in both). */
  selected: number;
  /** Critical messages this rule would have taken, spared. */
  spared: number;
  /** Stored wall-clock times of the oldest and newest message this rule takes. */
  oldest: string | null;
  newest: string | null;
  detail: Record<string, string | number | null>;
}

export interface LimitOutcome {
  name: 'max_messages_per_locrit' | 'max_db_size_mb' | 'max_messages_per_conversation';
  /** 0 = no limit. Bytes for max_db_size_mb. */
  limit: number;
  before: number;
  /** After the run (predicted by a dry run; the file size is known only after compaction). */
  after: number | null;
  /** Whether the value is within the limit after the run; null when unknown or no limit. */
  met: boolean | null;
  /** Where the limit's value came from (key and file, built-in default, or flag); set in the report, null inside the worker. */
  source?: ValueSource | null;
}

export interface InterruptedRun {
  /** finished: a killed run's archive was complete, its messages are now deleted; rolled-back: its partial archive was removed;
   *  cleaned-up: only leftovers (compaction temp files) were repaired; would-*: the same, in a dry run. */
  action: 'finished' | 'rolled-back' | 'cleaned-up' | 'would-finish' | 'would-roll-back' | 'would-clean-up';
  archive: string | null;
  deleted: number;
  removed: string[];
}

export interface RetentionResult {
  /** done: changes made; planned: dry run; nothing-to-do: no rule selected anything (and nothing else to do). */
  status: 'done' | 'planned' | 'nothing-to-do';
  before: { messages: number; dbBytes: number; walPresent: boolean; largestSession: number };
  after: { messages: number; dbBytes: number | null; largestSession: number };
  rules: RuleReport[];
  /** Messages selected by the rules (union), after sparing critical ones. */
  selected: number;
  archived: number;
  deleted: number;
  /** Critical messages spared (matched by a rule, kept). */
  spared: number;
  oldestAffected: string | null;
  newestAffected: string | null;
  /** Data bytes of the rows that leave plus the embeddings stripped: what the file gives back once compacted (an estimate). */
  expectedBytesBack: number;
  archive: { path: string; files: number; bytes: number; idDigest: string } | null;
  limits: LimitOutcome[];
  embeddings: { stripped: number; bytesFreed: number; dimension: number | null } | null;
  compaction: (Omit<CompactionResult, 'tables' | 'vectorIndexes'> & { tables: number; vectorIndexes: CompactionResult['vectorIndexes'] }) | null;
  /** In a dry run: whether a compaction would run, and the free disk it needs. */
  compactionPlanned: { neededBytes: number; freeBytes: number } | null;
  interrupted: InterruptedRun | null;
}

export interface LocritRetention extends Partial<Omit<RetentionResult, 'status'>>, LocritIdentity {
  /** The folder name; displayName, active and memoryService come from the application's locrits.instances. */
  name: string;
  path: string;
  status: RetentionResult['status'] | 'unavailable';
  inUse: LockHolder | null;
  error: ErrorReport | null;
  durationMs: number;
}

export interface RetentionTotals {
  locrits: number;
  done: number;
  planned: number;
  nothingToDo: number;
  unavailable: number;
  messagesBefore: number;
  messagesAfter: number;
  selected: number;
  archived: number;
  deleted: number;
  spared: number;
  embeddingsStripped: number;
  expectedBytesBack: number;
  dbBytesBefore: number;
  dbBytesAfter: number;
  limitsUnmet: number;
}

export interface RetentionReport {
  version: typeof REPORT_VERSION;
  command: RetentionCommand;
  tool: ToolInfo;
  generatedAt: string;
  dataDir: string;
  configFile: string | null;
  archiveDir: string;
  dryRun: boolean;
  options: { compact: boolean; stripEmbeddings: boolean; archive: boolean };
  settings: RetentionSettings;
  /** Where each setting's value came from: key and file, built-in default, or flag. */
  settingSources: Record<keyof RetentionSettings, ValueSource>;
  /** Info-level notes on the configuration and the application's Locrit registry. */
  configNotes: ConfigNote[];
  locrits: LocritRetention[];
  total: RetentionTotals;
  exitCode: Code;
}

interface RetentionPayload {
  command: RetentionCommand;
  settings: RetentionSettings;
  nowMs: number;
  dryRun: boolean;
  compact: boolean;
  strip: boolean;
  archive: boolean;
  archiveRoot: string;
  /** Messages per archive chunk (archive.batch_messages). */
  batchMessages: number;
  backupDir: string | null;
  backupKeep: number;
  store: StoreSettings;
}

/** The thresholds from the configuration, with flag overrides. */
export function retentionSettings(context: CommandContext, overrides: Partial<RetentionSettings> = {}): RetentionSettings {
  const { memory, retention } = context.config.values;
  return {
    archiveAfterDays: memory.archive_after_days,
    keepCount: retention.keep_count,
    maxMessagesPerConversation: memory.max_messages_per_conversation,
    maxMessagesPerLocrit: memory.max_messages_per_locrit,
    maxDbSizeMb: memory.max_db_size_mb,
    emergencyFraction: retention.emergency_fraction,
    emergencyDaysOld: retention.emergency_days_old,
    emergencyKeepCount: retention.emergency_keep_count,
    protectCritical: retention.protect_critical,
    criticalPatterns: [...retention.critical_patterns],
    lowPriorityMaxChars: retention.low_priority_max_chars,
    enableEmbeddings: memory.enable_embeddings,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
}

/** The configuration key, and the flag that overrides it, behind each retention setting. */
const SETTING_ORIGINS: Record<keyof RetentionSettings, { key: string; flag?: string }> = {
  archiveAfterDays: { key: 'memory.archive_after_days', flag: '--days' },
  keepCount: { key: 'retention.keep_count', flag: '--keep' },
  maxMessagesPerConversation: { key: 'memory.max_messages_per_conversation', flag: '--max-per-conversation' },
  maxMessagesPerLocrit: { key: 'memory.max_messages_per_locrit', flag: '--max-messages' },
  maxDbSizeMb: { key: 'memory.max_db_size_mb', flag: '--max-size-mb' },
  emergencyFraction: { key: 'retention.emergency_fraction', flag: '--fraction' },
  emergencyDaysOld: { key: 'retention.emergency_days_old' },
  emergencyKeepCount: { key: 'retention.emergency_keep_count' },
  protectCritical: { key: 'retention.protect_critical', flag: '--include-critical' },
  criticalPatterns: { key: 'retention.critical_patterns' },
  lowPriorityMaxChars: { key: 'retention.low_priority_max_chars' },
  enableEmbeddings: { key: 'memory.enable_embeddings' },
};

/** Where each retention setting came from: a flag that overrode it, else the configuration's source. */
export function retentionSettingSources(context: CommandContext, overrides: Partial<RetentionSettings> = {}): Record<keyof RetentionSettings, ValueSource> {
  const sources = {} as Record<keyof RetentionSettings, ValueSource>;
  for (const [name, origin] of Object.entries(SETTING_ORIGINS) as [keyof RetentionSettings, { key: string; flag?: string }][]) {
    sources[name] = overrides[name] !== undefined ? flagSource(origin.flag ?? 'a command-line flag') : context.config.sources[origin.key];
  }
  return sources;
}

const LIMIT_SETTINGS: Record<LimitOutcome['name'], keyof RetentionSettings> = {
  max_messages_per_locrit: 'maxMessagesPerLocrit',
  max_db_size_mb: 'maxDbSizeMb',
  max_messages_per_conversation: 'maxMessagesPerConversation',
};

export function archiveRoot(context: CommandContext): string {
  return resolveConfigPath(context.config, context.config.values.archive.dir);
}

export async function runArchive(context: CommandContext, options: RetentionOptions): Promise<RetentionReport> {
  return runRetention(context, 'archive', options);
}

export async function runRetention(context: CommandContext, command: RetentionCommand, options: RetentionOptions): Promise<RetentionReport> {
  const targets = resolveTargets(options.locrits, context.dataDir, context.cwd);
  if (targets.length === 0) context.reporter.warn(`no Locrit databases under ${context.dataDir}`);
  const settings = retentionSettings(context, options.overrides);
  const backupDir = context.config.values.backup.dir;
  const payload: RetentionPayload = {
    command,
    settings,
    nowMs: context.now.getTime(),
    dryRun: Boolean(options.dryRun),
    compact: Boolean(options.compact),
    strip: Boolean(options.stripEmbeddings),
    archive: options.archive !== false,
    archiveRoot: archiveRoot(context),
    batchMessages: context.config.values.archive.batch_messages,
    backupDir: backupDir === null ? null : resolveConfigPath(context.config, backupDir),
    backupKeep: context.config.values.backup.keep,
    store: storeSettings(context),
  };
  const outcomes = await runEach<RetentionResult>('retention', targets, payload, {
    jobs: context.jobs,
    onProgress: (target, phase) => context.reporter.phase(`${target.name}: ${phase}`),
  });
  context.reporter.done();
  const settingSources = retentionSettingSources(context, options.overrides);
  const locrits = outcomes.map((outcome): LocritRetention => {
    const base = { name: outcome.target.name, ...identify(context.config.registry, outcome.target.name), path: outcome.target.dbPath, durationMs: outcome.durationMs };
    if (!outcome.ok) return { ...base, status: 'unavailable', inUse: outcome.error.holder, error: outcome.error };
    const limits = outcome.value.limits.map((limit) => ({ ...limit, source: settingSources[LIMIT_SETTINGS[limit.name]] }));
    return { ...base, ...outcome.value, limits, inUse: null, error: null };
  });
  const unmet = (l: LocritRetention): boolean => command === 'emergency-cleanup' && (l.limits ?? []).some((x) => x.met === false && x.name !== 'max_messages_per_conversation');
  const exitCode = worstExitCode(locrits.map((l) => (l.error ? l.error.exitCode : unmet(l) ? ExitCode.findings : ExitCode.ok)));
  return {
    version: REPORT_VERSION,
    command,
    tool: toolInfo(),
    generatedAt: context.now.toISOString(),
    dataDir: context.dataDir,
    configFile: context.config.source,
    archiveDir: payload.archiveRoot,
    dryRun: payload.dryRun,
    options: { compact: payload.compact, stripEmbeddings: payload.strip, archive: payload.archive },
    settings,
    settingSources,
    configNotes: context.notes,
    locrits,
    total: totals(locrits),
    exitCode,
  };
}

function totals(locrits: LocritRetention[]): RetentionTotals {
  const t: RetentionTotals = {
    locrits: locrits.length, done: 0, planned: 0, nothingToDo: 0, unavailable: 0, messagesBefore: 0, messagesAfter: 0, selected: 0, archived: 0,
    deleted: 0, spared: 0, embeddingsStripped: 0, expectedBytesBack: 0, dbBytesBefore: 0, dbBytesAfter: 0, limitsUnmet: 0,
  };
  for (const l of locrits) {
    if (l.status === 'done') t.done++;
    if (l.status === 'planned') t.planned++;
    if (l.status === 'nothing-to-do') t.nothingToDo++;
    if (l.status === 'unavailable') {
      t.unavailable++;
      continue;
    }
    t.messagesBefore += l.before?.messages ?? 0;
    t.messagesAfter += l.after?.messages ?? 0;
    t.selected += l.selected ?? 0;
    t.archived += l.archived ?? 0;
    t.deleted += l.deleted ?? 0;
    t.spared += l.spared ?? 0;
    t.embeddingsStripped += l.embeddings?.stripped ?? 0;
    t.expectedBytesBack += l.expectedBytesBack ?? 0;
    t.dbBytesBefore += l.before?.dbBytes ?? 0;
    t.dbBytesAfter += l.after?.dbBytes ?? l.before?.dbBytes ?? 0;
    t.limitsUnmet += (l.limits ?? []).filter((x) => x.met === false).length;
  }
  return t;
}

// ================================================================ the worker side

/** The test hook: `<phase>` kills at that phase on every Locrit, `<locrit>:<phase>,...` per Locrit. */
let currentLocrit = '';
function killPoint(phase: string): void {
  const spec = process.env[KILL_AT_ENV];
  if (!spec) return;
  for (const item of spec.split(',')) {
    const [who, what] = item.includes(':') ? item.split(':') : ['', item];
    if (what === phase && (who === '' || who === currentLocrit)) process.kill(process.pid, 'SIGKILL');
  }
}

function sizeOf(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/**
 * Buffer pool of the archive worker, at most: 128 MiB per 10,000 messages of
 * archive.batch_messages (never less than 128 MiB), and never more than kuzu.buffer_pool_mb.
 * Archiving scans the whole Message table once per chunk file, and Kuzu keeps every page it
 * read in its pool until the pool is full, so a bigger pool only holds pages that are not read
 * again; what must fit is one chunk's sort (10,000 messages with 768-float embeddings: ~40 MiB)
 * and the delete transaction. Measured on 200,000 messages archiving 96,005: peak RSS of the
 * whole run 520 MB with a 256 MiB pool, 430 MB with 128 MiB; one chunk's COPY took 0.87 s with either.
 */
export const ARCHIVE_POOL_MB_PER_10K = 128;

export function archivePoolMb(configuredMb: number, batchMessages: number): number {
  return Math.min(configuredMb, Math.max(ARCHIVE_POOL_MB_PER_10K, Math.ceil((ARCHIVE_POOL_MB_PER_10K * batchMessages) / 10_000)));
}

/** Runs `work` with the archive pool; if Kuzu runs out of it, once more with the whole kuzu.buffer_pool_mb. */
async function withArchivePool<T>(payload: RetentionPayload, work: (settings: StoreSettings) => Promise<T>): Promise<T> {
  const small = archivePoolMb(payload.store.bufferPoolMb, payload.batchMessages);
  try {
    return await work({ ...payload.store, bufferPoolMb: small });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (small < payload.store.bufferPoolMb && /buffer pool|Unable to allocate memory/i.test(message)) return work(payload.store);
    throw error;
  }
}

/** Per-Locrit work, in a worker process. */
export async function retentionTask(target: LocritTarget, payload: RetentionPayload, task: TaskContext): Promise<RetentionResult> {
  currentLocrit = target.name;
  checkHeader(target.dbPath);
  if (payload.dryRun) {
    task.progress('planning (dry run)');
    return withArchivePool(payload, (settings) => withStore(target.dbPath, { readOnly: true, ...settings }, (store) => plan(store, target, payload, task)));
  }
  task.progress('waiting for the run lock');
  return withRunLock(target.dbPath, payload.command, async () => {
    const pending =
      readJournal(target.dbPath) !== null ||
      listArchives(payload.archiveRoot, target.name).partial.length > 0 ||
      Object.values(compactionPaths(target.dbPath)).some((p) => fs.existsSync(p));
    if (!pending) {
      task.progress('planning (read-only)');
      // A read-write open rewrites the file even when nothing changes: look first, read-only,
      // so that a Locrit with nothing to do is left byte for byte as it was.
      const preview = await withArchivePool(payload, (settings) => withStore(target.dbPath, { readOnly: true, ...settings }, (store) => plan(store, target, payload, task)));
      if (preview.status === 'nothing-to-do') return { ...preview, after: { ...preview.after, dbBytes: preview.before.dbBytes } };
    }
    const leftovers = removeCompactionLeftovers(target.dbPath);
    // A retry with the full pool (see withArchivePool) starts with resume(): it finishes or rolls back what the first try left.
    let result = await withArchivePool(payload, (settings) => withStore(target.dbPath, { readOnly: false, ...settings }, async (store) => {
      const interrupted = await resume(store, target, payload, leftovers, task);
      if (interrupted?.action === 'finished') {
        // The rerun's job is to finish the killed run, not to apply the rules a second time.
        const messages = await messageCount(store);
        return emptyResult('done', { messages, dbBytes: sizeOf(target.dbPath), walPresent: false, largestSession: 0 }, interrupted, messages);
      }
      return apply(store, target, payload, interrupted, task);
    }));
    // Stripping embeddings is done by the rebuild, so it compacts even without --compact.
    const compactNow =
      (result.embeddings?.stripped ?? 0) > 0 ||
      (payload.compact && (result.deleted > 0 || result.interrupted?.action === 'finished' || (payload.command === 'emergency-cleanup' && result.rules.some((r) => r.applies))));
    if (compactNow) {
      task.progress('compacting');
      const compaction = await compactDatabase(target.dbPath, {
        ...payload.store,
        backupDir: payload.backupDir,
        keep: payload.backupKeep,
        progress: (phase) => task.progress(phase),
        beforeSwap: () => killPoint('compacting'),
        strip: payload.strip && (result.embeddings?.stripped ?? 0) > 0 ? stripInRebuild(payload.settings) : undefined,
      });
      const { tables, ...rest } = compaction;
      result = { ...result, status: 'done', compaction: { ...rest, tables: tables.length } };
      if (result.embeddings) {
        result.embeddings = { ...result.embeddings, stripped: compaction.embeddingsStripped, bytesFreed: embeddingBytes(compaction.embeddingsStripped, result.embeddings.dimension) };
      }
    }
    result.after.dbBytes = sizeOf(target.dbPath);
    const sizeLimit = result.limits.find((l) => l.name === 'max_db_size_mb');
    if (sizeLimit) {
      sizeLimit.after = result.after.dbBytes;
      sizeLimit.met = sizeLimit.limit > 0 ? result.after.dbBytes <= sizeLimit.limit : null;
    }
    return result;
  });
}

/** Rule 6 over the exported Message columns: all embeddings when enable_embeddings is false, else system and short messages. */
function stripInRebuild(settings: RetentionSettings): StripInRebuild {
  if (!settings.enableEmbeddings) return { where: () => 'true', params: {} };
  return { where: (c) => `(${c('role')} = 'system' OR size(coalesce(${c('content')}, '')) <= $strip_max)`, params: { strip_max: settings.lowPriorityMaxChars } };
}

function emptyResult(status: RetentionResult['status'], before: RetentionResult['before'], interrupted: InterruptedRun | null, messages: number): RetentionResult {
  return {
    status, before, after: { messages, dbBytes: null, largestSession: before.largestSession }, rules: [], selected: 0, archived: 0, deleted: interrupted?.deleted ?? 0,
    spared: 0, oldestAffected: null, newestAffected: null, expectedBytesBack: 0, archive: interrupted?.archive ? { path: interrupted.archive, files: 0, bytes: 0, idDigest: '' } : null,
    limits: [], embeddings: null, compaction: null, compactionPlanned: null, interrupted,
  };
}

/** Finishes or rolls back what a killed run left (journal, .partial folders, compaction leftovers). */
async function resume(store: KuzuStore, target: LocritTarget, payload: RetentionPayload, leftovers: string[], task: TaskContext): Promise<InterruptedRun | null> {
  const journal = readJournal(target.dbPath);
  const partials = listArchives(payload.archiveRoot, target.name).partial;
  if (!journal && partials.length === 0 && leftovers.length === 0) return null;
  task.progress('resuming an interrupted run');
  const report: InterruptedRun = { action: 'cleaned-up', archive: null, deleted: 0, removed: [...leftovers] };
  if (journal) {
    if (journal.archive && fs.existsSync(path.join(journal.archive, MANIFEST_FILE))) {
      const verification = await verifyArchive(journal.archive, kuzuParquetReader(store));
      if (!verification.ok) {
        const failed = verification.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ');
        throw new LocritMemError(
          `an interrupted run left ${journal.archive}, which fails verification (${failed}); nothing was deleted`,
          ExitCode.unavailable,
          `inspect it; remove ${path.basename(journal.archive)} and ${path.basename(target.dbPath)}.locrit-mem-journal.json only if its messages are all still in the database`,
        );
      }
      task.progress('finishing the interrupted run: deleting what it archived');
      report.deleted = await deleteArchivedIds(store, messageFilesOf(journal.archive), 'present');
      report.action = 'finished';
      report.archive = journal.archive;
    } else if (journal.archive) {
      report.action = 'rolled-back';
    }
    if (journal.partial && fs.existsSync(journal.partial)) {
      fs.rmSync(journal.partial, { recursive: true, force: true });
      report.removed.push(journal.partial);
    }
    removeJournal(target.dbPath);
  }
  for (const partial of partials) {
    if (!fs.existsSync(partial)) continue;
    fs.rmSync(partial, { recursive: true, force: true });
    report.removed.push(partial);
    if (report.action === 'cleaned-up') report.action = 'rolled-back';
  }
  return report;
}

interface Planned {
  schema: DatabaseSchema;
  decisions: RuleDecision[];
  selection: Selection;
  rules: RuleReport[];
  before: RetentionResult['before'];
  union: Awaited<ReturnType<typeof measure>>;
  spared: number;
  largestAfter: number;
  dimension: number | null;
  strip: { target: ReturnType<typeof stripTarget>; count: number } | null;
}

async function planOn(store: KuzuStore, target: LocritTarget, payload: RetentionPayload): Promise<Planned> {
  try {
    return await planQueries(store, target, payload);
  } catch (error) {
    throw explainBufferPoolError(error, `planning ${target.name}`, 'nothing was changed');
  }
}

async function planQueries(store: KuzuStore, target: LocritTarget, payload: RetentionPayload): Promise<Planned> {
  const schema = await readSchema(store);
  if (!schema.tables.Message) throw new LocritMemError(`${target.dbPath} has no Message table: nothing to archive`, ExitCode.unavailable, 'check that this is a Locrit database (`locrit-mem validate`)');
  const messages = await messageCount(store);
  const dbBytes = sizeOf(target.dbPath);
  const decisions = decideRules(payload.command, { messages, dbBytes }, payload.settings, new Date(payload.nowMs));
  const selection = await buildSelection(store, schema, decisions, { protectCritical: payload.settings.protectCritical, criticalPatterns: payload.settings.criticalPatterns });
  const counts = await countRules(store, selection);
  const rules: RuleReport[] = decisions.map((d) => {
    const sel = selection.rules.find((r) => r.rule === d.rule);
    const count = counts.find((c) => c.rule === d.rule);
    return {
      rule: d.rule, applies: d.applies, reason: d.reason, parameters: d.plan ? ruleParameters(d.plan) : {},
      selected: count?.selected ?? 0, spared: count?.spared ?? 0, oldest: count?.oldest ?? null, newest: count?.newest ?? null, detail: sel?.detail ?? {},
    };
  });
  const type = schema.tables.Message.columns.find((c) => c.name === 'content_embedding')?.type;
  const dimension = type ? embeddingDimension(type) : null;
  const union = await measure(store, schema, selection.selected('m'), selection.params, dimension);
  const spared = await countSpared(store, selection);
  const hasSessions = Boolean(schema.tables.PART_OF && schema.tables.Session);
  const largestBefore = hasSessions ? await largestSessionAfter(store, { ...selection, selected: () => 'false' }) : 0;
  const largestAfter = hasSessions ? await largestSessionAfter(store, selection) : 0;
  let strip: Planned['strip'] = null;
  if (payload.strip && dimension !== null) {
    const stripWhat = stripTarget({ all: !payload.settings.enableEmbeddings, maxChars: payload.settings.lowPriorityMaxChars });
    // Only the messages that stay: the leaving ones take their embedding to the archive.
    const staying = { predicate: (v: string) => `(${stripWhat.predicate(v)} AND NOT ${selection.selected(v)})`, params: { ...stripWhat.params, ...selection.params } };
    strip = { target: staying, count: await countStrip(store, staying) };
  }
  return {
    schema, decisions, selection, rules, union, spared, largestAfter, dimension, strip,
    before: { messages, dbBytes, walPresent: fs.existsSync(`${target.dbPath}.wal`), largestSession: largestBefore },
  };
}

function limitOutcomes(p: Planned, settings: RetentionSettings, afterMessages: number, afterLargest: number): LimitOutcome[] {
  const out: LimitOutcome[] = [];
  const push = (name: LimitOutcome['name'], limit: number, before: number, after: number | null): void => {
    out.push({ name, limit, before, after, met: limit > 0 && after !== null ? after <= limit : null });
  };
  push('max_messages_per_locrit', settings.maxMessagesPerLocrit, p.before.messages, afterMessages);
  push('max_db_size_mb', mebibytes(settings.maxDbSizeMb), p.before.dbBytes, null);
  push('max_messages_per_conversation', settings.maxMessagesPerConversation, p.before.largestSession, afterLargest);
  return out;
}

/** Dry run: the exact plan, from a read-only open. Changes nothing. */
async function plan(store: KuzuStore, target: LocritTarget, payload: RetentionPayload, task: TaskContext): Promise<RetentionResult> {
  const p = await planOn(store, target, payload);
  task.progress('planned');
  const journal = readJournal(target.dbPath);
  const partials = listArchives(payload.archiveRoot, target.name).partial;
  const leftovers = [compactionPaths(target.dbPath).tmpDb, compactionPaths(target.dbPath).exportDir].filter((f) => fs.existsSync(f));
  const interrupted: InterruptedRun | null =
    journal || partials.length || leftovers.length
      ? {
          action: journal?.archive && fs.existsSync(path.join(journal.archive, MANIFEST_FILE)) ? 'would-finish' : journal || partials.length ? 'would-roll-back' : 'would-clean-up',
          archive: journal?.archive ?? null, deleted: 0, removed: [...partials, ...leftovers],
        }
      : null;
  const stripped = p.strip?.count ?? 0;
  const afterMessages = p.before.messages - p.union.messages;
  const somethingToDo = p.union.messages > 0 || stripped > 0;
  const compactWould = stripped > 0 || (payload.compact && (somethingToDo || (payload.command === 'emergency-cleanup' && p.rules.some((r) => r.applies))));
  const p2 = { ...p };
  const limits = limitOutcomes(p2, payload.settings, afterMessages, p.largestAfter);
  if (!compactWould) {
    // Without a rebuild the file keeps its size (deleted pages are only reused).
    const size = limits.find((l) => l.name === 'max_db_size_mb')!;
    size.after = p.before.dbBytes;
    size.met = size.limit > 0 ? size.after <= size.limit : null;
  }
  return {
    status: somethingToDo || compactWould || interrupted ? 'planned' : 'nothing-to-do',
    before: p.before,
    after: { messages: afterMessages, dbBytes: compactWould ? null : p.before.dbBytes, largestSession: p.largestAfter },
    rules: p.rules,
    selected: p.union.messages,
    archived: 0,
    deleted: 0,
    spared: p.spared,
    oldestAffected: p.union.oldest,
    newestAffected: p.union.newest,
    expectedBytesBack: p.union.dataBytes + embeddingBytes(stripped, p.dimension),
    archive: null,
    limits,
    embeddings: payload.strip ? { stripped, bytesFreed: embeddingBytes(stripped, p.dimension), dimension: p.dimension } : null,
    compaction: null,
    compactionPlanned: compactWould ? { neededBytes: compactionNeedsBytes(p.before.dbBytes), freeBytes: freeBytes(path.dirname(target.dbPath)) } : null,
    interrupted,
  };
}

/** A real run on an open read-write store. */
async function apply(store: KuzuStore, target: LocritTarget, payload: RetentionPayload, interrupted: InterruptedRun | null, task: TaskContext): Promise<RetentionResult> {
  task.progress('planning');
  const p = await planOn(store, target, payload);
  const stripCount = p.strip?.count ?? 0;
  const willCompact = stripCount > 0 || (payload.compact && (p.union.messages > 0 || (payload.command === 'emergency-cleanup' && p.rules.some((r) => r.applies))));
  if (willCompact) checkFreeSpaceForCompaction(target.dbPath); // refuse before changing anything

  let archive: RetentionResult['archive'] = null;
  let deleted = 0;
  if (p.union.messages > 0) {
    if (payload.archive) {
      const written = await writeArchive(store, target, payload, p, task);
      archive = written.archive;
      task.progress('deleting the archived messages');
      deleted = await deleteArchivedIds(store, messageFilesOf(written.archive.path), p.union.messages, () => killPoint('deleting'));
      killPoint('deleted');
      removeJournal(target.dbPath);
    } else {
      task.progress('deleting (no archive)');
      deleted = await deleteSelection(store, p.selection, p.union.messages, () => killPoint('deleting'));
    }
  }

  // Rule 6 happens in the rebuild (see StripInRebuild in src/store/compact.ts): the count here is the plan.
  const embeddings: RetentionResult['embeddings'] = payload.strip ? { stripped: stripCount, bytesFreed: embeddingBytes(stripCount, p.dimension), dimension: p.dimension } : null;

  const afterMessages = await messageCount(store);
  const largestAfter = p.schema.tables.PART_OF && p.schema.tables.Session ? await largestSessionAfter(store, { ...p.selection, selected: () => 'false' }) : 0;
  const changed = deleted > 0;
  return {
    status: changed || willCompact || interrupted ? 'done' : 'nothing-to-do',
    before: p.before,
    after: { messages: afterMessages, dbBytes: null, largestSession: largestAfter },
    rules: p.rules,
    selected: p.union.messages,
    archived: archive ? p.union.messages : 0,
    deleted,
    spared: p.spared,
    oldestAffected: p.union.oldest,
    newestAffected: p.union.newest,
    expectedBytesBack: p.union.dataBytes + embeddingBytes(stripCount, p.dimension),
    archive,
    limits: limitOutcomes(p, payload.settings, afterMessages, largestAfter),
    embeddings,
    compaction: null,
    compactionPlanned: null,
    interrupted,
  };
}

function journalFor(payload: RetentionPayload, archive: string | null, partial: string | null, messages: number, idDigest: string | null): RunJournal {
  return { runId: crypto.randomUUID(), command: payload.command, pid: process.pid, startedAt: new Date().toISOString(), archive, partial, messages, idDigest };
}

/** export -> verify -> manifest -> journal -> rename: returns a complete, verified archive. */
async function writeArchive(
  store: KuzuStore,
  target: LocritTarget,
  payload: RetentionPayload,
  p: Planned,
  task: TaskContext,
): Promise<{ archive: NonNullable<RetentionResult['archive']> }> {
  const root = locritArchiveDir(payload.archiveRoot, target.name);
  fs.mkdirSync(root, { recursive: true });
  let stamp = utcStamp(new Date());
  for (let i = 1; fs.existsSync(path.join(root, stamp)) || fs.existsSync(path.join(root, partialFolderName(stamp))); i++) stamp = `${utcStamp(new Date())}-${i}`;
  const finalDir = path.join(root, stamp);
  const partial = path.join(root, partialFolderName(stamp));
  const runId = crypto.randomUUID();

  task.progress('archiving: writing Parquet files');
  let exported: Awaited<ReturnType<typeof exportSelection>>;
  try {
    exported = await exportSelection(store, p.schema, p.selection, partial, {
      batchMessages: payload.batchMessages,
      onFile: (name) => task.progress(`archiving: wrote ${name}`),
      onChunk: (chunk, chunks) => {
        if (chunk === 1 && chunks > 1) killPoint('exporting');
      },
    });
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw explainBufferPoolError(error, `archiving ${p.union.messages} messages of ${target.name}`);
  }
  killPoint('exported');
  if (exported.idCount !== p.union.messages) throw new Error(`the export holds ${exported.idCount} messages, the plan ${p.union.messages}; nothing was deleted`);

  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    formatVersion: ARCHIVE_FORMAT_VERSION,
    tool: { name: 'locrit-mem', version: toolVersion() },
    createdAt: new Date().toISOString(),
    runId,
    reason: payload.command as ArchiveReason,
    locrit: target.name,
    sourceDb: target.dbPath,
    rules: p.rules.filter((r) => r.applies).map((r) => ({ rule: r.rule, parameters: r.parameters, messages: r.selected })),
    counts: { messages: p.union.messages, messagesWithEmbedding: p.union.withEmbedding, relationships: exported.relationships },
    timeRange: { oldest: p.union.oldest, newest: p.union.newest },
    embeddingDimension: p.dimension,
    chunking: exported.chunking,
    files: exported.files,
    idDigest: { algorithm: 'sha256', of: 'sorted message ids, each followed by \\n', count: exported.idCount, value: exported.idDigest },
  };
  writeManifest(partial, manifest);

  // Read back: sha256 of every file, row counts, and the id digest recomputed from the Parquet file
  // must equal the one computed from the database.
  task.progress('archiving: verifying the archive');
  const verification = await verifyArchive(partial, kuzuParquetReader(store));
  if (!verification.ok) {
    const failed = verification.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ');
    fs.rmSync(partial, { recursive: true, force: true });
    throw new LocritMemError(`the archive written for ${target.name} failed its read-back check (${failed}); nothing was deleted`, ExitCode.unavailable, 'check the disk under archive.dir and rerun');
  }
  killPoint('verified');
  writeJournal(target.dbPath, { ...journalFor(payload, finalDir, partial, p.union.messages, exported.idDigest), runId });
  fs.renameSync(partial, finalDir);
  syncDir(root);
  killPoint('committed');
  const bytes = exported.files.reduce((sum, f) => sum + f.bytes, 0) + sizeOf(path.join(finalDir, MANIFEST_FILE));
  return { archive: { path: finalDir, files: exported.files.length + 1, bytes, idDigest: exported.idDigest } };
}
