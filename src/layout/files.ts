import fs from 'node:fs';
import path from 'node:path';

/** The application's own backups: kuzu.db.backup_YYYYMMDD_HHMMSS. */
export const APP_BACKUP_PATTERN = /^kuzu\.db\.backup_(\d{8})_(\d{6})$/;
/** Backups this tool makes before it rewrites a database: kuzu.db.locrit-mem-<reason>_YYYYMMDDTHHMMSSZ. */
export const TOOL_BACKUP_PATTERN = /^kuzu\.db\.locrit-mem-([a-z-]+)_(\d{8}T\d{6}(?:\d{3})?Z)$/;

export interface FileSizes {
  dbBytes: number | null;
  walBytes: number | null;
  backups: BackupFile[];
}

export interface BackupFile {
  path: string;
  bytes: number;
  /** 'application' for kuzu.db.backup_<stamp>, 'locrit-mem' for ours. */
  madeBy: 'application' | 'locrit-mem';
  /** When it was made, from its name (application stamps are local time). */
  createdAt: string | null;
}

function sizeOrNull(file: string): number | null {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? null;
}

/** Sizes of kuzu.db, its WAL and the backups beside it. Backups are folders in old Kuzu versions, so their size is summed. */
export function fileSizes(dbPath: string, backupDir?: string | null): FileSizes {
  const dir = path.dirname(dbPath);
  const backups: BackupFile[] = [];
  const dirs = [dir];
  if (backupDir && path.resolve(backupDir) !== path.resolve(dir)) dirs.push(backupDir);
  for (const folder of dirs) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const app = APP_BACKUP_PATTERN.exec(name);
      const ours = TOOL_BACKUP_PATTERN.exec(name);
      if (!app && !ours) continue;
      const full = path.join(folder, name);
      backups.push({
        path: full,
        bytes: treeSize(full),
        madeBy: app ? 'application' : 'locrit-mem',
        createdAt: app ? appStampToIso(app[1], app[2]) : ours ? toolStampToIso(ours[2]) : null,
      });
    }
  }
  return { dbBytes: sizeOrNull(dbPath), walBytes: sizeOrNull(`${dbPath}.wal`), backups };
}

function treeSize(p: string): number {
  const stat = fs.statSync(p, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return fs.readdirSync(p).reduce((sum, name) => sum + treeSize(path.join(p, name)), 0);
}

function appStampToIso(date: string, time: string): string {
  // Local wall-clock time, as the application wrote it.
  const local = new Date(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8), +time.slice(0, 2), +time.slice(2, 4), +time.slice(4, 6));
  return local.toISOString();
}

function toolStampToIso(stamp: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})?Z$/.exec(stamp)!;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], m[7] ? +m[7] : 0)).toISOString();
}

/** A compact UTC stamp for file and folder names: 20251121T120102123Z. */
export function utcStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/[-:]/g, '').replace('.', '');
}

/** Removes each path that exists (files and folders); returns the paths removed. */
export function removeExisting(paths: string[]): string[] {
  const removed: string[] = [];
  for (const p of paths) {
    if (fs.existsSync(p)) {
      fs.rmSync(p, { recursive: true, force: true });
      removed.push(p);
    }
  }
  return removed;
}

/** A file's size in bytes, 0 when it does not exist. */
export function sizeOf(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}
