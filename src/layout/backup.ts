/**
 * Backups made before a database is rewritten, and the atomic swap of a rebuilt file into
 * place. A stray WAL beside a swapped-in file can crash Kuzu (kuzudb/kuzu#5777), so the old
 * WAL always moves aside with the old file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { asNoSpace, checkFreeSpace } from '../errors.js';
import { fileSizes, utcStamp } from './files.js';
import { databaseOwnership, makeContentFolder, writeLikeDatabase, type DatabaseOwnership } from './ownership.js';

export interface BackupResult {
  /** The copy of kuzu.db. */
  dbBackup: string;
  /** The copy of kuzu.db.wal, when there was one. */
  walBackup: string | null;
}

/** The folder for backups; one this creates is closed to others as the database is (backups hold every message). */
function backupFolder(dbPath: string, backupDir: string | null, owner: DatabaseOwnership): string {
  const dir = backupDir ? path.resolve(backupDir) : path.dirname(dbPath);
  makeContentFolder(dir, owner);
  return dir;
}

/** Copies a file through `<to>.partial`, gives the copy the database's owner and mode, then renames it into place. */
function copyLikeDatabase(from: string, to: string, owner: DatabaseOwnership): void {
  const temporary = `${to}.partial`;
  try {
    fs.copyFileSync(from, temporary);
    writeLikeDatabase(temporary, owner);
    fs.renameSync(temporary, to);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw asNoSpace(error, path.dirname(to), `copying ${from} to ${to}`);
  }
}

/**
 * Copies `from` to `to` (a work copy, not a backup), refusing first when the disk cannot hold it,
 * and removing a copy cut short by a full disk.
 */
export function copyWithRoom(from: string, to: string, doing = `copying ${from} to ${to}`): void {
  checkFreeSpace(path.dirname(to), fs.statSync(from).size, doing);
  try {
    fs.copyFileSync(from, to);
  } catch (error) {
    fs.rmSync(to, { force: true });
    throw asNoSpace(error, path.dirname(to), doing);
  }
}

function sizeOrZero(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/** `kuzu.db.locrit-mem-<reason>_<UTC stamp>`: the name `stats` and `recover --list` recognise. */
export function backupName(reason: string, at = new Date()): string {
  return `kuzu.db.locrit-mem-${reason}_${utcStamp(at)}`;
}

/**
 * Copies kuzu.db (and its WAL) to a backup, through a temporary name and a rename so that a
 * half-copied backup never looks complete. Both copies get the database's owner and mode.
 * `reason` is a short lowercase word such as "compact".
 */
export function copyBackup(dbPath: string, reason: string, backupDir: string | null = null, at = new Date()): BackupResult {
  const owner = databaseOwnership(dbPath);
  const dir = backupFolder(dbPath, backupDir, owner);
  const dbBackup = path.join(dir, backupName(reason, at));
  const wal = `${dbPath}.wal`;
  // Both sizes are known: refuse before the first byte rather than fill the disk half-way.
  checkFreeSpace(dir, sizeOrZero(dbPath) + sizeOrZero(wal) + sizeOrZero(`${dbPath}.shadow`), `backing up ${dbPath}${fs.existsSync(wal) ? ' and its WAL' : ''} to ${dir}`);
  copyLikeDatabase(dbPath, dbBackup, owner);
  let walBackup: string | null = null;
  if (fs.existsSync(wal)) {
    walBackup = `${dbBackup}.wal`;
    try {
      copyLikeDatabase(wal, walBackup, owner);
      // A checkpoint killed half-way keeps its pages in kuzu.db.shadow: the pair needs them.
      if (fs.existsSync(`${dbPath}.shadow`)) copyLikeDatabase(`${dbPath}.shadow`, `${dbBackup}.shadow`, owner);
    } catch (error) {
      // A backup of the file without its WAL is not the state it backs up: none at all.
      fs.rmSync(dbBackup, { force: true });
      fs.rmSync(walBackup, { force: true });
      throw error;
    }
  }
  return { dbBackup, walBackup };
}

/**
 * Puts `replacement` (a complete, verified, closed database file on the same file system) in
 * place of `dbPath` with one rename. The current file is first moved to a backup, its WAL with it.
 * The replacement gets the owner, group and mode of the file it replaces before the rename, so
 * the application never meets a kuzu.db it cannot open. Returns the backup of the file that was replaced.
 */
export function swapIn(dbPath: string, replacement: string, reason: string, backupDir: string | null = null, at = new Date()): BackupResult {
  const owner = databaseOwnership(dbPath);
  const dir = backupFolder(dbPath, backupDir, owner);
  const dbBackup = path.join(dir, backupName(reason, at));
  const wal = `${dbPath}.wal`;
  let walBackup: string | null = null;
  if (fs.existsSync(dbPath)) {
    // A hard link is the same file, owner and mode included; a copy is given them.
    if (path.dirname(dbBackup) === path.dirname(dbPath)) fs.linkSync(dbPath, dbBackup);
    else copyLikeDatabase(dbPath, dbBackup, owner);
  }
  if (fs.existsSync(wal)) {
    walBackup = `${dbBackup}.wal`;
    fs.renameSync(wal, walBackup);
  }
  fs.rmSync(`${replacement}.wal`, { force: true });
  writeLikeDatabase(replacement, owner);
  fs.renameSync(replacement, dbPath); // atomic: readers see the old file or the new one
  return { dbBackup, walBackup };
}

/** Removes locrit-mem's own backups beyond the `keep` newest. The application's backups are never touched. */
export function pruneBackups(dbPath: string, keep: number, backupDir: string | null = null): string[] {
  const ours = fileSizes(dbPath, backupDir).backups.filter((b) => b.madeBy === 'locrit-mem' && !b.path.endsWith('.wal'));
  ours.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.path.localeCompare(b.path));
  const removed: string[] = [];
  for (const backup of ours.slice(0, Math.max(0, ours.length - keep))) {
    fs.rmSync(backup.path, { force: true });
    fs.rmSync(`${backup.path}.wal`, { force: true });
    fs.rmSync(`${backup.path}.shadow`, { force: true });
    removed.push(backup.path);
  }
  return removed;
}
