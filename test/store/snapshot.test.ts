import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { killWriterMidWrite } from '../../src/fixtures/damage.js';
import { startLiveWriter } from '../../src/fixtures/live.js';
import { RUN_SCRATCH_ENV } from '../../src/layout/scratch.js';
import { withStore } from '../../src/store/kuzu.js';
import { consistentCopy, takeSnapshot, withSnapshot } from '../../src/store/snapshot.js';
import { makeLocrit, sha256File, tempDir } from '../helpers.js';

/** Copies go to a folder of this test, so that what is left behind can be checked. */
function privateScratch(t: import('node:test').TestContext): string {
  const folder = path.join(tempDir(t, 'locrit-scratch-'), 'run-test');
  fs.mkdirSync(folder, { mode: 0o700 });
  const previous = process.env[RUN_SCRATCH_ENV];
  process.env[RUN_SCRATCH_ENV] = folder;
  t.after(() => {
    if (previous === undefined) delete process.env[RUN_SCRATCH_ENV];
    else process.env[RUN_SCRATCH_ENV] = previous;
  });
  return folder;
}

const state = (over: Partial<Record<'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs' | 'birthtimeNs', bigint>> = {}) => ({
  dev: 1n, ino: 10n, size: 4096n, mtimeNs: 100n, ctimeNs: 100n, birthtimeNs: 50n, ...over,
});

describe('snapshots of live databases', () => {
  it('keeps a copy only when kuzu.db did not change and the WAL is the same file, not shorter', () => {
    const db = state();
    const wal = state({ ino: 11n, size: 900n });
    assert.equal(consistentCopy({ db, wal: null }, { db, wal: null }, false), true);
    assert.equal(consistentCopy({ db, wal }, { db, wal: { ...wal, size: 1800n, mtimeNs: 200n } }, true), true, 'commits appended meanwhile');
    assert.equal(consistentCopy({ db, wal: null }, { db, wal }, false), true, 'a WAL started after the copy of kuzu.db was not copied');
    assert.equal(consistentCopy({ db, wal }, { db: { ...db, mtimeNs: 101n }, wal }, true), false, 'a checkpoint wrote kuzu.db');
    assert.equal(consistentCopy({ db, wal }, { db: { ...db, size: 8192n }, wal }, true), false);
    assert.equal(consistentCopy({ db, wal }, { db, wal: null }, true), false, 'the WAL was deleted by a checkpoint');
    assert.equal(consistentCopy({ db, wal }, { db, wal: { ...wal, birthtimeNs: 60n, size: 2000n } }, true), false, 'a new WAL under the same inode number');
    assert.equal(consistentCopy({ db, wal }, { db, wal: { ...wal, size: 100n } }, true), false, 'the WAL shrank');
    assert.equal(consistentCopy({ db, wal }, { db: null, wal }, true), false, 'kuzu.db was moved away');
  });

  it('copies kuzu.db and its WAL into a private folder, reads every committed message, and removes the copy', async (t) => {
    const scratch = privateScratch(t);
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'crashy', messages: 100 });
    const killed = killWriterMidWrite(fixture.dbPath, { committed: 4, uncommitted: 2 });
    const dbHash = sha256File(fixture.dbPath);
    const walHash = sha256File(`${fixture.dbPath}.wal`);
    const seen = await withSnapshot(fixture.dbPath, async (snapshot) => {
      assert.equal(path.dirname(path.dirname(snapshot.dbPath)), scratch);
      assert.equal(fs.statSync(path.dirname(snapshot.dbPath)).mode & 0o777, 0o700);
      assert.equal(fs.statSync(snapshot.dbPath).mode & 0o777, 0o600);
      assert.equal(fs.statSync(`${snapshot.dbPath}.wal`).mode & 0o777, 0o600);
      assert.equal(snapshot.walBytes, killed.walBytes);
      assert.equal(snapshot.holder, null);
      assert.equal(snapshot.attempts, 1);
      return withStore(snapshot.dbPath, { readOnly: true, bufferPoolMb: 64 }, (store) => store.scalar('MATCH (m:Message) RETURN count(m)'));
    });
    assert.equal(Number(seen), 100 + killed.committedIds.length);
    assert.equal(sha256File(fixture.dbPath), dbHash, 'the live file is untouched');
    assert.equal(sha256File(`${fixture.dbPath}.wal`), walHash, 'the live WAL is untouched');
    assert.deepEqual(fs.readdirSync(scratch), []);
  });

  it('takes the copy again when the file changes during it, and reports busy (leaving nothing) when it always does', async (t) => {
    const scratch = privateScratch(t);
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'churn', messages: 50 });
    let changes = 2;
    const touch = (): void => {
      if (changes-- > 0) fs.utimesSync(fixture.dbPath, new Date(), new Date(Date.now() + changes * 1000));
    };
    const snapshot = await takeSnapshot(fixture.dbPath, { betweenCopies: touch, pauseMs: 1 });
    assert.equal(snapshot.attempts, 3);
    snapshot.remove();
    await assert.rejects(
      takeSnapshot(fixture.dbPath, { attempts: 3, pauseMs: 1, betweenCopies: () => fs.utimesSync(fixture.dbPath, new Date(), new Date(Date.now() + Math.random() * 1e6)) }),
      (error: Error & { reason?: string }) => error.reason === 'busy' && /changed during each of 3 attempts/.test(error.message),
    );
    assert.deepEqual(fs.readdirSync(scratch), []);
  });

  it('refuses to copy onto a disk without room for it, naming the space needed, and leaves nothing', async (t) => {
    const scratch = privateScratch(t);
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'roomy', messages: 20 });
    await assert.rejects(
      takeSnapshot(fixture.dbPath, { reserveBytes: Number.MAX_SAFE_INTEGER }),
      (error: Error & { reason?: string; hint?: string }) => error.reason === 'no-space' && /not enough free space to copy .*roomy/.test(error.message) && /TMPDIR/.test(error.hint ?? ''),
    );
    assert.deepEqual(fs.readdirSync(scratch), []);
  });

  it('reads a database a live writer holds, commits and checkpoints included, without disturbing the writer', async (t) => {
    privateScratch(t);
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'live', messages: 100 });
    const writer = await startLiveWriter(fixture.dbPath, { checkpointEvery: 5, pauseMs: 1 });
    t.after(() => writer.stop());
    await writer.nextCommit();
    const low = writer.committed();
    const seen = await withSnapshot(fixture.dbPath, async (snapshot) => {
      assert.equal(snapshot.holder?.pid, writer.pid);
      return Number(await withStore(snapshot.dbPath, { readOnly: true, bufferPoolMb: 64 }, (store) => store.scalar('MATCH (m:Message) RETURN count(m)')));
    });
    const high = await writer.nextCommit();
    assert.ok(seen >= low && seen <= high, `${seen} messages read, the writer had committed ${low} before and ${high} after`);
    const stopped = await writer.stop();
    assert.equal(stopped.stderr, '');
    assert.equal(stopped.code, 0);
  });
});
