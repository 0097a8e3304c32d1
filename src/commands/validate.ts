/**
 * Longer than a command file should be: it still holds the worker side of validate (validateTask
 * and the --fix repair it runs) beside the assembly of the report; they share the report's types.
 *
 * `validate`: checks each Locrit database against the integrity rules (src/policy/integrityRules.ts),
 * read-only; `--deep` also reads every column of every row; `--fix` quarantines invalid messages
 * into an archive and repairs what is safe. The parent resolves targets, checks the files beside
 * each database, and assembles the report; validateTask runs per Locrit in a worker process, so
 * a native crash inside Kuzu ends only that Locrit's check ("database damaged").
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, DatabaseUnavailableError, ExitCode, LocritMemError, toErrorReport, worstExitCode, type ErrorReport, type ExitCode as Code, type LockHolder } from '../errors.js';
import { scanResets, type ResetScan } from '../recover/resets.js';
import { readLossMarker, type LossMarker } from '../layout/lossMarker.js';
import { fileSizes } from '../layout/files.js';
import type { LocritIdentity, LocritTarget } from '../layout/locrits.js';
import { acquireRunLock } from '../layout/runLock.js';
import { lookupUser, permissionFacts } from '../layout/ownership.js';
import { locritArchiveDir } from '../archive/format.js';
import { assertSameDatabase, noteDatabaseIdentity } from '../layout/sameDatabase.js';
import { waitUntilFree } from '../store/locks.js';
import {
  checkDeepScan,
  checkFile,
  checkPermissions,
  checkLimits,
  checkMessages,
  checkSchema,
  duplicateCopies,
  emptyFixPlan,
  failsRun,
  FindingCollector,
  FixPlanBuilder,
  MASS_RULES,
  mergeFindings,
  messageCapabilities,
  RULES,
  severityCounts,
  worstSeverity,
  type Finding,
  type FixPlan,
  type MessageRuleSettings,
  type RuleDef,
  type Severity,
} from '../policy/integrityRules.js';
import { formatWallClock, instantToWallClock } from '../policy/time.js';
import { runEach, type TaskOutcome } from '../runner/pool.js';
import type { TaskContext } from '../runner/protocol.js';
import { checkHeader } from '../store/header.js';
import { deepScan, type TableScan } from '../store/deepScan.js';
import { countMassRules, duplicateGroups, readGraphFigures, readSchemaInput, scanMessages, sessionsOver } from '../store/integrityQueries.js';
import { nullEmbeddings, setSessionFromGraph } from '../store/integrityFix.js';
import { withStore, type KuzuStore } from '../store/kuzu.js';
import { withSnapshot } from '../store/snapshot.js';
import { quarantineMessages } from '../store/quarantine.js';
import { journalPath } from '../archive/journal.js';
import { readSchema, type DatabaseSchema } from '../store/schema.js';
import type { ConfigNote } from '../config/registry.js';
import type { ValueSource } from '../config/sources.js';
import type { StoreSettings } from '../store/settings.js';
import type { CommandContext } from './context.js';
import { REPORT_VERSION, toolInfo, type ToolInfo } from './report.js';

export interface ValidateOptions {
  locrits: string[];
  /** Warnings fail the run too; limits become errors. */
  strict?: boolean;
  /** Read every column of every row of every table. */
  deep?: boolean;
  /** Quarantine invalid messages and repair what is safe. */
  fix?: boolean;
  /** With fix: list what would be done, change nothing. */
  dryRun?: boolean;
  /** With fix: when a process holds a database, wait up to this many seconds for it to let go. */
  waitSeconds?: number;
}

/** The configuration the rules use (from the config file; see config.example.yaml). */
export interface ValidateSettings {
  enable_embeddings: boolean;
  embedding_dimension: number;
  low_priority_max_chars: number;
  future_skew_seconds: number;
  max_db_size_mb: number;
  max_messages_per_locrit: number;
  max_messages_per_conversation: number;
}

