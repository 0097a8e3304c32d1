/**
 * Finding the application's resets: a backup holding messages that neither the current database
 * nor a complete archive holds, counted inside Kuzu, on generated Locrits reset as the
 * application does it (file moved aside, WAL left beside a fresh file, new messages in it).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { killWriterMidWrite, truncateFile } from '../../src/fixtures/damage.js';
import { simulateReset } from '../../src/fixtures/reset.js';
import { scanResets } from '../../src/recover/resets.js';
import { makeLocrit, sha256File, tempDir } from '../helpers.js';

const settings = { bufferPoolMb: 64 };
const scanOptions = (folder: string) => ({ archiveRoot: null, folder, settings });

test('a reset is found: the backup holds every earlier message, none of them in the fresh file', async (t) => {
  const dir = tempDir(t);
  const before = await makeLocrit(dir, { name: 'bob', messages: 120 });
  const reset = await simulateReset({ dataDir: dir, name: 'bob', at: new Date('2026-11-02T09:30:00'), newMessages: 25 });
  assert.equal(path.basename(reset.backupPath), 'kuzu.db.backup_20261102_093000');
  const backupHash = sha256File(reset.backupPath);
  const scan = await scanResets(before.dbPath, scanOptions('bob'));
  assert.equal(scan.current.messages, 25);
  assert.equal(scan.resets.length, 1);
  const [found] = scan.resets;
  assert.equal(found.name, 'kuzu.db.backup_20261102_093000');
  assert.equal(found.madeBy, 'application');
  assert.equal(found.held, 120);
  assert.equal(found.inCurrent, 0);
  assert.equal(found.missing, 120);
  assert.equal(scan.missingTotal, 120);
  assert.equal(found.missingExamples.length, 3);
  assert.ok(scan.current.firstMessageAt! > '2026-11-02 09:30:00', 'the fresh file starts after the reset');
  assert.equal(scan.wal, null);
  assert.equal(sha256File(reset.backupPath), backupHash, 'reading a backup does not change it');
});

test('the WAL left beside the fresh file is foreign, belongs to the backup, and its messages count as the backup\'s', async (t) => {
  const dir = tempDir(t);
  const before = await makeLocrit(dir, { name: 'ada', messages: 100 });
  const writer = killWriterMidWrite(before.dbPath, { committed: 4, uncommitted: 1, seed: 3 });
  assert.equal(writer.committedIds.length, 4);
  const reset = await simulateReset({ dataDir: dir, name: 'ada', at: new Date('2026-11-02T10:00:00'), newMessages: 10 });
  assert.ok(reset.walLeft);
  const walHash = sha256File(reset.walLeft);
  const scan = await scanResets(before.dbPath, scanOptions('ada'));
  assert.equal(scan.wal?.verdict, 'foreign');
  assert.equal(scan.wal?.ownerBackup, reset.backupPath);
  assert.equal(scan.current.messages, 10, 'the foreign WAL is not read with the fresh file');
  assert.equal(scan.resets[0].held, 104, 'the backup with its WAL: 100 + 4 committed');
  assert.equal(scan.resets[0].missing, 104);
  assert.equal(sha256File(reset.walLeft), walHash);
});

test('several resets are each found; a backup whose messages are all in the current file is not a reset', async (t) => {
  const dir = tempDir(t);
  const before = await makeLocrit(dir, { name: 'cy', messages: 60 });
  await simulateReset({ dataDir: dir, name: 'cy', at: new Date('2026-11-02T08:00:00'), newMessages: 20, seed: 11 });
  await simulateReset({ dataDir: dir, name: 'cy', at: new Date('2026-11-05T08:00:00'), newMessages: 15, seed: 12 });
  // One of our own backups that the current file covers completely.
  fs.copyFileSync(before.dbPath, path.join(dir, 'cy', 'kuzu.db.locrit-mem-compact_20261106T080000000Z'));
  const scan = await scanResets(before.dbPath, scanOptions('cy'));
  assert.deepEqual(scan.resets.map((r) => [r.name, r.held, r.missing]), [
    ['kuzu.db.backup_20261102_080000', 60, 60],
    ['kuzu.db.backup_20261105_080000', 20, 20],
  ]);
  assert.equal(scan.missingTotal, 80);
  const ours = scan.backups.find((b) => b.madeBy === 'locrit-mem')!;
  assert.equal(ours.held, 15);
  assert.equal(ours.missing, 0);
});

test('an unreadable backup is reported as such, and the others are still compared', async (t) => {
  const dir = tempDir(t);
  const before = await makeLocrit(dir, { name: 'dee', messages: 50 });
  const first = await simulateReset({ dataDir: dir, name: 'dee', at: new Date('2026-11-02T08:00:00'), newMessages: 10 });
  await simulateReset({ dataDir: dir, name: 'dee', at: new Date('2026-11-03T08:00:00'), newMessages: 5, seed: 9 });
  truncateFile(first.backupPath, 0.3);
  const scan = await scanResets(before.dbPath, scanOptions('dee'));
  assert.equal(scan.unreadable.length, 1);
  assert.equal(scan.unreadable[0].name, 'kuzu.db.backup_20261102_080000');
  assert.match(scan.unreadable[0].error!, /kuzu\.db\.backup_20261102_080000/);
  assert.deepEqual(scan.resets.map((r) => [r.name, r.missing]), [['kuzu.db.backup_20261103_080000', 10]]);
});
