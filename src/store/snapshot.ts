/**
 * Consistent private copies of a live database ("snapshots"), so that read-only work never
 * opens a file the Locrit application may open at the same moment. A read-only open takes a
 * shared lock; the application's read-write open fails on it and the application then resets
 * the Locrit (moves kuzu.db aside and starts empty). Reading the bytes takes no lock.
 *
 * A snapshot copies kuzu.db, then kuzu.db.wal, into a private folder. The writer may commit
 * (the WAL grows) or checkpoint (pages of kuzu.db are rewritten, then the WAL is deleted and a
 * new one starts) while we copy. A copy is kept only when, between a stat before and a stat
 * after, kuzu.db did not change at all and the WAL is the same file and did not shrink: then the
 * copy is kuzu.db as of the last checkpoint plus a prefix of the WAL that follows it, which a
 * read-only open replays up to its last whole record. One case passes that test and still
 * cannot be read: a WAL copied just after a checkpoint logged itself and before it rewrote
 * kuzu.db; Kuzu refuses to open it read-only, and withSnapshot copies again. Otherwise it is
 * taken again, a bounded number of times, and the Locrit is reported busy rather than with
 * wrong figures.
 * Copies are reflinks where the file system has them (btrfs, XFS), plain copies elsewhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseUnavailableError, type LockHolder } from '../errors.js';
import { fileSizes } from '../layout/files.js';
import { makeScratchFolder } from '../layout/scratch.js';
import { inspectWal } from '../layout/walOwner.js';
import { checkHeader } from './header.js';
import { withStore } from './kuzu.js';
import { holderOf } from './locks.js';

export interface Snapshot {
  /** The live database that was copied. */
  livePath: string;
  /** The copy (kuzu.db in a private folder, its WAL beside it when there was one). */
  dbPath: string;
  /** When the copy that was kept was started (ISO 8601). */
  takenAt: string;
  /** Copies made, the one kept included (more than 1 when the writer changed the file meanwhile). */
  attempts: number;
  dbBytes: number;
  walBytes: number | null;
  /** The process holding the live database open when the copy was made, or null. */
  holder: LockHolder | null;
}

export interface SnapshotOptions {
  /** Copies tried before giving up (default 8). */
  attempts?: number;
  /** Pause before the second copy; it doubles each time (default 20 ms). */
  pauseMs?: number;
  /** Free space to leave on the scratch disk beyond the copy (default 64 MiB). */
  reserveBytes?: number;
  /** Copy kuzu.db without its WAL (the caller found the WAL is another file's). */
  leaveWalOut?: boolean;
  /** Tests: called between copying kuzu.db and copying the WAL. */
  betweenCopies?: () => void;
  /**
   * withSnapshot: a copy already taken (by the parent process, which removes it afterwards), read
   * first; its attempts count against the bound. It is never removed here.
   */
  taken?: Snapshot;
}

/** A snapshot as takeSnapshot returns it: the caller removes it, at once or in the background. */
export interface OwnedSnapshot extends Snapshot {
  remove(): void;
  /** Removes the copy without blocking (a 400 MB file takes 20-40 ms to delete). */
  removeInBackground(): Promise<void>;
}

const DEFAULT_ATTEMPTS = 8;
const DEFAULT_PAUSE_MS = 20;
const DEFAULT_RESERVE_BYTES = 64 * 1024 * 1024;

interface FileState {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
}

function stateOf(file: string): FileState | null {
  const stat = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!stat) return null;
  return { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs, birthtimeNs: stat.birthtimeNs };
}

function sameFile(a: FileState, b: FileState): boolean {
  // Kuzu deletes the WAL at a checkpoint and ext4 reuses the inode number at once: the birth time tells them apart.
  return a.dev === b.dev && a.ino === b.ino && a.birthtimeNs === b.birthtimeNs;
}

