/**
 * Whose is the WAL beside kuzu.db? Kuzu 0.11.3 cannot tell: its file header holds the magic,
 * the storage version and page ranges but no database id, and its WAL starts straight with the
 * first record, so a WAL replays into whatever file it sits beside (measured: 240 messages
 * became 340). The application's reset renames kuzu.db to kuzu.db.backup_<stamp> and leaves
 * kuzu.db.wal where it was, beside the fresh file it then creates. So the file system says it:
 * a WAL last written before its database file was created was written by another file, and
 * the owner is the application backup made at the first reset after that write.
 */
import fs from 'node:fs';
import type { BackupFile } from './files.js';

export interface WalOwnership {
  wal: string;
  bytes: number;
  /** Last write of the WAL (ISO). */
  modifiedAt: string;
  /** Creation of kuzu.db (ISO), null when the file system does not record it or kuzu.db is missing. */
  databaseCreatedAt: string | null;
  /** 'foreign': written by another database file; it must not be replayed into kuzu.db. */
  verdict: 'own' | 'foreign';
  reason: string;
  /** The backup the WAL belongs to (foreign WAL only; null when no backup fits). */
  ownerBackup: string | null;
}

/** Backup creation times are read from names to the second; a WAL written in the same second as the reset is the reset's. */
const SAME_SECOND_MS = 1000;

export function inspectWal(dbPath: string, backups: BackupFile[]): WalOwnership | null {
  const wal = `${dbPath}.wal`;
  const walStat = fs.statSync(wal, { throwIfNoEntry: false });
  if (!walStat || !walStat.isFile()) return null;
  const dbStat = fs.statSync(dbPath, { throwIfNoEntry: false });
  const birthMs = dbStat && dbStat.birthtimeMs > 0 ? dbStat.birthtimeMs : null;
  const base = {
    wal,
    bytes: walStat.size,
    modifiedAt: walStat.mtime.toISOString(),
    databaseCreatedAt: birthMs !== null ? new Date(birthMs).toISOString() : null,
  };
  const owner = ownerOf(walStat.mtimeMs, backups);
  if (!dbStat) {
    return { ...base, verdict: 'foreign', reason: 'kuzu.db is missing: the WAL belongs to a file that was moved away', ownerBackup: owner?.path ?? null };
  }
  if (birthMs !== null && walStat.mtimeMs < birthMs) {
    const made = owner ? ` by the file now named ${owner.path.split('/').pop()}` : '';
    return { ...base, verdict: 'foreign', reason: `the WAL was last written (${base.modifiedAt}) before kuzu.db was created (${base.databaseCreatedAt}): it was written${made}`, ownerBackup: owner?.path ?? null };
  }
  if (birthMs === null && owner && owner.madeBy === 'application') {
    // No creation time on this file system: an application reset after the WAL's last write is the evidence.
    return { ...base, verdict: 'foreign', reason: `the application moved kuzu.db aside (${owner.path.split('/').pop()}) after the WAL's last write`, ownerBackup: owner.path };
  }
  return { ...base, verdict: 'own', reason: 'the WAL was written after kuzu.db was created', ownerBackup: null };
}

/** The application backup made first after `walMtimeMs` (within the second). */
function ownerOf(walMtimeMs: number, backups: BackupFile[]): BackupFile | null {
  const candidates = backups
    .filter((b) => b.madeBy === 'application' && b.createdAt !== null && Date.parse(b.createdAt) + SAME_SECOND_MS > walMtimeMs)
    .sort((a, b) => Date.parse(a.createdAt!) - Date.parse(b.createdAt!));
  return candidates[0] ?? null;
}

