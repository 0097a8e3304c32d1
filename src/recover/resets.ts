/**
 * Finding resets: backups (the application's kuzu.db.backup_<stamp> and ours) that hold messages
 * neither the current database nor a complete archive holds. When the application cannot open
 * a Locrit's database it moves the file aside and starts empty, so every earlier message sits
 * in such a backup while the Locrit talks on without it. Id sets are compared inside Kuzu
 * (src/store/idSets.ts), so memory does not grow with the number of messages. Each backup is
 * read in a child process: a damaged backup can crash Kuzu, and is then reported as unreadable.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listArchives, messageFilesOf } from '../archive/format.js';
import { DatabaseUnavailableError, toErrorReport, type ErrorReport } from '../errors.js';
import { fileSizes, type BackupFile } from '../layout/files.js';
import { inspectWal, type WalOwnership } from '../layout/walOwner.js';
import { IdSet, type IdExport, type ReadSettings } from '../store/idSets.js';
import { isCheckpointInProgress, withSnapshot } from '../store/snapshot.js';
import { foreignWalReason, walCheckPair } from '../store/walContent.js';

export interface ResetScanOptions {
  /** The archive root (`archive.dir`); null when archives are not considered. */
  archiveRoot: string | null;
  /** The folder name of the Locrit (archives live under <archiveRoot>/<folder>). */
  folder: string;
  backupDir?: string | null;
  settings: ReadSettings;
  /** How many missing ids to list per backup (examples). */
  examples?: number;
  /**
   * Also judge a WAL that file times call the file's own by what replaying it adds (a copy and
   * two read-only opens): for the commands that would replay it or say whether to.
   */
  checkWalContent?: boolean;
}

export interface BackupFinding {
  path: string;
  name: string;
  madeBy: 'application' | 'locrit-mem';
  /** When the backup was made, from its name (ISO). */
  createdAt: string | null;
  /** A WAL read together with the backup: its own, or the one the reset left beside kuzu.db. */
  walUsed: string | null;
  readable: boolean;
  error: string | null;
  /** Messages the backup holds (null when unreadable). */
  held: number | null;
  /** Of those, how many the current database holds. */
  inCurrent: number | null;
  /** Of the rest, how many a complete archive holds (removed on purpose). */
  inArchives: number | null;
  /** Messages found nowhere else: what a merge would bring back. */
  missing: number | null;
  missingExamples: string[];
  firstMessageAt: string | null;
  lastMessageAt: string | null;
}

export interface ResetScan {
  dbPath: string;
  current: { readable: boolean; error: string | null; messages: number | null; firstMessageAt: string | null; lastMessageAt: string | null };
  /** Complete archives whose ids were subtracted. */
  archives: string[];
  backups: BackupFinding[];
  /** Backups holding messages found nowhere else, oldest first: each one is a reset to merge back. */
  resets: BackupFinding[];
  unreadable: BackupFinding[];
  /** Distinct messages missing over all backups together. */
  missingTotal: number;
  wal: WalOwnership | null;
  /** The files the scan read as they stood when it began (see filesOfLocrit). */
  filesSeen: string;
}

const CHILD = fileURLToPath(new URL('./sourceChild.js', import.meta.url));

/**
 * Backups of a Locrit (database files only: their WAL copies and folders from old Kuzu versions
 * are left out, and so are the damaged files `recover` kept after salvaging what they held).
 */
export function backupsOf(dbPath: string, backupDir: string | null = null): BackupFile[] {
  return fileSizes(dbPath, backupDir).backups.filter((b) => {
    if (/^kuzu\.db\.locrit-mem-damaged_/.test(path.basename(b.path))) return false;
    const stat = fs.statSync(b.path, { throwIfNoEntry: false });
    return stat?.isFile() === true;
  });
}

/**
 * kuzu.db, its WAL and every backup with its WAL, each by inode, size and modification time: a
 * later step may reuse a scan only while this is unchanged (a new reset, a replayed or new WAL
 * and a rewritten file all change it).
 */
