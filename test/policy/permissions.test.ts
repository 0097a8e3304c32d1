/**
 * The permission rules of `validate`, as pure functions: a database or WAL the application's
 * user could not open read-write, and archives every local user can read while the database is private.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canOpenReadWrite, checkPermissions, FindingCollector, type PermissionInput } from '../../src/policy/integrityRules.js';

const app = { uid: 1000, gid: 1000, name: 'locrit', from: 'folder' as const };
const file = (uid: number, gid: number, mode: number) => ({ uid, gid, mode });

function findings(input: Partial<PermissionInput>): { rule: string; examples: string[]; detail: string | null }[] {
  const collector = new FindingCollector();
  checkPermissions({ appUser: app, db: file(1000, 1000, 0o600), wal: null, archiveReadableByOthers: [], ...input }, collector);
  return collector.findings().map(({ rule, examples, detail }) => ({ rule, examples, detail }));
}

describe('permission rules (pure)', () => {
  it('who may open a file read-write: its owner with rw-, its group with -rw-, others with ---rw, root always', () => {
    assert.equal(canOpenReadWrite(file(1000, 1000, 0o600), 1000, 1000), true);
    assert.equal(canOpenReadWrite(file(1000, 1000, 0o400), 1000, 1000), false);
    assert.equal(canOpenReadWrite(file(0, 0, 0o644), 1000, 1000), false);
    assert.equal(canOpenReadWrite(file(0, 1000, 0o660), 1000, 1000), true);
    assert.equal(canOpenReadWrite(file(0, 0, 0o666), 1000, 1000), true);
    assert.equal(canOpenReadWrite(file(1000, 1000, 0o000), 0, 0), true);
  });

  it('a healthy Locrit breaks no permission rule', () => {
    assert.deepEqual(findings({ wal: file(1000, 1000, 0o600) }), []);
    assert.deepEqual(findings({ archiveReadableByOthers: ['20261101T120000000Z/messages.parquet'], db: file(1000, 1000, 0o644) }), [], 'a database others may read may have archives they may read');
  });

  it('file.app-cannot-open fires on a root-owned kuzu.db, and on a root-owned WAL, naming each', () => {
    const [db] = findings({ db: file(0, 0, 0o644) });
    assert.equal(db.rule, 'file.app-cannot-open');
    assert.deepEqual(db.examples, ['kuzu.db']);
    assert.match(db.detail ?? '', /kuzu\.db is uid 0, gid 0, mode 644: locrit, who owns the Locrit's folder \(uid 1000\) cannot open it read-write/);
    const wal = findings({ wal: file(0, 0, 0o644) });
    assert.deepEqual(wal.map((f) => [f.rule, f.examples]), [['file.app-cannot-open', ['kuzu.db.wal']]]);
  });

  it('file.archive-open-to-others fires only while the database is closed to others', () => {
    const [open] = findings({ archiveReadableByOthers: ['20261101T120000000Z/manifest.json'] });
    assert.equal(open.rule, 'file.archive-open-to-others');
    assert.deepEqual(open.examples, ['20261101T120000000Z/manifest.json']);
  });
});
