/**
 * Files recover moves: the damaged database it replaces, kept under our backup naming,
 * and the atomic install of a rebuilt file. The damaged file is kept by a hard link under the
 * backup name before anything changes, so kuzu.db is never missing: one rename then puts the
 * rebuilt file in its place (readers see the old file or the new one).
 */
import fs from 'node:fs';
import path from 'node:path';
import { databaseOwnership, writeLikeDatabase } from '../layout/ownership.js';
import { backupName } from '../layout/backup.js';
import { makeWorkFolder } from '../layout/scratch.js';

const pad = (n: number): string => String(n).padStart(2, '0');

/** `kuzu.db.backup_YYYYMMDD_HHMMSS` in local time, as the application names its backups. */
export function appBackupName(at: Date): string {
  return `kuzu.db.backup_${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}_${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
}

/** A free application-style backup path beside the database (a second later when taken). */
export function freeAppBackupPath(dbPath: string, at: Date): string {
  for (let offset = 0; ; offset++) {
    const candidate = path.join(path.dirname(dbPath), appBackupName(new Date(at.getTime() + offset * 1000)));
    if (!fs.existsSync(candidate) && !fs.existsSync(`${candidate}.wal`)) return candidate;
  }
}

export interface KeptFiles {
  dbBackup: string;
  walBackup: string | null;
}

/**
 * Keeps a damaged kuzu.db as `kuzu.db.locrit-mem-damaged_<UTC stamp>` (hard link, else copy) and
 * copies its WAL beside it. Our name, not the application's: a damaged file kept under the
 * application's backup naming would look like one of its backups to every later run.
 */
export function keepDamaged(dbPath: string, at: Date): KeptFiles {
  let dbBackup = path.join(path.dirname(dbPath), backupName('damaged', at));
  for (let offset = 1; fs.existsSync(dbBackup) || fs.existsSync(`${dbBackup}.wal`); offset++) dbBackup = path.join(path.dirname(dbPath), backupName('damaged', new Date(at.getTime() + offset)));
  const owner = databaseOwnership(dbPath);
  try {
    fs.linkSync(dbPath, dbBackup);
  } catch {
    fs.copyFileSync(dbPath, `${dbBackup}.partial`);
    writeLikeDatabase(`${dbBackup}.partial`, owner);
    fs.renameSync(`${dbBackup}.partial`, dbBackup);
  }
  let walBackup: string | null = null;
  if (fs.existsSync(`${dbPath}.wal`)) {
    walBackup = `${dbBackup}.wal`;
    fs.copyFileSync(`${dbPath}.wal`, `${walBackup}.partial`);
    writeLikeDatabase(`${walBackup}.partial`, owner);
    fs.renameSync(`${walBackup}.partial`, walBackup);
  }
  return { dbBackup, walBackup };
}

/**
 * Puts a rebuilt, verified, closed database in place of kuzu.db, whose bytes were kept
 * beforehand (keepDamaged). The old WAL goes first: left beside the new file it would be
 * replayed into it (kuzu#5777); its copy is in the backup. The rebuilt file gets the owner,
 * group and mode of the one it replaces before the rename, so the application can open it.
 */
export function installRebuilt(rebuilt: string, dbPath: string): void {
  const owner = databaseOwnership(dbPath);
  fs.rmSync(`${dbPath}.wal`, { force: true });
  fs.rmSync(`${rebuilt}.wal`, { force: true });
  writeLikeDatabase(rebuilt, owner);
  fs.renameSync(rebuilt, dbPath);
}

/** A work folder beside the database (same file system, so renames are atomic); the next run removes one a killed run left. */
export function workFolder(dbPath: string, purpose: string): string {
  return makeWorkFolder(dbPath, purpose);
}
