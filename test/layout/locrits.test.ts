import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { folderName, listLocrits, resolveTargets } from '../../src/layout/locrits.js';
import { tempDir } from '../helpers.js';

function fakeLocrit(dataDir: string, folder: string): string {
  fs.mkdirSync(path.join(dataDir, folder), { recursive: true });
  const db = path.join(dataDir, folder, 'kuzu.db');
  fs.writeFileSync(db, 'KUZU');
  return db;
}

describe('Locrit layout', () => {
  it('sanitises display names the way the application does', () => {
    assert.equal(folderName('Bob Technique'), 'bob_technique');
    assert.equal(folderName('R2-D2 (v1.0)'), 'r2-d2__v1_0_');
    assert.equal(folderName('éloïse'), 'éloïse');
    assert.equal(folderName('a/b'), 'a_b');
  });

  it('lists every folder holding a kuzu.db, sorted, ignoring other folders', (t) => {
    const data = tempDir(t);
    fakeLocrit(data, 'zed');
    fakeLocrit(data, 'alice');
    fs.mkdirSync(path.join(data, 'empty'));
    fs.writeFileSync(path.join(data, 'notes.txt'), '');
    assert.deepEqual(listLocrits(data).map((l) => l.name), ['alice', 'zed']);
  });

  it('resolves folder names, display names, files and folders, without duplicates', (t) => {
    const data = tempDir(t);
    const bob = fakeLocrit(data, 'bob_technique');
    const names = (args: string[]): string[] => resolveTargets(args, data, data).map((l) => l.dbPath);
    assert.deepEqual(names(['bob_technique']), [bob]);
    assert.deepEqual(names(['Bob Technique']), [bob]);
    assert.deepEqual(names([bob, path.dirname(bob), './bob_technique']), [bob]);
  });

  it('refuses an unknown name with the list of known ones', (t) => {
    const data = tempDir(t);
    fakeLocrit(data, 'alice');
    assert.throws(() => resolveTargets(['carol'], data, data), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /unknown Locrit 'carol' in .*; known: alice$/);
      return true;
    });
    assert.throws(() => resolveTargets([], path.join(data, 'missing'), data), /data directory .*missing does not exist/);
    assert.throws(() => resolveTargets(['./nowhere/kuzu.db'], data, data), /does not exist/);
  });
});
