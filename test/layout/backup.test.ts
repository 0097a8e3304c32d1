import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DatabaseUnavailableError } from '../../src/errors.js';
import { copyBackup, pruneBackups, swapIn } from '../../src/layout/backup.js';
import { fileSizes } from '../../src/layout/files.js';
import { acquireRunLock, runLockPath } from '../../src/layout/runLock.js';
import { tempDir } from '../helpers.js';

describe('backups and the atomic swap', () => {
  it('copies the database and its WAL to a dated backup that stats recognises', (t) => {
    const dir = tempDir(t);
    const db = path.join(dir, 'kuzu.db');
    fs.writeFileSync(db, 'KUZU-old');
    fs.writeFileSync(`${db}.wal`, 'wal');
    const backup = copyBackup(db, 'recover', null, new Date('2026-01-02T03:04:05.678Z'));
    assert.equal(path.basename(backup.dbBackup), 'kuzu.db.locrit-mem-recover_20260102T030405678Z');
    assert.equal(fs.readFileSync(backup.dbBackup, 'utf8'), 'KUZU-old');
    assert.equal(fs.readFileSync(backup.walBackup!, 'utf8'), 'wal');
    assert.ok(fs.existsSync(`${db}.wal`), 'a copy leaves the original WAL in place');
    const listed = fileSizes(db).backups;
    assert.deepEqual(listed.map((b) => [path.basename(b.path), b.madeBy, b.createdAt]), [['kuzu.db.locrit-mem-recover_20260102T030405678Z', 'locrit-mem', '2026-01-02T03:04:05.678Z']]);
  });

  it('swaps a replacement in with one rename, moving the old file and its WAL aside', (t) => {
    const dir = tempDir(t);
    const db = path.join(dir, 'kuzu.db');
    fs.writeFileSync(db, 'old');
    fs.writeFileSync(`${db}.wal`, 'old-wal');
    const replacement = path.join(dir, 'kuzu.db.rebuild');
    fs.writeFileSync(replacement, 'new');
    const result = swapIn(db, replacement, 'compact');
    assert.equal(fs.readFileSync(db, 'utf8'), 'new');
    assert.equal(fs.readFileSync(result.dbBackup, 'utf8'), 'old');
    assert.equal(fs.readFileSync(result.walBackup!, 'utf8'), 'old-wal');
    assert.equal(fs.existsSync(`${db}.wal`), false, 'no stray WAL may stay beside the new file');
    assert.equal(fs.existsSync(replacement), false);
  });

  it("keeps the newest N of its own backups and never touches the application's", (t) => {
    const dir = tempDir(t);
    const db = path.join(dir, 'kuzu.db');
    fs.writeFileSync(db, 'x');
    fs.writeFileSync(path.join(dir, 'kuzu.db.backup_20250101_000000'), 'app');
    for (let day = 1; day <= 4; day++) copyBackup(db, 'compact', null, new Date(`2026-01-0${day}T00:00:00Z`));
    const removed = pruneBackups(db, 2);
    assert.deepEqual(removed.map((p) => path.basename(p)), ['kuzu.db.locrit-mem-compact_20260101T000000000Z', 'kuzu.db.locrit-mem-compact_20260102T000000000Z']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['kuzu.db', 'kuzu.db.backup_20250101_000000', 'kuzu.db.locrit-mem-compact_20260103T000000000Z', 'kuzu.db.locrit-mem-compact_20260104T000000000Z']);
  });
});

describe('run lock', () => {
  it('stops a second run on the same Locrit and takes over a stale lock', (t) => {
    const dir = tempDir(t);
    const db = path.join(dir, 'kuzu.db');
    const lock = acquireRunLock(db, 'archive');
    // Same pid re-entering is a bug in our code, but a live foreign pid must be refused: fake one with pid 1.
    fs.writeFileSync(runLockPath(db), JSON.stringify({ pid: 1, command: 'archive' }));
    assert.throws(() => acquireRunLock(db, 'archive'), (error: unknown) => error instanceof DatabaseUnavailableError && error.reason === 'busy' && /pid 1/.test(error.message));
    fs.writeFileSync(runLockPath(db), JSON.stringify({ pid: 2 ** 22 + 12345, command: 'archive' }));
    const second = acquireRunLock(db, 'archive');
    second.release();
    lock.release();
    assert.equal(fs.existsSync(runLockPath(db)), false);
  });
});
