/**
 * The run lock on real processes: a live run holds it; a killed run's lock is taken over; a
 * lock held by a worker whose parent run was killed is taken over as soon as that worker is gone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { acquireRunLock, runLockPath } from '../../src/layout/runLock.js';
import { tempDir } from '../helpers.js';

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

function database(dir: string): string {
  const dbPath = path.join(dir, 'kuzu.db');
  fs.writeFileSync(dbPath, 'KUZU');
  return dbPath;
}

function plantLock(dbPath: string, pid: number, parentPid: number): void {
  fs.writeFileSync(runLockPath(dbPath), JSON.stringify({ pid, parentPid, command: 'archive', since: '2026-11-29T00:00:00Z' }));
}

describe('run lock', () => {
  it('refuses while the run holding it is alive, and takes over the lock of a killed run', (t) => {
    const dbPath = database(tempDir(t));
    plantLock(dbPath, process.ppid, process.pid);
    assert.throws(() => acquireRunLock(dbPath, 'archive'), /being changed by another locrit-mem run/);
    plantLock(dbPath, deadPid(), deadPid());
    acquireRunLock(dbPath, 'archive').release();
    assert.equal(fs.existsSync(runLockPath(dbPath)), false);
  });

  it('waits for a worker whose parent run was killed, then takes its lock', (t) => {
    const dbPath = database(tempDir(t));
    // Not a child of this process (its shell exits at once), so it is reaped as soon as it ends, as an orphaned worker is.
    const orphan = Number(spawnSync('sh', ['-c', 'sleep 1 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).stdout.trim());
    plantLock(dbPath, orphan, deadPid());
    assert.doesNotThrow(() => process.kill(orphan, 0), 'the orphan still runs when the lock is asked for');
    const lock = acquireRunLock(dbPath, 'archive');
    assert.throws(() => process.kill(orphan, 0), 'the lock was taken once the orphan was gone');
    lock.release();
  });
});
