/**
 * `archive` and `emergency-cleanup`: retention that never loses a message. This file resolves
 * the targets and thresholds, runs the retention engine (src/retention/) per Locrit in worker
 * processes, and assembles the report. `archive` applies the age and conversation-size rules;
 * `emergency-cleanup` (src/commands/emergency-cleanup.ts) the emergency rules, and compacts by default.
 */
import fs from 'node:fs';
import type { ConfigNote } from '../config/registry.js';
import { flagSource, type ValueSource } from '../config/sources.js';
import { ExitCode, worstExitCode, type ErrorReport, type ExitCode as Code, type LockHolder } from '../errors.js';
import { fileSizes } from '../layout/files.js';
import { identify, resolveTargets, type LocritIdentity } from '../layout/locrits.js';
import type { RetentionCommand, RetentionSettings } from '../policy/retentionRules.js';
import type { LimitOutcome, RetentionJob, RetentionResult } from '../retention/types.js';
import { runEach } from '../runner/pool.js';
import { dataLocations, storeSettings, type CommandContext } from './context.js';
import { REPORT_VERSION, toolInfo, type ToolInfo } from './report.js';


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
  /** When a process holds a database, wait up to this many seconds for it to let go (--wait). */
  waitSeconds?: number;
}

export interface LocritRetention extends Partial<Omit<RetentionResult, 'status'>>, LocritIdentity {
  /** The folder name; displayName, active and memoryService come from the application's locrits.instances. */
  name: string;
  path: string;
  status: RetentionResult['status'] | 'unavailable';
  inUse: LockHolder | null;
  error: ErrorReport | null;
  durationMs: number;
  /** Disk this Locrit takes beside its folder: kuzu.db, its WAL and every backup (the application's and ours), before and after the run. */
  disk?: { before: number; after: number };
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
  /** kuzu.db, WALs and backups of every Locrit, before and after the run: what a run really added or gave back (backups included). */
  diskBefore: number;
  diskAfter: number;
  /** Bytes of the archives this run wrote. */
  archiveBytes: number;
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
  return dataLocations(context).archiveDir;
}

export async function runArchive(context: CommandContext, options: RetentionOptions): Promise<RetentionReport> {
  return runRetention(context, 'archive', options);
}

export async function runRetention(context: CommandContext, command: RetentionCommand, options: RetentionOptions): Promise<RetentionReport> {
  const targets = resolveTargets(options.locrits, context.dataDir, context.cwd, context.config.registry);
  if (targets.length === 0) context.reporter.warn(`no Locrit databases under ${context.dataDir}`);
  const settings = retentionSettings(context, options.overrides);
  const { backupDir } = dataLocations(context);
  const payload: RetentionJob = {
    command,
    settings,
    nowMs: context.now.getTime(),
    dryRun: Boolean(options.dryRun),
    compact: Boolean(options.compact),
    strip: Boolean(options.stripEmbeddings),
    archive: options.archive !== false,
    archiveRoot: archiveRoot(context),
    batchMessages: context.config.values.archive.batch_messages,
    backupDir,
    backupKeep: context.config.values.backup.keep,
    store: storeSettings(context),
    waitSeconds: options.waitSeconds,
  };
  const diskOf = (dbPath: string): number => {
    const sizes = fileSizes(dbPath, backupDir);
    return (sizes.dbBytes ?? 0) + (sizes.walBytes ?? 0) + sizes.backups.reduce((sum, b) => sum + b.bytes + (fs.statSync(`${b.path}.wal`, { throwIfNoEntry: false })?.size ?? 0), 0);
  };
  const diskBefore = new Map(targets.map((t) => [t.dbPath, diskOf(t.dbPath)]));
  const outcomes = await runEach('retention', targets, payload, {
    jobs: context.jobs,
    knobs: context.knobs,
    onProgress: (target, phase) => context.reporter.phase(`${target.name}: ${phase}`),
  });
  context.reporter.done();
  const settingSources = retentionSettingSources(context, options.overrides);
  const locrits = outcomes.map((outcome): LocritRetention => {
    const disk = { before: diskBefore.get(outcome.target.dbPath) ?? 0, after: diskOf(outcome.target.dbPath) };
    const base = { name: outcome.target.name, ...identify(context.config.registry, outcome.target.name), path: outcome.target.dbPath, durationMs: outcome.durationMs, disk };
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
    deleted: 0, spared: 0, embeddingsStripped: 0, expectedBytesBack: 0, dbBytesBefore: 0, dbBytesAfter: 0, limitsUnmet: 0, diskBefore: 0, diskAfter: 0, archiveBytes: 0,
  };
  for (const l of locrits) {
    t.diskBefore += l.disk?.before ?? 0;
    t.diskAfter += l.disk?.after ?? 0;
    t.archiveBytes += l.archive?.bytes ?? 0;
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
