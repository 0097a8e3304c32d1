/**
 * --prune-backups: removes the backups (the application's kuzu.db.backup_* and ours) whose every
 * message is in kuzu.db or a complete archive, checked with the same id comparison that finds
 * resets (src/recover/resets.ts). A backup that cannot be read, that holds a message found
 * nowhere else, or that changed since it was compared is kept; archives are never touched.
 * --dry-run lists what would go.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';
import { acquireRunLock } from '../layout/runLock.js';
import { holderOf } from '../store/locks.js';
import { elapsed, emptyBase, refuse, step, type RecoverEnv } from './flow.js';
import { findResets } from './mergeFlow.js';
import type { PrunePart, Timed } from './types.js';

function identity(file: string): string | null {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}` : null;
}

export async function pruneAll(env: RecoverEnv, targets: LocritTarget[]): Promise<Timed<PrunePart>[]> {
  const results: Timed<PrunePart>[] = [];
  for (const target of targets) {
    const started = performance.now();
    const part: PrunePart = { ...emptyBase('requested'), action: 'prune-backups', outcome: 'ok', pruned: [] };
    try {
      await pruneOne(env, target, part);
    } catch (error) {
      part.outcome = 'failed';
      part.exitCode = ExitCode.unavailable;
      part.problems.push((error as Error).message);
    }
    results.push({ target, part, durationMs: elapsed(started) });
  }
  return results;
}

async function pruneOne(env: RecoverEnv, target: LocritTarget, part: PrunePart): Promise<void> {
  const holder = await holderOf(target.dbPath);
  if (holder && !env.options.dryRun) {
    refuse(part, target.dbPath, holder);
    return;
  }
  env.phase(`${target.name}: comparing backups`);
  const before = new Map<string, string | null>();
  const scan = await findResets(env, target);
  if (scan.backups.length === 0) return;
  if (!scan.current.readable) {
    part.problems.push(`kuzu.db cannot be read (${scan.current.error ?? 'unknown error'}): no backup is removed`);
    part.outcome = 'refused';
    part.exitCode = ExitCode.unavailable;
    return;
  }
  for (const backup of scan.backups) {
    before.set(backup.path, identity(backup.path));
    const removable = backup.readable && backup.missing === 0;
    const why = !backup.readable
      ? `kept: cannot be read (${backup.error ?? 'unknown error'})`
      : backup.missing
        ? `kept: ${backup.missing} of its ${backup.held} messages are nowhere else (run \`locrit-mem recover ${target.name}\` to merge them)`
        : `every one of its ${backup.held} messages is in kuzu.db (${backup.inCurrent}) or a complete archive (${backup.inArchives})`;
    part.pruned.push({ path: backup.path, madeBy: backup.madeBy, createdAt: backup.createdAt, bytes: fs.statSync(backup.path, { throwIfNoEntry: false })?.size ?? 0, held: backup.held, missing: backup.missing, removable, removed: false, reason: why });
  }
  const removable = part.pruned.filter((p) => p.removable);
  part.plan = removable.map((p) => `remove ${path.basename(p.path)}${fs.existsSync(`${p.path}.wal`) ? ' and its WAL' : ''}: ${p.reason}`);
  if (env.options.dryRun) {
    part.outcome = removable.length ? 'planned' : 'ok';
    return;
  }
  if (!removable.length) return;
  const lock = acquireRunLock(target.dbPath, 'recover --prune-backups');
  try {
    for (const entry of removable) {
      // The comparison holds only for the bytes that were compared.
      if (identity(entry.path) !== before.get(entry.path)) {
        entry.reason = 'kept: it changed since it was compared';
        continue;
      }
      fs.rmSync(entry.path, { force: true });
      fs.rmSync(`${entry.path}.wal`, { force: true });
      fs.rmSync(`${entry.path}.shadow`, { force: true });
      entry.removed = true;
      step(part, 'remove', true, `${entry.path}: ${entry.reason}`);
    }
  } finally {
    lock.release();
  }
  part.outcome = 'repaired';
}
