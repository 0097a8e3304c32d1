/**
 * Unclean stop: back up the pair, replay the WAL, check every table against the read-only view
 * of the pair. When the replay or its check fails, salvage from the untouched copy instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../errors.js';
import { copyBackup } from '../layout/backup.js';
import { DB_FILE, type LocritTarget } from '../layout/locrits.js';
import type { Inspection } from '../store/inspect.js';
import type { TableCounts } from '../store/salvageQueries.js';
import { workFolder } from './install.js';
import { inWorker, step, verify, walBytesOf, type RecoverEnv } from './flow.js';
import { rebuildFromSalvage } from './rebuild.js';
import type { RepairPart } from './types.js';
import { countDelta } from './verify.js';

export async function replayWalFlow(
  env: RecoverEnv, target: LocritTarget, part: RepairPart, pairView: Inspection,
  /** Throws when kuzu.db is no longer the file the run started with (see src/layout/sameDatabase.ts). */
  checkSameDatabase: (step: string) => void = () => undefined,
): Promise<void> {
  const walBytes = walBytesOf(target.dbPath) ?? 0;
  const backup = copyBackup(target.dbPath, 'recover', env.backupDir);
  step(part, 'backup', true, `kept ${backup.dbBackup}${backup.walBackup ? ` and ${backup.walBackup}` : ''}`);
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
    const before = await inWorker(env, 'recover-inspect', target, { path: link, store: env.store });
    countsBefore = before.ok ? before.value.counts : null;
  } finally {
    fs.rmSync(alone, { recursive: true, force: true });
  }
  checkSameDatabase('replaying the WAL into kuzu.db');
  const replayed = await inWorker(env, 'recover-replay', target, { path: target.dbPath, store: env.store });
  step(part, 'replay', replayed.ok, replayed.ok ? `WAL of ${walBytes} bytes replayed into kuzu.db and checkpointed` : replayed.error.message);
  part.replay = {
    walBytes, dbBackup: backup.dbBackup, walBackup: backup.walBackup, countsBefore, countsExpected: pairView.counts,
    replayed: countDelta(countsBefore, pairView.counts),
  };
  const verification = await verify(env, target, target.dbPath, pairView.counts, pairView.schemaMissing);
  part.verification = verification;
  step(part, 'verify', verification.ok, verification.ok ? 'opens; every table holds what the read-only view of the pair showed; schema complete' : verification.problems.join('; '));
  if (replayed.ok && verification.ok) {
    part.outcome = 'repaired';
    part.exitCode = ExitCode.ok;
  } else {
    // The read-only view of the pair worked, so what it showed can still be salvaged from the
    // untouched copy (read-only opens replay its WAL in memory) into a fresh database.
    step(part, 'fall back', true, `salvage from the untouched pair kept in ${backup.dbBackup}`);
    part.action = 'salvage';
    part.plan.push('the replay failed: salvage from the untouched pair into a fresh database');
    await rebuildFromSalvage(env, target, part, backup.dbBackup);
  }
}