/** The configuration key behind each setting. */
const SETTING_KEYS: Record<keyof ValidateSettings, string> = {
  enable_embeddings: 'memory.enable_embeddings',
  embedding_dimension: 'memory.embedding_dimension',
  low_priority_max_chars: 'retention.low_priority_max_chars',
  future_skew_seconds: 'validate.future_skew_seconds',
  max_db_size_mb: 'memory.max_db_size_mb',
  max_messages_per_locrit: 'memory.max_messages_per_locrit',
  max_messages_per_conversation: 'memory.max_messages_per_conversation',
};

export interface CheckedFigures {
  messages: number;
  sessions: number | null;
}

export interface FixReport {
  dryRun: boolean;
  /** What --fix does (dry run) or did. Lists every id. */
  plan: FixPlan;
  /** Why nothing was changed although the plan is not empty (e.g. a WAL is present), or null. */
  skipped: string | null;
  applied: { quarantined: number; deleted: number; sessionIdsCorrected: number; embeddingsNulled: number } | null;
  /** The quarantine archive (format of src/archive/format.ts), when messages were removed. */
  archive: { folder: string; messages: number; idDigest: string } | null;
  /** Findings before the fix (the Locrit's `findings` are those after it). */
  findingsBefore: Finding[];
}

export type ValidateStatus = 'ok' | 'warn' | 'error' | 'unavailable';

export interface LocritValidation {
  /** The folder name, which is how the tool names a Locrit everywhere. */
  name: string;
  /** The name the application shows ("Bob Technique"), from locrits.instances; null when the configuration does not name it. */
  displayName: string | null;
  /** `active` in locrits.instances, or null. */
  active: boolean | null;
  /** Its memory service in locrits.instances (`kuzu_graph` is Kuzu), or null when unknown. */
  memoryService: string | null;
  path: string;
  /** Worst severity found (info counts as ok), or unavailable when the database could not be read. */
  status: ValidateStatus;
  findings: Finding[];
  counts: { error: number; warn: number; info: number };
  checked: CheckedFigures | null;
  /** --deep: what was read of each table. */
  deep: TableScan[] | null;
  fix: FixReport | null;
  inUse: LockHolder | null;
  /**
   * When the private copy the checks read was taken (ISO 8601), or null when the live file was
   * opened (--fix without --dry-run) or nothing was read. The read-only checks never open the live file.
   */
  snapshotAt: string | null;
  error: ErrorReport | null;
  exitCode: Code;
  durationMs: number;
}

export interface ValidateSummary {
  locrits: number;
  ok: number;
  warn: number;
  error: number;
  unavailable: number;
  findings: { error: number; warn: number; info: number };
  /** Per rule: in how many Locrits it fired and its total count. */
  rules: Record<string, { locrits: number; count: number }>;
}

export interface ValidateReport {
  version: typeof REPORT_VERSION;
  command: 'validate';
  tool: ToolInfo;
  generatedAt: string;
  dataDir: string;
  configFile: string | null;
  /** Where `--fix` puts quarantined messages: `<archiveDir>/<locrit>/<UTC time>/`. */
  archiveDir: string;
  options: { strict: boolean; deep: boolean; fix: boolean; dryRun: boolean };
  settings: ValidateSettings;
  /** Where each setting's value came from: key and file, or the built-in default. */
  settingSources: Record<keyof ValidateSettings, ValueSource>;
  /** Info-level notes on the configuration and the application's Locrit registry. */
  configNotes: ConfigNote[];
  /** The rule catalogue, so that a consumer can explain an id without the README. */
  rules: Pick<RuleDef, 'id' | 'category' | 'severity' | 'title' | 'next' | 'fix'>[];
  locrits: LocritValidation[];
  summary: ValidateSummary;
  exitCode: Code;
}

/**
 * What a worker does for one Locrit: the integrity rules ('check'), every row ('deep'), both on
 * one copy and one open ('check-deep', the usual `--deep`), or the rules plus the repair ('fix').
 */
