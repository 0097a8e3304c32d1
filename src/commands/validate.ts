/**
 * `validate`: checks each Locrit database against the integrity rules (src/policy/integrityRules.ts),
 * read-only; `--deep` also reads every column of every row; `--fix` quarantines invalid messages
 * into an archive and repairs what is safe. This file chooses which phases the workers run
 * (src/validation/ does the work, one Locrit per worker process, so that a native crash inside
 * Kuzu ends only that Locrit's check: "database damaged"), checks the files beside each database
 * from the parent, and assembles the report.
 */
import path from 'node:path';
import { ConfigError, ExitCode, worstExitCode, type ErrorReport, type ExitCode as Code } from '../errors.js';
import type { ResetScan } from '../recover/resets.js';
import { describeLossMarker, readLossMarker } from '../layout/lossMarker.js';
import { fileSizes } from '../layout/files.js';
import { identify, resolveTargets, type LocritIdentity, type LocritTarget } from '../layout/locrits.js';
import { lookupUser, permissionFacts } from '../layout/ownership.js';
import { locritArchiveDir } from '../archive/format.js';
import { checkDeepScan, checkFile, checkPermissions, failsRun, FindingCollector, mergeFindings, RULES, severityCounts, worstSeverity, type Finding, type RuleDef, type Severity } from '../policy/integrityRules.js';
import { runEach, type TaskOutcome } from '../runner/pool.js';
import { snapshotsAhead } from '../store/snapshotsAhead.js';
import type { TableScan } from '../store/deepScan.js';
import type { ConfigNote } from '../config/registry.js';
import type { ValueSource } from '../config/sources.js';
import { dataLocations, loadAfterRun, storeSettings, type CommandContext } from './context.js';
import type { CheckedFigures, CheckResult, DeepResult, FixReport, FixTaskResult, LocritValidation, ReadFrom, ValidatePayload, ValidateSettings, ValidateStatus, ValidateSummary } from '../validation/types.js';
import { REPORT_VERSION, toolInfo, type ToolInfo } from './report.js';

export type { CheckedFigures, FixReport, LocritValidation, ValidateSettings, ValidateStatus, ValidateSummary } from '../validation/types.js';

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


export async function runValidate(context: CommandContext, options: ValidateOptions): Promise<ValidateReport> {
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
  const payload: ValidatePayload = {
    store: storeSettings(context),
    settings,
    strict,
    dryRun: Boolean(options.dryRun),
    waitSeconds: options.waitSeconds,
    archiveRoot: locations.archiveDir,
    batchMessages: values.archive.batch_messages,
    tool: toolInfo(),
    nowMs: context.now.getTime(),
  };
  // Needed once the workers are done: loaded while they work, not before they start.
  void loadAfterRun();
  const lastPhase = new Map<string, string>();
  const progress = {
    jobs: context.jobs,
    knobs: context.knobs,
    onProgress: (target: LocritTarget, phase: string) => {
      lastPhase.set(target.dbPath, phase);
      context.reporter.phase(`${target.name}: ${phase}`);
    },
  };
  // The read-only check reads a copy this process takes ahead of its worker; --fix opens the live file itself.
  const fromCopies = { ...progress, prefetch: snapshotsAhead(context.knobs) };
  let first: TaskOutcome<CheckResult | FixTaskResult>[];
  let deep: (TaskOutcome<DeepResult> | null)[] = targets.map(() => null);
  if (options.deep && !options.fix) {
    // One worker, one copy and one open for the rules and the deep read (a process start, a copy
    // and an open cost more than the whole check of an ordinary Locrit). When the worker dies
    // during the deep read (Kuzu crashing on a damaged page), the rules are run again alone, so
    // that their findings are still reported beside the damage.
    const both = await runEach('validate-check-deep', targets, payload, fromCopies);
    const crashedInDeep = both.filter((o) => !o.ok && lastPhase.get(o.target.dbPath)?.startsWith('deep')).map((o) => o.target);
    const again = new Map((await runEach('validate-check', crashedInDeep, payload, progress)).map((o) => [o.target.dbPath, o]));
    first = both.map((o) => again.get(o.target.dbPath) ?? (o.ok ? { ...o, value: o.value.check } : o));
    deep = both.map((o): TaskOutcome<DeepResult> | null => {
      if (!o.ok) return again.has(o.target.dbPath) ? o : null;
      const read = o.value.deep;
      return read.ok ? { target: o.target, ok: true, value: read.result, durationMs: 0 } : { target: o.target, ok: false, error: read.error, death: null, durationMs: 0 };
    });
  } else {
    first = options.fix ? await runEach('validate-fix', targets, payload, progress) : await runEach('validate-check', targets, payload, fromCopies);
    if (options.deep) {
      // A second worker pass, so that a crash while reading every page keeps the findings above.
      const readable = first.filter((o) => o.ok).map((o) => o.target);
      const outcomes = await runEach('validate-deep', readable, payload, progress);
      const byPath = new Map(outcomes.map((o) => [o.target.dbPath, o]));
      deep = targets.map((t) => byPath.get(t.dbPath) ?? null);
    }
  }
  context.reporter.done();

  // Resets are found from the parent: each backup is read in a child process of its own.
  const { scanResets, findLeftovers } = await loadAfterRun();
  const scans: (ResetScan | null)[] = [];
  for (const target of targets) {
    context.reporter.phase(`${target.name}: comparing backups`);
    scans.push(await scanResets(target.dbPath, { archiveRoot: locations.archiveDir, folder: target.name, backupDir: locations.backupDir, settings: { bufferPoolMb: Math.min(storeSettings(context).bufferPoolMb, 256) }, checkWalContent: true }).catch(() => null));
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
  outcome: TaskOutcome<CheckResult | FixTaskResult>, deepOutcome: TaskOutcome<DeepResult> | null, backupDir: string | null, strict: boolean, permissions: PermissionSettings, leftovers: FileLeftover[], scan: ResetScan | null,
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
    const value = outcome.value;
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
      deep = deepOutcome.value.scans;
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
      salvagedWithLosses: describeLossMarker(readLossMarker(target.dbPath)),
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
