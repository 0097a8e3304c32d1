/**
 * Who holds a database file: the POSIX locks from /proc/locks, the holding process described,
 * and waiting for it to let go before a change.
 */
import fs from 'node:fs';
import { DatabaseUnavailableError, type LockHolder } from '../errors.js';

export interface FileLock {
  pid: number;
  mode: 'READ' | 'WRITE';
}

/** Linux's split of a dev_t into major and minor numbers (glibc's gnu_dev_major/minor). */
function splitDevice(dev: bigint): { major: number; minor: number } {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * The POSIX locks other processes hold on a file, read from /proc/locks by device and inode.
 * Kuzu's own lock error does not name the holder; this does. Empty where /proc/locks is absent.
 */
export function locksOn(file: string, procLocks = '/proc/locks'): FileLock[] {
  const stat = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!stat) return [];
  let table: string;
  try {
    table = fs.readFileSync(procLocks, 'utf8');
  } catch {
    return [];
  }
  return locksIn(table, stat);
}

/**
 * locksOn without blocking: each read of /proc/locks waits about 10 ms for the kernel (little
 * CPU), time this process can spend copying meanwhile.
 */
export async function locksOnAsync(file: string, procLocks = '/proc/locks'): Promise<FileLock[]> {
  const stat = await fs.promises.stat(file, { bigint: true }).catch(() => null);
  if (!stat) return [];
  const table = await fs.promises.readFile(procLocks, 'utf8').catch(() => null);
  return table === null ? [] : locksIn(table, stat);
}

function locksIn(table: string, stat: fs.BigIntStats): FileLock[] {
  const { major, minor } = splitDevice(stat.dev);
  const locks: FileLock[] = [];
  for (const line of table.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 1867 fe:00:2146411 0 EOF"; waiters are marked "->" and skipped.
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6 || fields[1] === '->') continue;
    const [, , , mode, pidText, where] = fields;
    const parts = where.split(':');
    if (parts.length !== 3) continue;
    if (parseInt(parts[0], 16) !== major || parseInt(parts[1], 16) !== minor || BigInt(parts[2]) !== stat.ino) continue;
    const pid = Number(pidText);
    if (pid === process.pid || !(mode === 'READ' || mode === 'WRITE')) continue;
    locks.push({ pid, mode });
  }
  return locks;
}

/** Command line, memory and CPU of a process, as far as they can be read. */
export async function describeProcess(pid: number): Promise<LockHolder> {
  let command: string | null = null;
  try {
    command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || null;
  } catch {
    command = null;
  }
  // Loaded here: only a held database needs it, and every worker imports this module.
  const { default: pidusage } = await import('pidusage');
  try {
    const usage = await pidusage(pid);
    return { pid, command, rssBytes: usage.memory, cpuPercent: Math.round(usage.cpu * 10) / 10 };
  } catch {
    return { pid, command, rssBytes: null, cpuPercent: null };
  } finally {
    pidusage.clear();
  }
}

/** The process holding a write lock on the file (the Locrit application, usually), or null. */
export async function writeLockHolder(file: string): Promise<LockHolder | null> {
  const writer = locksOn(file).find((lock) => lock.mode === 'WRITE');
  return writer ? describeProcess(writer.pid) : null;
}

/** The process holding the database (a writer first, else any reader), or null when it is free. */
export async function holderOf(dbPath: string): Promise<LockHolder | null> {
  const locks = await locksOnAsync(dbPath);
  if (locks.length === 0) return null;
  const writer = locks.find((l) => l.mode === 'WRITE') ?? locks[0];
  return describeProcess(writer.pid);
}

/**
 * The holder after waiting up to `seconds` for it to let go (polling /proc/locks); `waited` is
 * null when nothing was waited for (free at once, or no wait asked).
 */
export async function waitForRelease(dbPath: string, seconds: number | undefined): Promise<{ holder: LockHolder | null; waited: number | null }> {
  let holder = await holderOf(dbPath);
  if (!holder || seconds === undefined) return { holder, waited: null };
  const started = Date.now();
  while (holder && Date.now() - started < seconds * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    holder = await holderOf(dbPath);
  }
  return { holder, waited: Math.round((Date.now() - started) / 100) / 10 };
}

export type BeforeChange =
  | { stop: 'held'; holder: LockHolder; waited: number | null }
  | { stop: 'dry-run'; waited: number | null }
  | { stop: null; waited: number | null };

/**
 * The last check before a change to a database: wait for a holder to let go (`waitSeconds`),
 * say who still holds it, or stop at the plan under a dry run. `stop` null: go ahead.
 */
export async function stopBeforeChange(dbPath: string, options: { waitSeconds?: number; dryRun?: boolean }): Promise<BeforeChange> {
  const { holder, waited } = await waitForRelease(dbPath, options.waitSeconds);
  if (holder) return { stop: 'held', holder, waited };
  if (options.dryRun) return { stop: 'dry-run', waited };
  return { stop: null, waited };
}

/**
 * For a command about to change a database: waits up to `waitSeconds` (--wait) for a process
 * holding it to let go, and refuses, naming that process, if it does not (or at once without --wait).
 */
export async function waitUntilFree(dbPath: string, waitSeconds: number | undefined, progress: (phase: string) => void = () => undefined): Promise<void> {
  if (waitSeconds !== undefined) progress(`waiting up to ${waitSeconds}s for the database to be free`);
  const { holder, waited } = await waitForRelease(dbPath, waitSeconds);
  if (!holder) return;
  const who = `pid ${holder.pid}${holder.command ? ` (${holder.command.slice(0, 80)})` : ''}`;
  throw new DatabaseUnavailableError(
    `${dbPath} is in use by ${who}${waited !== null ? `, still after waiting ${waited}s` : ''}; nothing was changed`,
    'in-use',
    waitSeconds === undefined ? 'stop the Locrit application first (or run in its maintenance window), or pass --wait <seconds>' : 'stop the Locrit application first, or wait longer',
    holder,
  );
}