type Phase = 'check' | 'deep' | 'check-deep' | 'fix';

interface ValidatePayload {
  phase: Phase;
  store: StoreSettings;
  settings: ValidateSettings;
  strict: boolean;
  dryRun: boolean;
  waitSeconds?: number;
  archiveRoot: string;
  /** Messages per quarantine archive chunk (archive.batch_messages). */
  batchMessages: number;
  tool: ToolInfo;
  nowMs: number;
}

interface CheckResult {
  findings: Finding[];
  checked: CheckedFigures;
  /** The private copy that was read, and who held the live file then. */
  snapshot?: ReadFrom;
}

interface ReadFrom {
  takenAt: string;
  holder: LockHolder | null;
}

interface FixTaskResult {
  before: CheckResult;
  after: CheckResult;
  fix: Omit<FixReport, 'findingsBefore'>;
}

interface DeepResult {
  scans: TableScan[];
  snapshot: ReadFrom;
}

/** The deep read as the combined phase returns it: the scans, or why reading failed. */
type DeepRead = { ok: true; result: DeepResult } | { ok: false; error: ErrorReport };

interface CheckDeepResult {
  check: CheckResult;
  deep: DeepRead;
}

type TaskResult = CheckResult | DeepResult | FixTaskResult | CheckDeepResult;

