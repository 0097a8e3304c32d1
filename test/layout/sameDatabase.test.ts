import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertSameDatabase, databaseChange, noteDatabaseIdentity } from '../../src/layout/sameDatabase.js';
import { tempDir } from '../helpers.js';

function locritFolder(t: Parameters<typeof tempDir>[0]): string {
  const dir = path.join(tempDir(t), 'bob');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'kuzu.db'), 'first');
  fs.writeFileSync(path.join(dir, 'kuzu.db.backup_20260101_000000'), 'an old reset');
  return path.join(dir, 'kuzu.db');
}

describe('the same-database check before a destructive step', () => {
  it('passes while kuzu.db is the same file, even rewritten in place, and old backups stay', (t) => {
    const dbPath = locritFolder(t);
    const identity = noteDatabaseIdentity(dbPath);
    fs.appendFileSync(dbPath, ' and more');
    fs.writeFileSync(`${dbPath}.wal`, 'a WAL');
    fs.writeFileSync(`${dbPath}.locrit-mem-compact_20261101T120000Z`, 'a backup of ours');
    assert.equal(databaseChange(identity), null);
    assert.doesNotThrow(() => assertSameDatabase(identity, 'committing the delete', 'bob'));
  });

  it('sees the application reset: kuzu.db moved aside and a fresh file in its place', (t) => {
    const dbPath = locritFolder(t);
    const identity = noteDatabaseIdentity(dbPath);
    fs.renameSync(dbPath, `${dbPath}.backup_20261101_120000`);
    fs.writeFileSync(dbPath, 'fresh');
    assert.match(databaseChange(identity)!, /another file than the one this run opened; the application moved a database aside \(kuzu\.db\.backup_20261101_120000\)/);
    assert.throws(
      () => assertSameDatabase(identity, 'swapping the compacted file in', 'bob'),
      (error: Error & { reason?: string; hint?: string }) =>
        error.reason === 'replaced' && /Stopped before swapping the compacted file in; nothing more was changed and every file was kept/.test(error.message) && /locrit-mem recover bob/.test(error.hint ?? ''),
    );
  });

  it('sees a new application backup alone, and kuzu.db gone', (t) => {
    const dbPath = locritFolder(t);
    const identity = noteDatabaseIdentity(dbPath);
    fs.copyFileSync(dbPath, `${dbPath}.backup_20261101_120001`);
    assert.match(databaseChange(identity)!, /^the application moved a database aside/);
    fs.rmSync(dbPath);
    assert.match(databaseChange(identity)!, /^kuzu\.db is gone/);
  });

  it('sees a kuzu.db that appeared where there was none (a restore into a missing database)', (t) => {
    const dbPath = locritFolder(t);
    fs.rmSync(dbPath);
    const identity = noteDatabaseIdentity(dbPath);
    assert.equal(databaseChange(identity), null);
    fs.writeFileSync(dbPath, 'fresh');
    assert.match(databaseChange(identity)!, /^a new kuzu\.db appeared/);
  });
});
