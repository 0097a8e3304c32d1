/**
 * A lock file that stops two locrit-mem runs from changing the same Locrit at once:
 * `<dir>/kuzu.db.locrit-mem.lock`, created with O_EXCL, holding our pid. A lock whose process
 * is gone (a run killed with SIGKILL) is stale and taken over.
 *
 * Every run that changes a Locrit takes this lock first, so it is also where a run that could
 * not keep the database's owner, or would write through a symlink leading out of the data
 * directory, is refused before anything changes; and where a WAL our own read-write open left
 * (a killed run) is given back the database's owner.
 */
import fs from 'node:fs';
import { DatabaseUnavailableError } from '../errors.js';
import { preflightWrite, repairWalOwnership, type DatabaseOwnership } from './ownership.js';
import { processAlive } from './processes.js';

export interface RunLock {
  file: string;
  /** The owner, group and mode every file written for this database gets. */
  owner: DatabaseOwnership;
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
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, command, since: new Date().toISOString() }));
      fs.closeSync(fd);
      repairWalOwnership(dbPath);
      let released = false;
      return {
        file,
        owner,
        release: () => {
          if (released) return;
          released = true;
          repairWalOwnership(dbPath);
          fs.rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder: { pid?: number; command?: string } = {};
      try {
        holder = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch {
        // Half-written by a run killed at that very moment: treat as stale.
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

/** Runs `work` holding the run lock of a database. */
export async function withRunLock<T>(dbPath: string, command: string, work: () => Promise<T>): Promise<T> {
  const lock = acquireRunLock(dbPath, command);
  try {
    return await work();
  } finally {
    lock.release();
  }
}
