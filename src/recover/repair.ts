/**
 * Diagnose each Locrit and repair what can be repaired, in the order the cases are checked:
 * unclean stop (replay the WAL), cannot be opened or read (salvage into a fresh database),
 * resets (merge the backups back), unsaved conversations (report), nothing wrong. Every Locrit
 * that is present is probed first, in parallel workers, on a private copy: a Locrit a running
 * process holds is diagnosed too, and only a repair it needs is refused (or waited for, --wait).
 */
import fs from 'node:fs';
import { listArchives, messageFilesOf } from '../archive/format.js';
import type { ConversationFiles, ConversationHeader } from '../conversations/read.js';
import { DatabaseUnavailableError, ExitCode, toErrorReport, worstExitCode, type LockHolder } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';
import { acquireRunLock, type RunLock } from '../layout/runLock.js';
import { workFoldersOf } from '../layout/scratch.js';
import { assertSameDatabase, noteDatabaseIdentity } from '../layout/sameDatabase.js';
import { runEach } from '../runner/pool.js';
import type { Inspection } from '../store/inspect.js';
import { holderOf, waitForRelease } from '../store/locks.js';
import { findUnsavedConversations } from './conversations.js';
import { describeHolder, diagnose, type Diagnosis } from './diagnose.js';
import { emptyBase, fail, inWorker, noteRemovedLeftovers, refuse, step, suggestFallbacks, walBytesOf, type Attempt, type RecoverEnv } from './flow.js';
import { rebuildFromSalvage } from './rebuild.js';
import { replayWalFlow } from './replayWal.js';
import { acknowledgeLoss } from '../layout/lossMarker.js';
import { findResets, planResetRepair, repairReset } from './mergeFlow.js';
import type { ConversationCheck, RepairPart, Timed } from './types.js';

