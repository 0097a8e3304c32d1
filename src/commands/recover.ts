/**
 * `recover`: diagnose each Locrit and repair what can be repaired, keeping the original bytes of
 * everything it touches; --from-backup, --from-archive and --list are explicit modes. Each flow
 * lives in src/recover/ and returns its own part of the report; this file chooses the flow and
 * assembles the report. Kuzu work runs in worker processes, so a native crash never ends the run.
 */
import path from 'node:path';
import type { ConfigNote } from '../config/registry.js';
import { readConversationFiles } from '../conversations/read.js';
import { ExitCode, UsageError, worstExitCode } from '../errors.js';
import { identify, resolveTargets, type LocritIdentity } from '../layout/locrits.js';
import { findLeftovers } from '../retention/leftovers.js';
import type { RecoverEnv, RecoverOptions } from '../recover/flow.js';
import { restoreFromArchive } from '../recover/fromArchive.js';
import { restoreFromBackup } from '../recover/fromBackup.js';
import { listAll } from '../recover/list.js';
import { pruneAll } from '../recover/prune.js';
import { repairAll } from '../recover/repair.js';
import { SALVAGE_BATCH } from '../recover/salvage.js';
import type { LocritRecovery, RecoveryPart, Timed } from '../recover/types.js';
import { dataLocations, storeSettings, type CommandContext } from './context.js';
import { REPORT_VERSION, toolInfo, type ToolInfo } from './report.js';

export type { RecoverOptions } from '../recover/flow.js';

export type RecoverMode = 'diagnose' | 'from-backup' | 'from-archive' | 'list' | 'prune-backups';

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
  /** Info-level notes on the configuration and the application's Locrit registry. */
  configNotes: ConfigNote[];
  locrits: LocritRecovery[];
  exitCode: ExitCode;
}

export async function runRecover(context: CommandContext, options: RecoverOptions): Promise<RecoverReport> {
  const modes = [options.fromBackup !== undefined && '--from-backup', options.fromArchive !== undefined && '--from-archive', options.list && '--list', options.pruneBackups && '--prune-backups'].filter(Boolean);
  if (modes.length > 1) throw new UsageError(`${modes.join(' and ')} cannot be combined`, 'choose one of --from-backup, --from-archive, --list, --prune-backups');
  const mode: RecoverMode = options.fromBackup !== undefined ? 'from-backup' : options.fromArchive !== undefined ? 'from-archive' : options.list ? 'list' : options.pruneBackups ? 'prune-backups' : 'diagnose';
  if (options.waitSeconds !== undefined && mode === 'list') throw new UsageError('--wait has no meaning with --list', 'drop --wait');
  const values = context.config.values;
  const locations = dataLocations(context);
  const ask = options.confirmLoss;
  const env: RecoverEnv = {
    // The spinner stops before a question is asked at the terminal.
    options: { ...options, confirmLoss: ask ? async (question: string) => (context.reporter.done(), ask(question)) : undefined },
    dataDir: context.dataDir,
    cwd: context.cwd,
    jobs: context.jobs,
    knobs: context.knobs,
    phase: (text) => context.reporter.phase(text),
    store: storeSettings(context),
    backupDir: locations.backupDir,
    archiveDir: locations.archiveDir,
    dimension: values.memory.embedding_dimension,
    batchSize: options.batchSize ?? SALVAGE_BATCH,
  };
  let parts: Timed<RecoveryPart>[];
  let conversations: RecoverReport['conversations'] = null;
  if (mode === 'from-backup') parts = [await restoreFromBackup(env)];
  else if (mode === 'from-archive') parts = [await restoreFromArchive(env)];
  else if (mode === 'list') parts = await listAll(env, resolveTargets(options.locrits, context.dataDir, context.cwd, context.config.registry));
  else if (mode === 'prune-backups') parts = await pruneAll(env, resolveTargets(options.locrits, context.dataDir, context.cwd, context.config.registry));
  else {
    const targets = resolveTargets(options.locrits, context.dataDir, context.cwd, context.config.registry);
    if (targets.length === 0) context.reporter.warn(`no Locrit databases under ${context.dataDir}`);
    if (options.mergeBackups?.length && targets.length !== 1) {
      throw new UsageError(`--merge-backup names backups of one Locrit, but ${targets.length} Locrits were selected`, 'name the Locrit: locrit-mem recover <locrit> --merge-backup <file>');
    }
    const dir = options.conversationsDir ? path.resolve(context.cwd, options.conversationsDir) : locations.conversationsDir;
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
    parts = await repairAll(env, targets, files);
  }
  context.reporter.done();
  // What interrupted runs left, for the diagnosis (a listing or a restore does not look for it).
  const locrits = parts
    .map((part) => assemble(part, identify(context.config.registry, part.target.name)))
    .map((l) => (mode === 'diagnose' ? { ...l, leftovers: findLeftovers(l.path, l.name, env.archiveDir) } : l));
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
    configNotes: context.notes,
    locrits,
    exitCode: worstExitCode(locrits.map((l) => l.exitCode)),
  };
}

/** One Locrit's entry of the report: every field present (null where the flow has none), in a fixed order. */
function assemble({ target, part, durationMs }: Timed<RecoveryPart>, identity: LocritIdentity): LocritRecovery {
  return {
    name: target.name, ...identity, path: target.dbPath, problem: part.problem, problems: part.problems, action: part.action, outcome: part.outcome,
    plan: part.plan, steps: part.steps, holder: part.holder, waitedSeconds: part.waitedSeconds, snapshotAt: part.snapshotAt,
    replay: 'replay' in part ? part.replay : null,
    salvage: 'salvage' in part ? part.salvage : null,
    backupRestore: 'backupRestore' in part ? part.backupRestore : null,
    archiveRestore: 'archiveRestore' in part ? part.archiveRestore : null,
    conversations: 'conversations' in part ? part.conversations : null,
    merge: 'merge' in part ? part.merge : null,
    verification: part.verification,
    backups: 'backups' in part ? part.backups : null,
    archives: 'archives' in part ? part.archives : null,
    pruned: 'pruned' in part ? part.pruned : null,
    suggestions: part.suggestions, error: part.error, exitCode: part.exitCode, durationMs,
  };
}