export async function runValidate(context: CommandContext, options: ValidateOptions): Promise<ValidateReport> {
  // Imported here, not at the top: the worker loads this module too, and the configuration and
  // registry modules bring the YAML parser (~35 ms of CPU per process) that only the parent needs.
  const [{ dataLocations, storeSettings }, { identify, resolveTargets }, { findLeftovers }] = await Promise.all([
    import('./context.js'), import('../layout/locrits.js'), import('../retention/leftovers.js'),
  ]);
  const locations = dataLocations(context);
  const targets = resolveTargets(options.locrits, context.dataDir, context.cwd, context.config.registry);
  if (targets.length === 0) context.reporter.warn(`no Locrit databases under ${context.dataDir}`);
  const values = context.config.values;
  const settings: ValidateSettings = {
    enable_embeddings: values.memory.enable_embeddings,
    embedding_dimension: values.memory.embedding_dimension,
    low_priority_max_chars: values.retention.low_priority_max_chars,
    future_skew_seconds: values.validate.future_skew_seconds,
    max_db_size_mb: values.memory.max_db_size_mb,
    max_messages_per_locrit: values.memory.max_messages_per_locrit,
    max_messages_per_conversation: values.memory.max_messages_per_conversation,
  };
  const strict = Boolean(options.strict);
  const appUser = values.run.app_user === null ? null : lookupUser(String(values.run.app_user));
  if (values.run.app_user !== null && !appUser) {
    throw new ConfigError(`run.app_user '${values.run.app_user}' is not a user of this host`, 'set it to the user the Locrit application runs as (a name from /etc/passwd or a numeric uid), or remove it');
  }
  const payload = (phase: Phase): ValidatePayload => ({
    phase,
    store: storeSettings(context),
    settings,
    strict,
    dryRun: Boolean(options.dryRun),
    waitSeconds: options.waitSeconds,
    archiveRoot: locations.archiveDir,
    batchMessages: values.archive.batch_messages,
    tool: toolInfo(),
    nowMs: context.now.getTime(),
  });
  const lastPhase = new Map<string, string>();
  const progress = {
    jobs: context.jobs,
    onProgress: (target: LocritTarget, phase: string) => {
      lastPhase.set(target.dbPath, phase);
      context.reporter.phase(`${target.name}: ${phase}`);
    },
  };
  let first: TaskOutcome<TaskResult>[];
  let deep: (TaskOutcome<TaskResult> | null)[] = targets.map(() => null);
  if (options.deep && !options.fix) {
    // One worker, one copy and one open for the rules and the deep read (a process start, a copy
    // and an open cost more than the whole check of an ordinary Locrit). When the worker dies
    // during the deep read (Kuzu crashing on a damaged page), the rules are run again alone, so
    // that their findings are still reported beside the damage.
    const both = await runEach<TaskResult>('validate', targets, payload('check-deep'), progress);
    const crashedInDeep = both.filter((o) => !o.ok && lastPhase.get(o.target.dbPath)?.startsWith('deep')).map((o) => o.target);
    const again = new Map((await runEach<TaskResult>('validate', crashedInDeep, payload('check'), progress)).map((o) => [o.target.dbPath, o]));
    first = both.map((o) => again.get(o.target.dbPath) ?? (o.ok ? { ...o, value: (o.value as CheckDeepResult).check } : o));
    deep = both.map((o): TaskOutcome<TaskResult> | null => {
      if (again.has(o.target.dbPath)) return o;
      if (!o.ok) return null;
      const read = (o.value as CheckDeepResult).deep;
      return read.ok ? { target: o.target, ok: true, value: read.result, durationMs: 0 } : { target: o.target, ok: false, error: read.error, death: null, durationMs: 0 };
    });
  } else {
    first = await runEach<TaskResult>('validate', targets, payload(options.fix ? 'fix' : 'check'), progress);
    if (options.deep) {
      // A second worker pass, so that a crash while reading every page keeps the findings above.
      const readable = first.filter((o) => o.ok).map((o) => o.target);
      const outcomes = await runEach<TaskResult>('validate', readable, payload('deep'), progress);
      const byPath = new Map(outcomes.map((o) => [o.target.dbPath, o]));
      deep = targets.map((t) => byPath.get(t.dbPath) ?? null);
    }
  }
  context.reporter.done();

  // Resets are found from the parent: each backup is read in a child process of its own.
  const scans: (ResetScan | null)[] = [];
  for (const target of targets) {
    context.reporter.phase(`${target.name}: comparing backups`);
    scans.push(await scanResets(target.dbPath, { archiveRoot: locations.archiveDir, folder: target.name, backupDir: locations.backupDir, settings: { bufferPoolMb: Math.min(storeSettings(context).bufferPoolMb, 256) } }).catch(() => null));
  }
  context.reporter.done();
  const leftoversOf = (target: LocritTarget): FileLeftover[] =>
    findLeftovers(target.dbPath, target.name, locations.archiveDir).map((l) => ({ name: path.basename(l.path), bytes: l.bytes }));
  const locrits = first
    .map((outcome, i) => assemble(outcome, deep[i], locations.backupDir, strict, { archiveRoot: locations.archiveDir, appUser }, leftoversOf(outcome.target), scans[i]))
    .map(({ name, ...rest }): LocritValidation => ({ name, ...identify(context.config.registry, name), ...rest }));
  const exitCode = worstExitCode(locrits.map((l) => l.exitCode));
  return {
    version: REPORT_VERSION,
    command: 'validate',
    tool: toolInfo(),
    generatedAt: context.now.toISOString(),
    dataDir: context.dataDir,
    configFile: context.config.source,
    archiveDir: locations.archiveDir,
    options: { strict, deep: Boolean(options.deep), fix: Boolean(options.fix), dryRun: Boolean(options.dryRun) },
    settings,
    settingSources: Object.fromEntries(Object.entries(SETTING_KEYS).map(([name, key]) => [name, context.config.sources[key]])) as Record<keyof ValidateSettings, ValueSource>,
    configNotes: context.notes,
    rules: RULES.map(({ id, category, severity, title, next, fix }) => ({ id, category, severity, title, next, fix })),
    locrits,
    summary: summarize(locrits),
    exitCode,
  };
}

interface PermissionSettings {
  archiveRoot: string;
  appUser: { uid: number; gid: number; name: string } | null;
}

/** What an interrupted run left beside a database, by file name. */
type FileLeftover = { name: string; bytes: number };