function unchanged(a: FileState, b: FileState): boolean {
  return sameFile(a, b) && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * Whether a copy of kuzu.db made between `before` and `after` and a copy of the WAL made after
 * it form one consistent state. A WAL that appeared meanwhile was not copied: kuzu.db alone is
 * then the state before the first commit that created it.
 */
export function consistentCopy(
  before: { db: FileState; wal: FileState | null },
  after: { db: FileState | null; wal: FileState | null },
  walCopied: boolean,
): boolean {
  if (!after.db || !unchanged(before.db, after.db)) return false;
  if (!before.wal) return !walCopied;
  if (!walCopied || !after.wal) return false;
  return sameFile(before.wal, after.wal) && after.wal.size >= before.wal.size;
}

function freeBytes(folder: string): number | null {
  try {
    const stat = fs.statfsSync(folder);
    return stat.bavail * stat.bsize;
  } catch {
    return null;
  }
}

function mb(bytes: number): string {
  return `${Math.ceil(bytes / (1024 * 1024))} MB`;
}

function noSpace(livePath: string, folder: string, needed: number, free: number | null): DatabaseUnavailableError {
  return new DatabaseUnavailableError(
    `not enough free space to copy ${livePath} for reading: it needs ${mb(needed)} in ${path.dirname(folder)}${free !== null ? `, ${mb(free)} free` : ''}`,
    'no-space',
    'free space on that disk, or point TMPDIR at a disk with room',
  );
}

/** Bytes read or written per request by the hand copy. */
const COPY_CHUNK = 1 << 20;
/**
 * Requests in flight at once when copying kuzu.db by hand. Several reads and writes at different
 * offsets run on libuv's threads side by side: a 412 MB copy took 105-130 ms with 4 against
 * 140-180 ms one chunk at a time (2 cores, same CPU time). Only for kuzu.db, whose copy is kept
 * only when the file did not change at all; the WAL, kept when it merely grew, is copied in
 * order so that its copy is always a prefix of it.
 */
const DB_COPY_LANES = 4;

/**
 * Copies `from` to `to` (mode 0600): a reflink where the file system has one, else by hand, with
 * `lanes` positioned reads and writes in flight, stopping where a read finds the end of the file
 * as it is then. Every request moves on by a chunk, so a file that shrinks or grows during the
 * copy ends it too (the caller's stat before and after rejects such a copy). Not
 * fs.copyFileSync's plain copy: its copy_file_range loop (libuv) spins at 100 % CPU forever when
 * the source shrinks during the copy, which a live WAL does when its writer checkpoints (seen in
 * a test run: a stats snapshot stuck for 10 minutes, copy_file_range returning 0 again and again).
 */
async function copyPrivate(from: string, to: string, lanes = 1): Promise<void> {
  try {
    await fs.promises.copyFile(from, to, fs.constants.COPYFILE_FICLONE_FORCE);
    await fs.promises.chmod(to, 0o600);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOSPC') throw error;
    // No reflink on this file system: copy by hand below.
  }
  const input = await fs.promises.open(from, 'r');
  try {
    const output = await fs.promises.open(to, 'w', 0o600);
    try {
      let next = 0;
      let end = Infinity;
      const lane = async (): Promise<void> => {
        const buffer = Buffer.allocUnsafe(COPY_CHUNK);
        while (next < end) {
          const at = next;
          next += COPY_CHUNK;
          const { bytesRead } = await input.read(buffer, 0, COPY_CHUNK, at);
          if (bytesRead < COPY_CHUNK) end = Math.min(end, at + bytesRead);
          for (let written = 0; written < bytesRead; ) written += (await output.write(buffer, written, bytesRead - written, at + written)).bytesWritten;
        }
      };
      // Every lane settles before the files are closed; the first failure is the copy's.
      const failed = (await Promise.allSettled(Array.from({ length: lanes }, lane))).find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
  await fs.promises.chmod(to, 0o600);
}

/**
 * Takes a consistent copy of a live database. The caller must call `remove()` (withSnapshot does).
 * Throws 'missing' / 'not-kuzu' / 'unsupported-version' as opening would, 'no-space' when the
 * scratch disk is too full, and 'busy' when every copy was changed under us.
 */
export async function takeSnapshot(dbPath: string, options: SnapshotOptions = {}): Promise<OwnedSnapshot> {
  checkHeader(dbPath);
  // Looked for while the files are copied (reading /proc/locks mostly waits in the kernel).
  const holderFound = holderOf(dbPath);
  let holder: LockHolder | null = null;
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  let pause = options.pauseMs ?? DEFAULT_PAUSE_MS;
  const folder = makeScratchFolder(path.basename(path.dirname(dbPath)) || 'locrit');
  const remove = (): void => fs.rmSync(folder, { recursive: true, force: true });
  const removeInBackground = (): Promise<void> => fs.promises.rm(folder, { recursive: true, force: true });
  const copyDb = path.join(folder, 'kuzu.db');
  const copyWal = `${copyDb}.wal`;
  const walPath = `${dbPath}.wal`;
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause *= 2;
      }
      fs.rmSync(copyDb, { force: true });
      fs.rmSync(copyWal, { force: true });
      fs.rmSync(`${copyDb}.shadow`, { force: true });
      const takenAt = new Date();
      const db = stateOf(dbPath);
      if (!db) checkHeader(dbPath); // gone meanwhile: the usual 'missing' error
      // A WAL another database file wrote (left by the application's reset) is not this file's: not copied.
      const wal = options.leaveWalOut || walIsForeign(dbPath) ? null : stateOf(walPath);
      const needed = Number(db!.size) + Number(wal?.size ?? 0n) + (options.reserveBytes ?? DEFAULT_RESERVE_BYTES);
      const free = freeBytes(folder);
      if (free !== null && free < needed) throw noSpace(dbPath, folder, needed, free);
      let walCopied = false;
      try {
        await copyPrivate(dbPath, copyDb, DB_COPY_LANES);
        options.betweenCopies?.();
        if (wal) {
          await copyPrivate(walPath, copyWal);
          walCopied = true;
          // The pages of a checkpoint killed half-way (see finishKilledCheckpoint), copied when nobody holds the file.
          if (fs.existsSync(`${dbPath}.shadow`) && !(holder = await holderFound)) await copyPrivate(`${dbPath}.shadow`, `${copyDb}.shadow`);
        }
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOSPC') throw noSpace(dbPath, folder, needed, freeBytes(folder));
        if (code !== 'ENOENT') throw error;
        continue; // a file went away while we copied it (a checkpoint deleting the WAL): copy again
      }
      if (!consistentCopy({ db: db!, wal }, { db: stateOf(dbPath), wal: wal ? stateOf(walPath) : null }, walCopied)) continue;
      // Awaited outside the copy's window: under load a read of /proc/locks can wait tens of ms,
      // and a longer window catches more of a busy writer's checkpoints.
      holder = await holderFound;
      const walBytes = walCopied ? fs.statSync(copyWal).size : null;
      return { livePath: dbPath, dbPath: copyDb, takenAt: takenAt.toISOString(), attempts: attempt, dbBytes: Number(db!.size), walBytes, holder, remove, removeInBackground };
    }
    throw new DatabaseUnavailableError(
      `${dbPath} changed during each of ${attempts} attempts to copy it for reading (its writer is checkpointing): no consistent figures`,
      'busy',
      'run the command again in a moment',
      holder ?? undefined,
    );
  } catch (error) {
    remove();
    holder = await holderFound;
    if (error instanceof DatabaseUnavailableError && !error.holder && holder) {
      throw new DatabaseUnavailableError(error.message, error.reason, error.hint, holder);
    }
    throw error;
  }
}

