import fs from 'node:fs';
import pidusage from 'pidusage';
import type { LockHolder } from '../errors.js';

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

/** Command line, memory and CPU of a process (the seed's process_memory_mb), as far as they can be read. */
export async function describeProcess(pid: number): Promise<LockHolder> {
  let command: string | null = null;
  try {
    command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || null;
  } catch {
    command = null;
  }
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
