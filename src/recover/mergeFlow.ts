/**
 * The application's reset, repaired by `recover`: the backups that hold messages found nowhere
 * else are merged back into kuzu.db (src/recover/merge.ts), and a WAL that another database file
 * wrote is moved to that file instead of being replayed into this one.
 */
import path from 'node:path';
import { ExitCode } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';
import { step, verify, type RecoverEnv } from './flow.js';
import { mergeLocrit, moveForeignWal, type MergeReport } from './merge.js';
import { scanResets, type ResetScan } from './resets.js';
import type { MergeSummary, RepairPart } from './types.js';

export function findResets(env: RecoverEnv, target: LocritTarget): Promise<ResetScan> {
  return scanResets(target.dbPath, { archiveRoot: env.archiveDir, folder: target.name, backupDir: env.backupDir, settings: { bufferPoolMb: Math.min(env.store.bufferPoolMb, 256) }, checkWalContent: true });
}

export function mergeSummary(scan: ResetScan, merged: MergeReport | null = null): MergeSummary {
  return {
    resets: scan.resets.map((r) => ({ backup: r.path, madeBy: r.madeBy, createdAt: r.createdAt, held: r.held ?? 0, missing: r.missing ?? 0 })),
    missingMessages: scan.missingTotal,
    currentFirstMessageAt: scan.current.firstMessageAt,
    unreadableBackups: scan.unreadable.map((b) => ({ backup: b.path, error: b.error ?? 'unreadable' })),
    foreignWal: scan.wal?.verdict === 'foreign' ? { path: scan.wal.wal, reason: scan.wal.reason, ownerBackup: scan.wal.ownerBackup } : null,
    sources: merged?.sources.map((s) => ({ path: s.path, role: s.role, walUsed: s.walUsed, messages: s.messages, messagesAdded: s.messagesAdded, archivedLeftOut: s.archivedLeftOut })) ?? [],
    messagesBefore: merged ? merged.messagesBefore : scan.current.messages,
    messagesAfter: merged ? merged.messagesAfter : null,
    conflicts: merged?.conflicts ?? [],
    conflictCount: merged?.conflictCount ?? 0,
    vectorIndexes: merged?.vectorIndexes.map((i) => ({ name: i.name, present: i.present, answered: i.answered })) ?? [],
    keptCurrentAs: merged?.keptCurrentAs ?? null,
    foreignWalMovedTo: merged?.foreignWalMovedTo ?? null,
    durationMs: merged?.durationMs ?? null,
  };
}

/**
 * Turns a diagnosis into a merge when backups hold lost messages (or --merge-backup names some),
 * and a WAL replay into moving the WAL away when another file wrote it. Returns false when
 * neither applies (the diagnosis stands).
 */
export function planResetRepair(part: RepairPart, scan: ResetScan, explicit: string[]): boolean {
  const foreign = scan.wal?.verdict === 'foreign' ? scan.wal : null;
  const merge = scan.resets.length > 0 || explicit.length > 0;
  if (!merge && !foreign) return false;
  if (part.action === 'salvage') return false;
  part.merge = mergeSummary(scan);
  if (foreign) {
    // The "unclean stop" this WAL suggested is not one: replaying it would put another file's rows here.
    part.problems = part.problems.filter((p) => !/WAL/.test(p));
    if (part.action === 'replay-wal') part.plan = [];
    part.problems.push(`kuzu.db.wal was written by another database file: ${foreign.reason}`);
    part.plan.push(`move kuzu.db.wal to ${foreign.ownerBackup ? `${path.basename(foreign.ownerBackup)}.wal, beside the file that wrote it` : 'kuzu.db.wal.locrit-mem-foreign_<UTC stamp>'}; it is never replayed into kuzu.db`);
  }
  for (const reset of scan.resets) {
    part.problems.push(`reset: ${path.basename(reset.path)} (made ${reset.createdAt ?? 'at an unknown time'}) holds ${reset.held} messages, ${reset.missing} of them neither in kuzu.db nor in a complete archive`);
  }
  if (scan.resets.length && scan.current.firstMessageAt) part.problems.push(`the current kuzu.db starts at ${scan.current.firstMessageAt} with ${scan.current.messages ?? 0} messages`);
  for (const bad of scan.unreadable) part.problems.push(`backup ${path.basename(bad.path)} cannot be read: ${bad.error}`);
  if (part.action === 'replay-wal' && !foreign) {
    part.plan.push('then merge the backups below');
  } else {
    part.problem = merge ? 'reset' : 'foreign-wal';
    part.action = merge ? 'merge' : 'move-foreign-wal';
  }
  if (merge) {
    const names = explicit.length ? explicit.map((b) => path.basename(b)) : scan.resets.map((r) => `${path.basename(r.path)} (+${r.missing})`);
    part.plan.push(`build a new database from kuzu.db and ${names.join(', ')}: every message of each, ${scan.missingTotal} brought back, messages in complete archives left out; the current file wins where an id holds other values`);
    part.plan.push('check it (every id of every source, every relationship whose ends exist, the vector indexes answer), keep kuzu.db as kuzu.db.locrit-mem-merge_<UTC stamp>, rename the new file into place');
  }
  return true;
}

/** Runs what planResetRepair planned, inside the caller's run lock. */
export async function repairReset(env: RecoverEnv, target: LocritTarget, part: RepairPart, scan: ResetScan, explicit: string[]): Promise<void> {
  const merge = scan.resets.length > 0 || explicit.length > 0;
  if (!merge) {
    if (scan.wal?.verdict !== 'foreign') return;
    const moved = moveForeignWal(target.dbPath, scan.wal);
    step(part, 'move WAL', true, `kuzu.db.wal (written by another database file) moved to ${moved}`);
    part.merge = { ...mergeSummary(scan), foreignWalMovedTo: moved };
    part.outcome = 'repaired';
    part.exitCode = ExitCode.ok;
    return;
  }
  const report = await mergeLocrit(target.dbPath, {
    folder: target.name,
    backups: explicit.length ? explicit : null,
    archiveRoot: env.archiveDir,
    backupDir: env.backupDir,
    settings: env.store,
    scan,
    progress: (phase) => env.phase(`${target.name}: ${phase}`),
  });
  part.merge = mergeSummary(report.scan, report);
  if (report.foreignWalMovedTo) step(part, 'move WAL', true, `kuzu.db.wal (written by another database file) moved to ${report.foreignWalMovedTo}`);
  if (report.outcome === 'nothing-to-merge') {
    step(part, 'merge', true, 'every message of the backups is already in kuzu.db or an archive: nothing to merge');
    part.outcome = 'ok';
    part.exitCode = ExitCode.ok;
    return;
  }
  const added = report.sources.slice(1).map((s) => `${path.basename(s.path)} +${s.messagesAdded}`).join(', ');
  step(part, 'merge', true, `${report.messagesBefore} + ${report.messagesAfter - report.messagesBefore} messages (${added}) in ${(report.durationMs / 1000).toFixed(1)}s; every id of every source checked present`);
  step(part, 'swap', true, `kuzu.db kept as ${report.keptCurrentAs}; the merged database is now ${target.dbPath}`);
  const verification = await verify(env, target, target.dbPath, report.counts);
  part.verification = verification;
  step(part, 'verify', verification.ok, verification.ok ? 'opens; every table holds what the merge built; schema complete' : verification.problems.join('; '));
  part.outcome = verification.ok ? 'merged' : 'failed';
  part.exitCode = verification.ok ? ExitCode.ok : ExitCode.unavailable;
}