function assemble(
  outcome: TaskOutcome<TaskResult>, deepOutcome: TaskOutcome<TaskResult> | null, backupDir: string | null, strict: boolean, permissions: PermissionSettings, leftovers: FileLeftover[], scan: ResetScan | null,
): Omit<LocritValidation, keyof LocritIdentity> {
  const target = outcome.target;
  const sizes = fileSizes(target.dbPath, backupDir);
  const fileCollector = new FindingCollector(strict);
  let error: ErrorReport | null = outcome.ok ? null : outcome.error;
  let checked: CheckedFigures | null = null;
  let dbFindings: Finding[] = [];
  let fix: FixReport | null = null;
  let readFrom: ReadFrom | null = null;
  if (outcome.ok) {
    const value = outcome.value as CheckResult | FixTaskResult;
    if ('fix' in value) {
      fix = { ...value.fix, findingsBefore: mergeFindings(value.before.findings) };
      dbFindings = value.after.findings;
      checked = value.after.checked;
      readFrom = value.after.snapshot ?? null;
    } else {
      dbFindings = value.findings;
      checked = value.checked;
      readFrom = value.snapshot ?? null;
    }
  }
  let deep: TableScan[] | null = null;
  const deepCollector = new FindingCollector(strict);
  if (deepOutcome) {
    if (deepOutcome.ok) {
      deep = (deepOutcome.value as DeepResult).scans;
      checkDeepScan(deep, deepCollector);
      const broken = deep.find((scan) => scan.error !== null);
      if (broken) {
        error = {
          kind: 'DatabaseUnavailableError',
          message: `${target.dbPath} is damaged: reading ${broken.table} failed (${broken.error})`,
          hint: `run \`locrit-mem recover ${target.name}\` to salvage what can still be read`,
          exitCode: ExitCode.unavailable,
          reason: 'damaged',
          holder: null,
        };
      }
    } else {
      error = deepOutcome.error; // e.g. Kuzu killed by SIGSEGV on a damaged page
    }
  }
  const holder = error?.holder ?? readFrom?.holder ?? null;
  checkFile(
    {
      // A WAL beside a database a live process holds is its writer at work, not an unclean stop.
      walPresent: sizes.walBytes !== null && holder === null,
      walBytes: sizes.walBytes,
      appBackups: sizes.backups.filter((b) => b.madeBy === 'application').map((b) => path.basename(b.path)),
      leftovers,
      // A Locrit the operator's Ctrl-C kept from being checked has no finding: it was not looked at.
      unavailable: error && error.kind !== 'InterruptedError' && !deepCollector.has('storage.unreadable') ? { reason: error.reason, message: error.message, pid: error.holder?.pid ?? null } : null,
      resets: (scan?.resets ?? []).map((r) => ({ name: r.name, createdAt: r.createdAt, held: r.held ?? 0, missing: r.missing ?? 0, currentFirstMessageAt: scan?.current.firstMessageAt ?? null })),
      unreadableBackups: (scan?.unreadable ?? []).map((b) => ({ name: b.name, error: b.error ?? 'unreadable' })),
      foreignWal: scan?.wal?.verdict === 'foreign' ? { reason: scan.wal.reason } : null,
      salvagedWithLosses: describeLoss(readLossMarker(target.dbPath)),
    },
    fileCollector,
  );
  const facts = permissionFacts(target.dbPath, locritArchiveDir(permissions.archiveRoot, target.name), permissions.appUser);
  if (facts) checkPermissions(facts, fileCollector);
  const findings = mergeFindings(fileCollector.findings(), dbFindings, deepCollector.findings());
  const unavailable = error !== null;
  const worst: Severity | null = worstSeverity(findings);
  const status: ValidateStatus = unavailable ? 'unavailable' : worst === 'error' ? 'error' : worst === 'warn' ? 'warn' : 'ok';
  const exitCode: Code = unavailable ? (error!.exitCode >= ExitCode.unavailable && error!.exitCode !== ExitCode.interrupted ? ExitCode.unavailable : error!.exitCode) : failsRun(findings, strict) ? ExitCode.findings : ExitCode.ok;
  return {
    name: target.name,
    path: target.dbPath,
    status,
    findings,
    counts: severityCounts(findings),
    checked,
    deep,
    fix,
    inUse: holder,
    snapshotAt: readFrom?.takenAt ?? null,
    error,
    exitCode,
    durationMs: outcome.durationMs + (deepOutcome?.durationMs ?? 0),
  };
}

