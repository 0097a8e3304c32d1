/**
 * A lock file that stops two locrit-mem runs from changing the same Locrit at once:
 * `<dir>/kuzu.db.locrit-mem.lock`, created with O_EXCL, holding our pid and our parent's. A lock
 * whose process is gone (a run killed with SIGKILL) is stale and taken over. A lock held by a
 * worker whose parent is gone (the run was killed; the worker kills itself when it notices) is
 * waited for briefly, then taken over once that worker is gone.
 *
 * Every run that changes a Locrit takes this lock first, so it is also where a run that could
 * not keep the database's owner, or would write through a symlink leading out of the data
 * directory, is refused before anything changes; and where a WAL our own read-write open left
 * (a killed run) is given back the database's owner, and where the work folders a killed run
 * left beside the database are removed.
 */
import fs from 'node:fs';
import { DatabaseUnavailableError } from '../errors.js';
import { preflightWrite, repairWalOwnership, type DatabaseOwnership } from './ownership.js';
import { processAlive } from './processes.js';
import { removeWorkFolders } from './scratch.js';

export interface RunLock {
  file: string;
  /** The owner, group and mode every file written for this database gets. */
  owner: DatabaseOwnership;
  /** Work folders a killed run left beside the database, removed once the lock was taken. */
  removedLeftovers: string[];
  release(): void;
}

export function runLockPath(dbPath: string): string {
  return `${dbPath}.locrit-mem.lock`;
}

export function acquireRunLock(dbPath: string, command: string): RunLock {
  const owner = preflightWrite(dbPath, command);
  const file = runLockPath(dbPath);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, parentPid: process.ppid, command, since: new Date().toISOString() }));
      fs.closeSync(fd);
      repairWalOwnership(dbPath);
      const removedLeftovers = removeWorkFolders(dbPath);
      let released = false;
      return {
        file,
        owner,
        removedLeftovers,
        release: () => {
          if (released) return;
          released = true;
          repairWalOwnership(dbPath);
          fs.rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder: { pid?: number; parentPid?: number; command?: string } = {};
      try {
        holder = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch {
        // Half-written by a run killed at that very moment: treat as stale.
      }
      if (holder.pid && holder.pid !== process.pid && processAlive(holder.pid) && holder.parentPid && !processAlive(holder.parentPid)) {
        waitForExit(holder.pid, ORPHAN_WAIT_MS);
      }
      if (holder.pid && processAlive(holder.pid) && holder.pid !== process.pid) {
        throw new DatabaseUnavailableError(
          `${dbPath} is being changed by another locrit-mem run (pid ${holder.pid}, ${holder.command ?? 'unknown command'})`,
          'busy',
          `wait for it to finish; if no such run exists, remove ${file}`,
        );
      }
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new DatabaseUnavailableError(`${dbPath}: could not take the lock ${file}`, 'busy', `remove ${file} if no locrit-mem run is working on it`);
}

/** How long an orphaned worker's lock is waited for: it kills itself as soon as it notices its parent is gone. */
const ORPHAN_WAIT_MS = 10_000;

/** Blocks until `pid` is gone or `timeoutMs` has passed (taking the lock is synchronous). */
function waitForExit(pid: number, timeoutMs: number): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid) && Date.now() < deadline) Atomics.wait(sleeper, 0, 0, 50);
}

/** Runs `work` holding the run lock of a database. */
export async function withRunLock<T>(dbPath: string, command: string, work: (lock: RunLock) => Promise<T>): Promise<T> {
  const lock = acquireRunLock(dbPath, command);
  try {
    return await work(lock);
  } finally {
    lock.release();
  }
}