function walIsForeign(dbPath: string): boolean {
  return inspectWal(dbPath, fileSizes(dbPath).backups)?.verdict === 'foreign';
}

/** An error about the copy, told about the live file it was taken from (the copy is gone by the time anyone reads it). */
function relabel(error: unknown, copyPath: string, livePath: string): unknown {
  if (!(error instanceof Error) || !error.message.includes(copyPath)) return error;
  const message = error.message.split(copyPath).join(livePath);
  if (error instanceof DatabaseUnavailableError) return new DatabaseUnavailableError(message, error.reason, error.hint, error.holder);
  error.message = message;
  return error;
}

/**
 * Kuzu's refusal to open a copy whose WAL ends with a checkpoint record: the copy was taken while
 * a checkpoint was between logging itself and rewriting kuzu.db (its pages are in kuzu.db.shadow,
 * which a read-only open cannot apply). The file itself is fine: take the copy again.
 */
export function isCheckpointInProgress(error: unknown): boolean {
  return /replay shadow pages/i.test(error instanceof Error ? error.message : String(error));
}

/**
 * A checkpoint killed between logging itself in the WAL and applying its pages (kept in
 * kuzu.db.shadow) leaves a pair that only a read-write open can read: it applies the shadow
 * pages and removes the WAL. With nobody holding the live file nobody is checkpointing it, so
 * that is what happened; the checkpoint is finished on the private copy (never on the live
 * file), which then reads as the live pair would. True when it was done.
 */
async function finishKilledCheckpoint(snapshot: Snapshot): Promise<boolean> {
  if (snapshot.holder || !fs.existsSync(`${snapshot.dbPath}.shadow`)) return false;
  await withStore(snapshot.dbPath, { readOnly: false, bufferPoolMb: 64, privateCopy: true }, async () => undefined);
  return true;
}

/**
 * Runs `work` on a consistent private copy of the database and removes the copy on every path
 * (`options.taken`, a copy someone else took and removes, is read first and left alone).
 * A copy caught in the middle of a checkpoint is taken again (within the same bound of attempts).
 */
export async function withSnapshot<T>(dbPath: string, work: (snapshot: Snapshot) => Promise<T>, options: SnapshotOptions = {}): Promise<T> {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  let used = 0;
  let taken: (Snapshot & { remove(): void }) | null = options.taken ? { ...options.taken, remove: () => undefined } : null;
  for (;;) {
    const snapshot = taken ?? (await takeSnapshot(dbPath, { ...options, attempts: Math.max(1, attempts - used) }));
    taken = null;
    used += snapshot.attempts;
    try {
      return await work({ ...snapshot, attempts: used });
    } catch (error) {
      if (!isCheckpointInProgress(error)) throw relabel(error, snapshot.dbPath, dbPath);
      if (await finishKilledCheckpoint(snapshot)) {
        try {
          return await work({ ...snapshot, attempts: used });
        } catch (again) {
          throw relabel(again, snapshot.dbPath, dbPath);
        }
      }
      if (used >= attempts) {
        throw new DatabaseUnavailableError(
          `${dbPath} was being checkpointed during each of ${attempts} attempts to copy it for reading: no consistent figures`,
          'busy',
          'run the command again in a moment',
          snapshot.holder ?? undefined,
        );
      }
    } finally {
      snapshot.remove();
    }
    await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? DEFAULT_PAUSE_MS));
  }
}
