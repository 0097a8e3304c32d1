/**
 * The check every destructive step makes first: is kuzu.db still the file this run started
 * with? While locrit-mem holds a database for a long rewrite, the Locrit application may start;
 * its open fails on our lock, and it then moves kuzu.db to kuzu.db.backup_YYYYMMDD_HHMMSS and
 * creates a fresh, empty kuzu.db. Committing a delete, renaming a rebuilt file into place or
 * swapping in a restore after that would act on the wrong file (or leave our WAL beside the
 * application's new one). So: note the file's device and inode and the application's backups
 * at the start; before each destructive step, compare; on any change, stop and keep everything.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseUnavailableError } from '../errors.js';
import { APP_BACKUP_PATTERN } from './files.js';

export interface DatabaseIdentity {
  dbPath: string;
  /** Null when there was no kuzu.db (a restore into a missing database). */
  dev: bigint | null;
  ino: bigint | null;
  /** The application's kuzu.db.backup_* beside the database when the run started. */
  appBackups: string[];
}

function appBackupsBeside(dbPath: string): string[] {
  try {
    return fs.readdirSync(path.dirname(dbPath)).filter((name) => APP_BACKUP_PATTERN.test(name)).sort();
  } catch {
    return [];
  }
}

/** Notes which file kuzu.db is now, and which application backups lie beside it. */
export function noteDatabaseIdentity(dbPath: string): DatabaseIdentity {
  const stat = fs.statSync(dbPath, { bigint: true, throwIfNoEntry: false });
  return { dbPath, dev: stat?.dev ?? null, ino: stat?.ino ?? null, appBackups: appBackupsBeside(dbPath) };
}

/** What changed since the identity was noted, or null when kuzu.db is still the same file and no application backup appeared. */
export function databaseChange(identity: DatabaseIdentity): string | null {
  const stat = fs.statSync(identity.dbPath, { bigint: true, throwIfNoEntry: false });
  const newBackups = appBackupsBeside(identity.dbPath).filter((name) => !identity.appBackups.includes(name));
  const changes: string[] = [];
  if (!stat && identity.ino !== null) changes.push('kuzu.db is gone');
  else if (stat && identity.ino === null) changes.push('a new kuzu.db appeared');
  else if (stat && (stat.dev !== identity.dev || stat.ino !== identity.ino)) changes.push('kuzu.db is another file than the one this run opened');
  if (newBackups.length) changes.push(`the application moved a database aside (${newBackups.join(', ')})`);
  return changes.length ? changes.join('; ') : null;
}

/**
 * Throws when kuzu.db is no longer the file the run started with, or the application made a
 * backup meanwhile (it reset the Locrit). `step` names what was about to happen. The caller
 * changes nothing more; every file stays where it is.
 */
export function assertSameDatabase(identity: DatabaseIdentity, step: string, locrit: string): void {
  const change = databaseChange(identity);
  if (!change) return;
  throw new DatabaseUnavailableError(
    `${identity.dbPath} changed during the run (${change}): the Locrit application probably reset this Locrit while locrit-mem held it. Stopped before ${step}; nothing more was changed and every file was kept`,
    'replaced',
    `run \`locrit-mem recover ${locrit}\` to merge the reset database back, then rerun this command with the application stopped`,
  );
}
