/**
 * The ownership rules on plain files: what a file holding message content may give others, where
 * the ownership comes from when kuzu.db is missing, symlinks out of the data directory, and
 * (as root) a replacement and a stray WAL given the database's owner.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  contentFileMode,
  contentFolderMode,
  databaseOwnership,
  makeContentFolder,
  preflightWrite,
  repairWalOwnership,
  symlinkOutside,
  writeLikeDatabase,
} from '../../src/layout/ownership.js';
import { tempDir } from '../helpers.js';

const asRoot = process.getuid?.() === 0;
const like = (mode: number) => ({ from: 'kuzu.db', uid: 1000, gid: 1000, mode });

function locritFolder(root: string, name = 'bob'): string {
  const dir = path.join(root, 'memory', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

describe('ownership', () => {
  it('content is never more open than the database', () => {
    assert.equal(contentFileMode(like(0o600)), 0o600);
    assert.equal(contentFileMode(like(0o640)), 0o640);
    assert.equal(contentFileMode(like(0o664)), 0o644, 'write access is never given to group or others');
    assert.equal(contentFolderMode(like(0o600)), 0o700);
    assert.equal(contentFolderMode(like(0o640)), 0o750);
    assert.equal(contentFolderMode(like(0o644)), 0o755);
  });

  it('reads the ownership from kuzu.db, else its WAL, else its folder without execute bits', (t) => {
    const dir = locritFolder(tempDir(t));
    fs.chmodSync(dir, 0o750);
    const dbPath = path.join(dir, 'kuzu.db');
    assert.deepEqual([databaseOwnership(dbPath).from, databaseOwnership(dbPath).mode], [dir, 0o640]);
    fs.writeFileSync(`${dbPath}.wal`, 'wal', { mode: 0o600 });
    assert.equal(databaseOwnership(dbPath).from, `${dbPath}.wal`);
    fs.writeFileSync(dbPath, 'db', { mode: 0o640 });
    fs.chmodSync(dbPath, 0o640);
    assert.deepEqual([databaseOwnership(dbPath).from, databaseOwnership(dbPath).mode], [dbPath, 0o640]);
  });

  it('names a Locrit folder or kuzu.db that is a symlink leading outside the data directory, and refuses to write through it', (t) => {
    const root = tempDir(t);
    const inside = locritFolder(root, 'real');
    fs.writeFileSync(path.join(inside, 'kuzu.db'), 'db');
    const outside = locritFolder(tempDir(t), 'far');
    fs.writeFileSync(path.join(outside, 'kuzu.db'), 'db');
    const memory = path.join(root, 'memory');
    fs.symlinkSync(inside, path.join(memory, 'alias'));
    fs.symlinkSync(outside, path.join(memory, 'far'));
    const linkedDb = locritFolder(root, 'linked-db');
    fs.symlinkSync(path.join(outside, 'kuzu.db'), path.join(linkedDb, 'kuzu.db'));

    assert.equal(symlinkOutside(path.join(inside, 'kuzu.db')), null);
    assert.equal(symlinkOutside(path.join(memory, 'alias', 'kuzu.db')), null, 'a link that stays inside the data directory is fine');
    assert.match(symlinkOutside(path.join(memory, 'far', 'kuzu.db')) ?? '', /memory\/far is a symlink to .*far, outside the data directory/);
    assert.match(symlinkOutside(path.join(linkedDb, 'kuzu.db')) ?? '', /linked-db\/kuzu\.db is a symlink to/);
    assert.throws(() => preflightWrite(path.join(memory, 'far', 'kuzu.db'), 'archive'), (error: Error & { reason?: string }) => error.reason === 'symlink-outside');
  });

  it('as root: gives a replacement, its WAL and new content folders the database owner', { skip: !asRoot && 'needs root' }, (t) => {
    const root = tempDir(t);
    const dir = locritFolder(root);
    const dbPath = path.join(dir, 'kuzu.db');
    fs.writeFileSync(dbPath, 'db');
    fs.chownSync(dbPath, 1000, 1001);
    fs.chmodSync(dbPath, 0o600);
    const replacement = path.join(dir, 'kuzu.db.tmp');
    fs.writeFileSync(replacement, 'new', { mode: 0o644 });
    fs.writeFileSync(`${replacement}.wal`, 'wal', { mode: 0o644 });
    writeLikeDatabase(replacement, dbPath);
    for (const file of [replacement, `${replacement}.wal`]) {
      const stat = fs.statSync(file);
      assert.deepEqual([stat.uid, stat.gid, stat.mode & 0o777], [1000, 1001, 0o600], file);
    }
    const archive = path.join(root, 'archive', 'bob', 'run');
    fs.mkdirSync(path.join(root, 'archive'), { mode: 0o755 });
    makeContentFolder(archive, databaseOwnership(dbPath));
    for (const folder of [archive, path.dirname(archive)]) {
      const stat = fs.statSync(folder);
      assert.deepEqual([stat.uid, stat.mode & 0o777], [1000, 0o700], folder);
    }
    assert.equal(fs.statSync(path.join(root, 'archive')).mode & 0o777, 0o755, 'a folder that existed is left as it was');
  });

  it('as root: gives a WAL our own read-write open left behind the database owner and mode', { skip: !asRoot && 'needs root' }, (t) => {
    const dir = locritFolder(tempDir(t));
    const dbPath = path.join(dir, 'kuzu.db');
    fs.writeFileSync(dbPath, 'db');
    fs.chownSync(dbPath, 1000, 1000);
    fs.chmodSync(dbPath, 0o600);
    assert.equal(repairWalOwnership(dbPath), false, 'no WAL, nothing to do');
    fs.writeFileSync(`${dbPath}.wal`, 'wal', { mode: 0o644 });
    assert.equal(repairWalOwnership(dbPath), true);
    const stat = fs.statSync(`${dbPath}.wal`);
    assert.deepEqual([stat.uid, stat.gid, stat.mode & 0o777], [1000, 1000, 0o600]);
    assert.equal(repairWalOwnership(dbPath), false, 'already right');
  });
});
