import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DatabaseUnavailableError } from '../../src/errors.js';
import { holdDatabase } from '../../src/fixtures/damage.js';
import { checkHeader, SUPPORTED_STORAGE_VERSION } from '../../src/store/header.js';
import { KuzuStore, loadKuzu } from '../../src/store/kuzu.js';
import { locksOn, writeLockHolder } from '../../src/store/locks.js';
import { makeLocrit, tempDir } from '../helpers.js';

const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof DatabaseUnavailableError) return `${error.reason}: ${error.message}`;
    throw error;
  }
  return 'no error';
};

describe('file header', () => {
  it('matches the storage version of the installed kuzu package', async () => {
    const kuzu = await loadKuzu();
    assert.equal(Number((kuzu as unknown as { STORAGE_VERSION: bigint }).STORAGE_VERSION), SUPPORTED_STORAGE_VERSION);
  });

  it('refuses what Kuzu 0.11 cannot open, naming what it found', (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'kuzu.db');
    assert.match(reasonOf(() => checkHeader(file)), /^missing: /);
    fs.writeFileSync(file, '');
    assert.match(reasonOf(() => checkHeader(file)), /^not-kuzu: .* \(found an empty file/);
    fs.writeFileSync(file, 'SQLite format 3\0');
    assert.match(reasonOf(() => checkHeader(file)), /^not-kuzu: .* \(found a file starting with bytes 53514c69/);
    const other = Buffer.alloc(16);
    other.write('KUZU');
    other.writeUInt32LE(38, 4);
    fs.writeFileSync(file, other);
    assert.match(reasonOf(() => checkHeader(file)), /^unsupported-version: .* storage version 38; this tool reads version 39/);
    fs.rmSync(file);
    fs.mkdirSync(file);
    assert.match(reasonOf(() => checkHeader(file)), /^unsupported-version: .* is a folder: a Kuzu 0\.10-or-older database/);
  });
});

describe('locks', () => {
  it('finds the pid, command line and memory of a process holding the database', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'held', messages: 20 });
    assert.deepEqual(locksOn(fixture.dbPath), []);
    const held = await holdDatabase(fixture.dbPath);
    t.after(() => held.release());
    assert.deepEqual(locksOn(fixture.dbPath).map((l) => [l.pid, l.mode]), [[held.pid, 'WRITE']]);
    const holder = await writeLockHolder(fixture.dbPath);
    assert.equal(holder?.pid, held.pid);
    assert.match(holder?.command ?? '', /holder\.js .*kuzu\.db$/);
    assert.ok((holder?.rssBytes ?? 0) > 10 * 1024 * 1024);
    await assert.rejects(KuzuStore.open(fixture.dbPath, { readOnly: true, bufferPoolMb: 32 }), (error: unknown) => {
      assert.ok(error instanceof DatabaseUnavailableError);
      assert.equal(error.reason, 'in-use');
      assert.equal(error.holder?.pid, held.pid);
      assert.match(error.message, new RegExp(`in use by pid ${held.pid}`));
      return true;
    });
  });
});