export async function repairAll(env: RecoverEnv, targets: LocritTarget[], conversations: ConversationFiles): Promise<Timed<RepairPart>[]> {
  const byLocrit = new Map<string, ConversationHeader[]>();
  for (const header of conversations.headers) {
    if (header.locrit === null) continue;
    byLocrit.set(header.locrit, [...(byLocrit.get(header.locrit) ?? []), header]);
  }
  // Probe every Locrit that is present, in parallel workers. The probe reads a private copy, so a
  // Locrit a live process holds is diagnosed too (and the application's own open never fails on us).
  const holders = new Map<string, LockHolder | null>();
  for (const target of targets) holders.set(target.dbPath, await holderOf(target.dbPath));
  const probeTargets = targets.filter((t) => fs.existsSync(t.dbPath));
  const probes = new Map<string, Attempt<Inspection>>();
  const outcomes = await runEach('recover-inspect', probeTargets, { path: null, store: env.store, deep: true, sessions: true, archiveMessageFilesByLocrit: archiveFilesFor(env, probeTargets, byLocrit) }, {
    jobs: env.jobs,
    knobs: env.knobs,
    onProgress: (t, phase) => env.phase(`${t.name}: ${phase}`),
  });
  for (const outcome of outcomes) probes.set(outcome.target.dbPath, outcome.ok ? { ok: true, value: outcome.value } : { ok: false, error: outcome.error });

  const results: Timed<RepairPart>[] = [];
  for (const target of targets) {
    const started = performance.now();
    const part: RepairPart = { ...emptyBase(), action: 'none', replay: null, salvage: null, conversations: null, merge: null };
    try {
      await repairOne(env, target, part, holders.get(target.dbPath) ?? null, probes.get(target.dbPath) ?? null, byLocrit.get(target.name) ?? []);
    } catch (error) {
      fail(part, error, (report) => (report.exitCode === ExitCode.usage ? ExitCode.usage : ExitCode.unavailable));
    }
    results.push({ target, part, durationMs: Math.round(performance.now() - started) });
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

function archiveFilesFor(env: RecoverEnv, targets: LocritTarget[], byLocrit: Map<string, ConversationHeader[]>): Record<string, string[]> {
  const files: Record<string, string[]> = {};
  for (const target of targets) {
    if (!byLocrit.has(target.name)) continue;
    files[target.name] = listArchives(env.archiveDir, target.name).complete.flatMap(archivedMessageFiles).filter((f) => fs.existsSync(f));
  }
  return files;
}

async function repairOne(
  env: RecoverEnv, target: LocritTarget, part: RepairPart, initialHolder: LockHolder | null, initialProbe: Attempt<Inspection> | null, headers: ConversationHeader[],
): Promise<void> {
  const { options } = env;
  if (options.acknowledgeLoss) {
    const marker = acknowledgeLoss(target.dbPath);
    step(part, 'acknowledge', true, marker ? `loss acknowledged (salvaged ${marker.at || 'earlier'}: ${marker.messages} message(s)${marker.lastKnown !== null ? ` of ${marker.lastKnown} last known` : ''}); stats and validate no longer flag it` : 'nothing to acknowledge: no salvage with losses is recorded');
  }
  const waitedFor = await diagnoseAndRepair(env, target, part, initialHolder, initialProbe, headers);
  if (!waitedFor) return;
  // The holder let go while we waited: what it wrote meanwhile is read again, and the diagnosis made again on the free file.
  const kept = { steps: part.steps, waitedSeconds: part.waitedSeconds };
  Object.assign(part, { ...emptyBase(), action: 'none', replay: null, salvage: null, conversations: null, merge: null }, kept);
  await diagnoseAndRepair(env, target, part, null, await probeOne(env, target, headers), headers);
}

/**
 * Diagnoses one Locrit from its probe (a private copy: it works on a file a live process holds)
 * and repairs what needs repairing. A held file is diagnosed like a free one, except that its WAL
 * is its writer at work, not an unclean stop; only a repair needs the file to itself, and is
 * refused (or waited for, with --wait). True when the holder let go during that wait: the caller
 * diagnoses again.
 */
async function diagnoseAndRepair(
  env: RecoverEnv, target: LocritTarget, part: RepairPart, holder: LockHolder | null, initialProbe: Attempt<Inspection> | null, headers: ConversationHeader[],
): Promise<boolean> {
  const { options } = env;
  let probe = initialProbe;
  part.holder = holder;
  part.snapshotAt = probe?.ok ? (probe.value.snapshotAt ?? null) : null;
  const diagnosis = diagnose({ dbPath: target.dbPath, dbExists: fs.existsSync(target.dbPath), walBytes: holder ? null : walBytesOf(target.dbPath), holder: null, probe, batchSize: env.batchSize });
  apply(part, diagnosis);
  if (diagnosis.problem === 'in-use') {
    const failedProbe = probe && !probe.ok ? probe.error : null;
    refuse(part, target.dbPath, holder ?? failedProbe?.holder ?? (await holderOf(target.dbPath)) ?? { pid: 0, command: null, rssBytes: null, cpuPercent: null });
    return false;
  }
  if (diagnosis.problem === 'missing' || diagnosis.problem === 'unsupported-version' || diagnosis.problem === 'check-failed') {
    part.outcome = diagnosis.problem === 'check-failed' ? 'failed' : 'unusable';
    part.exitCode = ExitCode.unavailable;
    if (probe && !probe.ok) part.error = probe.error;
    if (diagnosis.problem !== 'check-failed') suggestFallbacks(env, target, part);
    return false;
  }
  // Resets: backups holding messages found nowhere else, and a WAL another file wrote.
  const explicit = options.mergeBackups ?? [];
  const resets = diagnosis.action === 'salvage' ? null : await findResets(env, target);
  const resetRepair = resets !== null && planResetRepair(part, resets, explicit);
  const writes = resetRepair || diagnosis.action === 'replay-wal' || diagnosis.action === 'salvage';
  if (holder && writes) {
    const needs = `the repair needs the file to itself: ${target.dbPath} is open in pid ${holder.pid}`;
    if (options.dryRun) part.plan.push(`${needs}; stop that process first, or run with --wait <seconds>`);
    else {
      if (options.waitSeconds !== undefined) {
        env.phase(`${target.name}: waiting up to ${options.waitSeconds}s for pid ${holder.pid} to release the database`);
        const waited = await waitForRelease(target.dbPath, options.waitSeconds);
        part.waitedSeconds = waited.waited;
        step(part, 'wait', waited.holder === null, waited.holder ? `still held by pid ${waited.holder.pid} after ${waited.waited}s` : `released after ${waited.waited}s`);
        if (!waited.holder) return true;
        part.holder = waited.holder;
      }
      refuseRepair(part, target.dbPath, part.holder!);
      return false;
    }
  }
  if (options.dryRun) {
    if (diagnosis.action === 'salvage') suggestFallbacks(env, target, part);
    if (resetRepair) {
      part.outcome = 'planned';
      part.exitCode = ExitCode.findings;
    } else {
      part.outcome = diagnosis.action === 'none' ? 'ok' : 'planned';
      part.exitCode = diagnosis.action === 'none' ? ExitCode.ok : ExitCode.findings;
    }
  } else if (resetRepair) {
    const done = await underRunLock(target, part, async (checkSameDatabase) => {
      // An unclean stop whose WAL is kuzu.db's own is replayed first, then the backups are merged.
      if (part.action === 'replay-wal') {
        await replayWalFlow(env, target, part, (probe as { ok: true; value: Inspection }).value, checkSameDatabase);
        if (part.outcome !== 'repaired') return false;
      }
      await repairReset(env, target, part, resets!, explicit);
      return true;
    });
    if (!done || part.exitCode === ExitCode.unavailable) return false;
    if (headers.length) probe = part.verification?.ok ? await probeOne(env, target, headers) : probe;
  } else if (diagnosis.action === 'replay-wal' || diagnosis.action === 'salvage') {
    const done = await underRunLock(target, part, async (checkSameDatabase) => {
      if (diagnosis.action === 'replay-wal') await replayWalFlow(env, target, part, (probe as { ok: true; value: Inspection }).value, checkSameDatabase);
      else await rebuildFromSalvage(env, target, part, target.dbPath, checkSameDatabase);
      return true;
    });
    if (!done || part.exitCode === ExitCode.unavailable) return false;
    if (part.salvage && part.exitCode !== ExitCode.ok && headers.length) {
      // Messages the salvage lost would all look "unsaved": comparing would mislead.
      part.problems.push(`${headers.length} conversation file(s) not compared: the salvage could not bring every row back`);
      return false;
    }
    if (headers.length) probe = part.verification?.ok ? await probeOne(env, target, headers) : probe;
  }
  // Nothing to repair, but a killed run's work folders are there: the lock removes them.
  if (!options.dryRun && workFoldersOf(target.dbPath).length) clearWorkFolders(target, part);
  // Unsaved conversations, against what the (possibly repaired) database holds.
  if (headers.length && probe?.ok) {
    const check = checkConversations(headers, probe.value);
    part.conversations = check;
    if (check.unsaved.length) {
      const missing = check.unsaved.reduce((sum, u) => sum + u.missing, 0);
      part.problems.push(`${check.unsaved.length} conversation(s) recorded ${missing} more message(s) than the database and archives hold: they were never saved`);
      if (part.problem === 'none') {
        part.problem = 'unsaved-conversations';
        part.action = 'report';
        part.outcome = 'reported';
        part.plan.push('report the conversations whose message_count exceeds what their session holds; their missing messages exist nowhere to restore from');
      }
      part.exitCode = worstExitCode([part.exitCode, ExitCode.findings]);
    }
  }
  return false;
}

/**
 * A repair refused because a live process holds the file: what the diagnosis (made on a private
 * copy) found stays in the report, beside the process and what to do.
 */
function refuseRepair(part: RepairPart, dbPath: string, holder: LockHolder): void {
  part.action = 'refuse';
  part.outcome = 'refused';
  part.holder = holder;
  part.exitCode = ExitCode.unavailable;
  part.error = toErrorReport(new DatabaseUnavailableError(
    `${dbPath} is in use by ${describeHolder(holder)}${part.waitedSeconds !== null ? `, still after waiting ${part.waitedSeconds}s` : ''}: the problems above were found on a private copy; repairing them needs the file to itself, nothing was changed`,
    'in-use',
    'stop the Locrit application (or that process) first, or rerun with --wait <seconds>',
    holder,
  ));
}

/** Takes the run lock only to remove what a killed run left; another run holding it keeps its folders. */
function clearWorkFolders(target: LocritTarget, part: RepairPart): void {
  let lock: RunLock;
  try {
    lock = acquireRunLock(target.dbPath, 'recover');
  } catch {
    return;
  }
  try {
    noteRemovedLeftovers(part, lock.removedLeftovers);
  } finally {
    lock.release();
  }
}

function apply(part: RepairPart, diagnosis: Diagnosis): void {
  part.problem = diagnosis.problem;
  part.problems.push(...diagnosis.problems);
  part.action = diagnosis.action;
  part.plan = [...diagnosis.plan];
}

async function probeOne(env: RecoverEnv, target: LocritTarget, headers: ConversationHeader[]): Promise<Attempt<Inspection>> {
  const archiveFiles = headers.length ? archiveFilesFor(env, [target], new Map([[target.name, headers]])) : {};
  return inWorker(env, 'recover-inspect', target, { path: null, store: env.store, deep: true, sessions: true, archiveMessageFilesByLocrit: archiveFiles });
}

function checkConversations(headers: ConversationHeader[], inspection: Inspection): ConversationCheck {
  return findUnsavedConversations(headers, inspection.sessionMessages ?? {}, inspection.archivedPerSession);
}

/**
 * Runs a repair holding the Locrit's run lock. The application may have started since the
 * probe: a holder found now refuses the repair. It may also reset the Locrit during a long
 * repair (its open fails on our lock), so `work` gets a check for every destructive step.
 * False when the repair was refused or `work` stopped it.
 */
async function underRunLock(target: LocritTarget, part: RepairPart, work: (checkSameDatabase: (what: string) => void) => Promise<boolean>): Promise<boolean> {
  const lock = acquireRunLock(target.dbPath, 'recover');
  try {
    noteRemovedLeftovers(part, lock.removedLeftovers);
    const late = await holderOf(target.dbPath);
    if (late) {
      refuse(part, target.dbPath, late);
      return false;
    }
    const identity = noteDatabaseIdentity(target.dbPath);
    return await work((what) => assertSameDatabase(identity, what, target.name));
  } finally {
    lock.release();
  }
}