export function filesOfLocrit(dbPath: string, backupDir: string | null = null): string {
  const files = [dbPath, ...backupsOf(dbPath, backupDir).map((b) => b.path)].flatMap((file) => [file, `${file}.wal`]);
  return files
    .map((file) => {
      const stat = fs.statSync(file, { throwIfNoEntry: false });
      return `${file}=${stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}` : '-'}`;
    })
    .join('\n');
}

export async function scanResets(dbPath: string, options: ResetScanOptions): Promise<ResetScan> {
  const filesSeen = filesOfLocrit(dbPath, options.backupDir ?? null);
  const backups = backupsOf(dbPath, options.backupDir ?? null);
  let wal = inspectWal(dbPath, backups);
  if (wal?.verdict === 'own' && options.checkWalContent) {
    const signs = await walContentSigns(dbPath, options.settings);
    if (signs.length) wal = { ...wal, verdict: 'foreign', reason: foreignWalReason(signs), ownerBackup: null };
  }
  const scan: ResetScan = {
    dbPath,
    current: { readable: false, error: null, messages: null, firstMessageAt: null, lastMessageAt: null },
    archives: options.archiveRoot ? listArchives(options.archiveRoot, options.folder).complete : [],
    backups: [],
    resets: [],
    unreadable: [],
    missingTotal: 0,
    wal,
    filesSeen,
  };
  if (backups.length === 0) return scan;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'locrit-mem-resets-'));
  try {
    const walsUsed = backups.map((backup) => (wal?.verdict === 'foreign' && wal.ownerBackup === backup.path ? wal.wal : ownWal(backup.path)));
    // The current file and the backups are read two at a time, each in its own process; compared one by one after.
    const exports = await inTurns(backups.length + 1, READERS_AT_ONCE, (i) =>
      i === 0
        ? // A WAL another file wrote is left out of the copy.
          exportCurrentIds(dbPath, work, options.settings, wal !== null && wal.verdict !== 'own')
        : // A backup with a WAL to replay is read from a copy, so that the pair is read as one and nothing is written beside the backup.
          exportIds(backups[i - 1].path, walsUsed[i - 1], work, `backup-${i - 1}`, options.settings, walsUsed[i - 1] !== null),
    );
    const current = exports[0];
    if ('error' in current) scan.current.error = current.error.message;
    else scan.current = { readable: true, error: null, messages: current.messages, firstMessageAt: current.firstMessageAt, lastMessageAt: current.lastMessageAt };
    const archiveFiles = archiveMessageFiles(scan.archives);
    // With one backup, the messages missing overall are its own: no union to build.
    const everyMissing = backups.length > 1 ? await IdSet.create(path.join(work, 'missing-all'), options.settings) : null;
    try {
      for (const [index, backup] of backups.entries()) {
        const finding = await compareBackup(backup, walsUsed[index], exports[index + 1], 'error' in current ? null : current.file, archiveFiles, work, index, everyMissing !== null, options);
        scan.backups.push(finding.finding);
        if (!finding.finding.readable) scan.unreadable.push(finding.finding);
        else if ((finding.finding.missing ?? 0) > 0) {
          scan.resets.push(finding.finding);
          if (finding.missingFile) await everyMissing?.fill(finding.missingFile);
        }
      }
      scan.missingTotal = everyMissing ? await everyMissing.count() : (scan.resets[0]?.missing ?? 0);
    } finally {
      await everyMissing?.close();
    }
    scan.resets.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
    return scan;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * What replaying the WAL into a private copy adds that the file's own writer could not have
 * written (src/store/walContent.ts), read in a child process: a WAL of another file can crash
 * Kuzu. Not looked at while a process holds the database: the WAL is then that process's own,
 * being written. Empty when there is no sign, or the copy cannot be read (other checks judge it).
 */
async function walContentSigns(dbPath: string, settings: ReadSettings): Promise<string[]> {
  let pair;
  try {
    pair = await walCheckPair(dbPath);
  } catch {
    return [];
  }
  if (!pair) return [];
  try {
    const outcome = await runSourceChild<string[]>(['wal-check', pair.pairDb, pair.aloneDb, String(Math.min(settings.bufferPoolMb, 256))], dbPath);
    return Array.isArray(outcome) ? outcome : [];
  } finally {
    pair.remove();
  }
}

/** A backup's own WAL copy (ours are `<backup>.wal`), when there is one. */
function ownWal(backupPath: string): string | null {
  return fs.existsSync(`${backupPath}.wal`) ? `${backupPath}.wal` : null;
}

function archiveMessageFiles(archives: string[]): string[] {
  const files: string[] = [];
  for (const archive of archives) {
    try {
      files.push(...messageFilesOf(archive));
    } catch {
      // An archive whose manifest cannot be read does not count as holding anything.
    }
  }
  return files;
}

async function compareBackup(
  backup: BackupFile,
  walUsed: string | null,
  exported: ExportOutcome,
  currentIds: string | null,
  archiveFiles: string[],
  work: string,
  index: number,
  keepMissing: boolean,
  options: ResetScanOptions,
): Promise<{ finding: BackupFinding; missingFile: string | null }> {
  const finding: BackupFinding = {
    path: backup.path,
    name: path.basename(backup.path),
    madeBy: backup.madeBy,
    createdAt: backup.createdAt,
    walUsed,
    readable: false,
    error: null,
    held: null,
    inCurrent: null,
    inArchives: null,
    missing: null,
    missingExamples: [],
    firstMessageAt: null,
    lastMessageAt: null,
  };
  if ('error' in exported) {
    finding.error = exported.error.message;
    return { finding, missingFile: null };
  }
  finding.readable = true;
  finding.held = exported.messages;
  finding.firstMessageAt = exported.firstMessageAt;
  finding.lastMessageAt = exported.lastMessageAt;
  const set = await IdSet.create(path.join(work, `set-${index}`), options.settings);
  try {
    await set.fill(exported.file);
    finding.inCurrent = currentIds ? await set.subtract(currentIds) : 0;
    let archived = 0;
    for (const file of archiveFiles) archived += await set.subtract(file);
    finding.inArchives = archived;
    finding.missing = await set.count();
    finding.missingExamples = await set.sample(options.examples ?? 3);
    let missingFile: string | null = null;
    if (finding.missing > 0 && keepMissing) {
      missingFile = path.join(work, `missing-${index}.parquet`);
      await set.exportTo(missingFile);
    }
    return { finding, missingFile };
  } finally {
    await set.close();
  }
}

type ExportOutcome = IdExport | { error: ErrorReport };
export type ChildOutcome<T> = T | { error: ErrorReport };

/** Exports a database's Message ids in a child process; with `copy`, from a copy (with `wal` beside it as its WAL). */
async function exportIds(dbPath: string, wal: string | null, work: string, label: string, settings: ReadSettings, copy: boolean): Promise<ExportOutcome> {
  if (!fs.existsSync(dbPath)) return { error: toErrorReport(new DatabaseUnavailableError(`${dbPath} does not exist`, 'missing')) };
  let source = dbPath;
  if (copy) {
    source = path.join(work, `${label}.kuzu`);
    fs.copyFileSync(dbPath, source);
    if (wal) fs.copyFileSync(wal, `${source}.wal`);
    // The pages of a checkpoint killed half-way: the copy's read finishes it (ids-of-copy).
    if (wal && fs.existsSync(`${dbPath}.shadow`)) fs.copyFileSync(`${dbPath}.shadow`, `${source}.shadow`);
  }
  const file = path.join(work, `${label}.ids.parquet`);
  try {
    const outcome = await runSourceChild<IdExport>([copy ? 'ids-of-copy' : 'ids', source, file, String(Math.min(settings.bufferPoolMb, 256))], source);
    // Name the file the operator knows, not the copy.
    if ('error' in outcome) outcome.error.message = outcome.error.message.split(source).join(dbPath);
    return outcome;
  } finally {
    if (copy) {
      fs.rmSync(source, { force: true });
      fs.rmSync(`${source}.wal`, { force: true });
      fs.rmSync(`${source}.shadow`, { force: true });
    }
  }
}

/**
 * The current kuzu.db's Message ids, from a consistent private copy: the application may hold the
 * file and commit or checkpoint while it is copied (src/store/snapshot.ts), and a read-only open
 * of the live file would take a lock that makes the application's own open fail.
 */
async function exportCurrentIds(dbPath: string, work: string, settings: ReadSettings, leaveWalOut: boolean): Promise<ExportOutcome> {
  if (!fs.existsSync(dbPath)) return { error: toErrorReport(new DatabaseUnavailableError(`${dbPath} does not exist`, 'missing')) };
  try {
    return await withSnapshot(dbPath, async (snapshot) => {
      const file = path.join(work, 'current.ids.parquet');
      // ids-of-copy: a checkpoint killed half-way left its pages beside the copy; the copy's read finishes it.
      const outcome = await runSourceChild<IdExport>(['ids-of-copy', snapshot.dbPath, file, String(Math.min(settings.bufferPoolMb, 256))], snapshot.dbPath);
      // Name the file the operator knows, not the copy.
      if ('error' in outcome) outcome.error.message = outcome.error.message.split(snapshot.dbPath).join(dbPath);
      // A copy caught between a checkpoint logging itself and rewriting kuzu.db: withSnapshot copies again.
      if ('error' in outcome && isCheckpointInProgress(outcome.error.message)) throw new Error(outcome.error.message);
      return outcome;
    }, { leaveWalOut });
  } catch (error) {
    return { error: toErrorReport(error) };
  }
}


/** Databases read at the same time: two cores' worth, each reader in its own process with its own bounded pool. */
export const READERS_AT_ONCE = 2;

/**
 * `task(0)` ... `task(count - 1)`, at most `atOnce` running, results in order. Every task is
 * waited for before a failure is thrown: none is left writing into a folder the caller removes.
 */
export async function inTurns<T>(count: number, atOnce: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: PromiseSettledResult<T>[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i).then(
        (value) => ({ status: 'fulfilled' as const, value }),
        (reason: unknown) => ({ status: 'rejected' as const, reason }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, count) }, worker));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Runs src/recover/sourceChild.js with `args`; a crash or a failure becomes an error naming `dbPath`. */
export function runSourceChild<T>(args: string[], dbPath: string): Promise<ChildOutcome<T>> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CHILD, ...args], { maxBuffer: 16 * 1024 * 1024, timeout: 3_600_000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        const reply = JSON.parse(line) as { ok: true; value: T } | { ok: false; error: ErrorReport };
        resolve(reply.ok ? reply.value : { error: reply.error });
        return;
      } catch {
        // No reply: the child crashed (a damaged file can kill Kuzu natively).
      }
      const how = error && 'signal' in error && error.signal ? `the reader crashed (${String(error.signal)})` : `the reader failed (${firstLine(stderr) || 'no output'})`;
      resolve({ error: toErrorReport(new DatabaseUnavailableError(`${dbPath} cannot be read: ${how}`, 'damaged')) });
    });
  });
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 300) ?? '';
}