function describeLoss(marker: LossMarker | null): string | null {
  if (!marker) return null;
  return `salvaged${marker.at ? ` on ${marker.at}` : ''}: ${marker.messages} message(s)${marker.lastKnown !== null ? ` of ${marker.lastKnown} last known (${marker.lastKnownFrom})` : ''}${marker.damagedKeptAs ? `; the damaged file is kept as ${marker.damagedKeptAs}` : ''}`;
}

function summarize(locrits: LocritValidation[]): ValidateSummary {
  const summary: ValidateSummary = { locrits: locrits.length, ok: 0, warn: 0, error: 0, unavailable: 0, findings: { error: 0, warn: 0, info: 0 }, rules: {} };
  for (const l of locrits) {
    summary[l.status]++;
    for (const f of l.findings) {
      summary.findings[f.severity]++;
      const entry = (summary.rules[f.rule] ??= { locrits: 0, count: 0 });
      entry.locrits++;
      entry.count += f.count;
    }
  }
  return summary;
}

// ---------------------------------------------------------------- worker side

/** Per-Locrit work, in a worker process. */
export async function validateTask(target: LocritTarget, payload: ValidatePayload, task: TaskContext): Promise<TaskResult> {
  try {
    return await validateWork(target, payload, task);
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

async function validateWork(target: LocritTarget, payload: ValidatePayload, task: TaskContext): Promise<TaskResult> {
  checkHeader(target.dbPath);
  const readOnly = { readOnly: true, ...payload.store };
  if (payload.phase === 'deep') {
    task.progress('deep: copying');
    return withSnapshot(target.dbPath, async (snapshot) => {
      task.progress('deep: reading every row');
      const scans = await withStore(snapshot.dbPath, readOnly, async (store) => deepScan(store, await readSchema(store), (table, rows) => task.progress(`deep: ${table} ${rows} rows`)));
      return { scans, snapshot: { takenAt: snapshot.takenAt, holder: snapshot.holder } };
    });
  }
  if (payload.phase === 'check') return checkSnapshot(target, payload, task, false).then(({ result }) => result);
  if (payload.phase === 'check-deep') {
    task.progress('copying');
    return withSnapshot(target.dbPath, async (snapshot) => {
      task.progress('checking');
      const readFrom = { takenAt: snapshot.takenAt, holder: snapshot.holder };
      return withStore(snapshot.dbPath, readOnly, async (store): Promise<CheckDeepResult> => {
        const { result, schema } = await checkDatabase(store, target, payload, false);
        const check = { ...result, snapshot: readFrom };
        // The parent reads this phase name to tell a crash of the deep read from one of the rules.
        task.progress('deep: reading every row');
        try {
          return { check, deep: { ok: true, result: { scans: await deepScan(store, schema, (table, rows) => task.progress(`deep: ${table} ${rows} rows`)), snapshot: readFrom } } };
        } catch (error) {
          return { check, deep: { ok: false, error: toErrorReport(asDamage(target, error)) } };
        }
      });
    });
  }
  return fixTask(target, payload, task);
}

/** The read-only checks, on a private copy: the live file is never opened (see src/store/snapshot.ts). */
async function checkSnapshot(target: LocritTarget, payload: ValidatePayload, task: TaskContext, planFix: boolean): Promise<{ result: CheckResult; plan: FixPlan | null }> {
  task.progress('copying');
  return withSnapshot(target.dbPath, async (snapshot) => {
    task.progress('checking');
    const checked = await withStore(snapshot.dbPath, { readOnly: true, ...payload.store }, (store) => checkDatabase(store, target, payload, planFix));
    return { ...checked, result: { ...checked.result, snapshot: { takenAt: snapshot.takenAt, holder: snapshot.holder } } };
  });
}

async function checkDatabase(store: KuzuStore, target: LocritTarget, payload: ValidatePayload, planFix: boolean): Promise<{ result: CheckResult; plan: FixPlan | null; schema: DatabaseSchema }> {
  const { settings, strict } = payload;
  const schema = await readSchema(store);
  const schemaInput = await readSchemaInput(store, schema);
  const collector = new FindingCollector(strict);
  checkSchema(schemaInput, settings.embedding_dimension, collector);
  const capabilities = messageCapabilities(schemaInput);
  const messageSettings: MessageRuleSettings = {
    enableEmbeddings: settings.enable_embeddings,
    lowPriorityMaxChars: settings.low_priority_max_chars,
    futureSkewSeconds: settings.future_skew_seconds,
    nowWallClockMs: instantToWallClock(new Date(payload.nowMs)).getTime(),
  };
  const planner = planFix ? new FixPlanBuilder() : null;
  const futureAfter = formatWallClock(new Date(payload.nowMs + settings.future_skew_seconds * 1000));
  await scanMessages(store, capabilities, { futureAfter }, (rows) => checkMessages(rows, messageSettings, collector, planner ?? undefined, MASS_RULES));
  const mass = await countMassRules(store, capabilities, { lowPriorityMaxChars: settings.low_priority_max_chars, enableEmbeddings: settings.enable_embeddings });
  collector.addCounted('message.embedding-low-priority', mass.lowPriority.count, mass.lowPriority.examples);
  collector.addCounted('message.embeddings-disabled', mass.embeddingsDisabled.count, mass.embeddingsDisabled.examples);
  const messages = schema.tables.Message ? Number(await store.scalar('MATCH (m:Message) RETURN count(m)')) : 0;
  if (capabilities.message) {
    const copies = duplicateCopies(await duplicateGroups(store));
    for (const id of copies) collector.add('message.duplicate', id);
    planner?.addDuplicates(copies);
  }
  const graph = await readGraphFigures(store, schema);
  if (graph.respondsToCrossSession) collector.addCounted('graph.responds-to-cross-session', graph.respondsToCrossSession.count, graph.respondsToCrossSession.examples);
  if (graph.respondsToLater) collector.addCounted('graph.responds-to-later', graph.respondsToLater.count, graph.respondsToLater.examples);
  if (graph.emptySessions) collector.addCounted('graph.session-empty', graph.emptySessions.count, graph.emptySessions.examples);
  if (graph.usersWithoutMessages) collector.addCounted('graph.user-without-messages', graph.usersWithoutMessages.count, graph.usersWithoutMessages.examples);
  const over = await sessionsOver(store, schema, settings.max_messages_per_conversation);
  checkLimits(
    { dbBytes: fs.statSync(target.dbPath, { throwIfNoEntry: false })?.size ?? null, messages, sessionsOver: over, largestSession: over.largest },
    { maxDbSizeMb: settings.max_db_size_mb, maxMessagesPerLocrit: settings.max_messages_per_locrit, maxMessagesPerConversation: settings.max_messages_per_conversation },
    collector,
  );
  const sessions = schema.tables.Session ? Number(await store.scalar('MATCH (s:Session) RETURN count(s)')) : null;
  return { result: { findings: collector.findings(), checked: { messages, sessions } }, plan: planner?.plan ?? null, schema };
}

async function fixTask(target: LocritTarget, payload: ValidatePayload, task: TaskContext): Promise<FixTaskResult> {
  const readOnly = { readOnly: true, ...payload.store };
  // The run lock stops two locrit-mem runs from changing this Locrit at once; a dry run changes nothing.
  const lock = payload.dryRun ? null : acquireRunLock(target.dbPath, 'validate --fix');
  try {
    if (!payload.dryRun) await waitUntilFree(target.dbPath, payload.waitSeconds, task.progress);
    // From here on kuzu.db must stay the file it is now (the application resets a Locrit whose open fails on our lock).
    const identity = payload.dryRun ? null : noteDatabaseIdentity(target.dbPath);
    const checkSameDatabase = (step: string): void => {
      if (identity) assertSameDatabase(identity, step, target.name);
    };
    task.progress('checking');
    // A dry run plans on a private copy; a real fix plans on the file it is about to change, which it must have to itself.
    const { result: before, plan } = payload.dryRun
      ? await checkSnapshot(target, payload, task, true)
      : await withStore(target.dbPath, readOnly, (store) => checkDatabase(store, target, payload, true));
    const fix: FixTaskResult['fix'] = { dryRun: payload.dryRun, plan: plan!, skipped: null, applied: null, archive: null };
    if (emptyFixPlan(plan!)) return { before, after: before, fix };
    const holder = before.snapshot?.holder;
    if (holder) {
      fix.skipped = `pid ${holder.pid} holds the database (the Locrit application, usually): --fix needs it to itself; stop the application, then run it again; nothing was changed`;
      return { before, after: before, fix };
    }
    if (fs.existsSync(`${target.dbPath}.wal`)) {
      // Opening read-write would replay the WAL into the file; `recover` does that with a backup first.
      fix.skipped = `a WAL is present (unclean stop): run \`locrit-mem recover ${target.name}\` first; nothing was changed`;
      return { before, after: before, fix };
    }
    // Read without readJournal(), which tidies files: a dry run must not touch anything.
    if (fs.existsSync(journalPath(target.dbPath))) {
      let command = 'locrit-mem';
      try {
        command = (JSON.parse(fs.readFileSync(journalPath(target.dbPath), 'utf8')) as { command?: string }).command ?? command;
      } catch {
        // A half-written journal still means an interrupted run.
      }
      fix.skipped = `an interrupted ${command} run left ${path.basename(journalPath(target.dbPath))}: run \`locrit-mem archive ${target.name}\` to finish it first; nothing was changed`;
      return { before, after: before, fix };
    }
    if (payload.dryRun) return { before, after: before, fix };
    task.progress('fixing');
    const quarantineIds = plan!.quarantine.map((q) => q.id);
    const rules: Record<string, number> = {};
    for (const q of plan!.quarantine) for (const rule of q.rules) rules[rule] = (rules[rule] ?? 0) + 1;
    await withStore(target.dbPath, { readOnly: false, ...payload.store }, async (store) => {
      const schema = await readSchema(store);
      let deleted = 0;
      if (quarantineIds.length > 0) {
        // Archive first, read back and checked; only then delete exactly the archived ids.
        const archive = await quarantineMessages(store, schema, {
          archiveRoot: payload.archiveRoot, locrit: target.name, dbPath: target.dbPath, ids: quarantineIds, rules, tool: payload.tool, batchMessages: payload.batchMessages,
          beforeCommit: () => checkSameDatabase('committing the delete of the quarantined messages'),
        });
        fix.archive = { folder: archive.folder, messages: archive.manifest.counts.messages, idDigest: archive.manifest.idDigest.value };
        deleted = archive.deleted;
      }
      checkSameDatabase('correcting session ids');
      const sessionIdsCorrected = await setSessionFromGraph(store, plan!.sessionFromGraph.map((s) => s.id));
      checkSameDatabase('setting invalid embeddings to NULL');
      const embeddingsNulled = await nullEmbeddings(store, schema, plan!.embeddingToNull);
      fix.applied = { quarantined: quarantineIds.length, deleted, sessionIdsCorrected, embeddingsNulled };
    });
    task.progress('checking again');
    const { result: after } = await withStore(target.dbPath, readOnly, (store) => checkDatabase(store, target, payload, false));
    return { before, after, fix };
  } finally {
    lock?.release();
  }
}


