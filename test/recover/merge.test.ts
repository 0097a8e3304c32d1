/**
 * Merging a reset Locrit: exactly the union of every source's ids, relationships intact, vector
 * indexes answering, originals byte-identical, twice changes nothing, and a SIGKILL at any step
 * leaves the old state or the merged one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killWriterMidWrite } from '../../src/fixtures/damage.js';
import { simulateReset } from '../../src/fixtures/reset.js';
import { mergeLocrit } from '../../src/recover/merge.js';
import { scanResets } from '../../src/recover/resets.js';
import { withStore } from '../../src/store/kuzu.js';
import { idsOf, makeLocrit, relCounts, sha256File, tempDir } from '../helpers.js';

const settings = { bufferPoolMb: 64 };
const mergeOptions = (folder: string) => ({ folder, backups: null, archiveRoot: null, backupDir: null, settings });
const RELS = ['PART_OF', 'SENT', 'RESPONDS_TO', 'MENTIONS', 'DISCUSSES', 'LEARNS', 'RELATES_TO'];

async function resetLocrit(dir: string, name: string, withWal: boolean) {
  const before = await makeLocrit(dir, { name, messages: 120, embeddedShare: 0.5 });
  const relsBefore = await relCounts(before.dbPath, RELS);
  const writer = withWal ? killWriterMidWrite(before.dbPath, { committed: 4, uncommitted: 1, seed: 5 }) : null;
  const reset = await simulateReset({ dataDir: dir, name, at: new Date('2026-11-02T10:00:00'), newMessages: 30 });
  // Read from the generator: opening kuzu.db now would replay the foreign WAL beside it in memory.
  const relsFresh = reset.fresh.relCounts;
  return { before, writer, reset, relsBefore, relsFresh };
}

test('a merge gives exactly the union of ids, keeps every chain, builds answering indexes, leaves the originals as they were', async (t) => {
  const dir = tempDir(t);
  const { before, writer, reset, relsBefore, relsFresh } = await resetLocrit(dir, 'bob', true);
  const backupHash = sha256File(reset.backupPath);
  const walHash = sha256File(reset.walLeft!);
  const freshIds = [...reset.fresh.messageIds].sort();
  const report = await mergeLocrit(before.dbPath, mergeOptions('bob'));
  assert.equal(report.outcome, 'merged');
  const expected = [...before.messageIds, ...writer!.committedIds, ...freshIds].sort();
  assert.deepEqual(await idsOf(before.dbPath), expected);
  assert.equal(report.messagesBefore, 30);
  assert.equal(report.messagesAfter, 154);
  assert.equal(report.sources[1].messagesAdded, 124);
  assert.equal(report.sources[1].walUsed, reset.walLeft);
  // Every relationship of both files, once; the writer's committed messages each have PART_OF.
  const after = await relCounts(before.dbPath, RELS);
  for (const table of RELS) {
    const extra = table === 'PART_OF' ? 4 : 0;
    assert.equal(after[table], relsBefore[table] + relsFresh[table] + extra, table);
  }
  // Users exist in both files with other values: the current file wins, the conflict is listed.
  assert.ok(report.conflicts.some((c) => c.table === 'User' && c.id === 'user_1'));
  await withStore(before.dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
    // RESPONDS_TO chains: each link stays inside its session, and no message answers two.
    assert.equal(Number(await store.scalar('MATCH (a:Message)-[:RESPONDS_TO]->(b:Message) WHERE a.session_id <> b.session_id RETURN count(*)')), 0);
    assert.equal(Number(await store.scalar('MATCH (a:Message)-[r:RESPONDS_TO]->(:Message) WITH a, count(r) AS n WHERE n > 1 RETURN count(a)')), 0);
    // PART_OF: every message is part of exactly its own session.
    assert.equal(Number(await store.scalar('MATCH (m:Message)-[:PART_OF]->(s:Session) WHERE m.session_id = s.id RETURN count(DISTINCT m)')), 154);
    const indexes = await store.query<{ name: string }>(`CALL show_indexes() RETURN index_name AS name ORDER BY name`);
    assert.deepEqual(indexes.map((i) => i.name), ['bob_concept_embeddings', 'bob_memory_embeddings', 'bob_message_embeddings']);
  });
  assert.ok(report.vectorIndexes.every((i) => i.present && i.answered !== false));
  assert.equal(sha256File(reset.backupPath), backupHash, 'the backup is byte-identical');
  assert.equal(report.foreignWalMovedTo, `${reset.backupPath}.wal`, 'the foreign WAL goes to the file that wrote it');
  assert.equal(sha256File(report.foreignWalMovedTo!), walHash);
  assert.equal(fs.existsSync(`${before.dbPath}.wal`), false);
  assert.deepEqual(await idsOf(report.keptCurrentAs!), freshIds, 'the replaced file is kept as it was');

  const mergedHash = sha256File(before.dbPath);
  const again = await mergeLocrit(before.dbPath, mergeOptions('bob'));
  assert.equal(again.outcome, 'nothing-to-merge');
  assert.equal(again.scan.resets.length, 0);
  assert.equal(sha256File(before.dbPath), mergedHash, 'twice changes nothing');
});

test('a merge of a reset without a WAL, naming the backup explicitly', async (t) => {
  const dir = tempDir(t);
  const { before, reset } = await resetLocrit(dir, 'ada', false);
  const freshIds = [...reset.fresh.messageIds].sort();
  const report = await mergeLocrit(before.dbPath, { ...mergeOptions('ada'), backups: [reset.backupPath] });
  assert.equal(report.outcome, 'merged');
  assert.deepEqual(await idsOf(before.dbPath), [...before.messageIds, ...freshIds].sort());
  assert.equal(report.foreignWalMovedTo, null);
});

test('the diagnosis scan is reused only while the files are the ones it read: after another reset the merge scans again', async (t) => {
  const dir = tempDir(t);
  const before = await makeLocrit(dir, { name: 'dan', messages: 60 });
  const first = await simulateReset({ dataDir: dir, name: 'dan', at: new Date('2026-11-02T08:00:00'), newMessages: 20, seed: 11 });
  const scanOptions = { archiveRoot: null, folder: 'dan', settings, checkWalContent: true };
  const stale = await scanResets(before.dbPath, scanOptions);
  assert.deepEqual(stale.resets.map((r) => r.path), [first.backupPath]);
  // The application resets again before the merge runs: the file holding the 20 becomes a second backup.
  const second = await simulateReset({ dataDir: dir, name: 'dan', at: new Date('2026-11-03T08:00:00'), newMessages: 10, seed: 12 });
  const report = await mergeLocrit(before.dbPath, { ...mergeOptions('dan'), scan: stale });
  assert.notEqual(report.scan, stale);
  assert.equal(report.outcome, 'merged');
  assert.deepEqual(await idsOf(before.dbPath), [...before.messageIds, ...first.fresh.messageIds, ...second.fresh.messageIds].sort());
  // Nothing changed since this scan: the merge uses it as it is.
  const current = await scanResets(before.dbPath, scanOptions);
  const again = await mergeLocrit(before.dbPath, { ...mergeOptions('dan'), scan: current });
  assert.equal(again.scan, current);
  assert.equal(again.outcome, 'nothing-to-merge');
});

const CHILD = fileURLToPath(new URL('../../src/fixtures/mergeUntilKilled.js', import.meta.url));

test('SIGKILL at each step of a merge leaves the old state, and the next merge completes', async (t) => {
  const dir = tempDir(t);
  const { before, reset } = await resetLocrit(dir, 'cy', true);
  const dbHash = sha256File(before.dbPath);
  const backupHash = sha256File(reset.backupPath);
  const walHash = sha256File(reset.walLeft!);
  for (const phase of ['merge: reading the current database', 'merge: reading kuzu.db.backup', 'merge: building', 'swap']) {
    const signal = await new Promise<string | null>((resolve) => {
      execFile(process.execPath, [CHILD, before.dbPath, 'cy', phase], (error) => resolve((error as { signal?: string } | null)?.signal ?? null));
    });
    assert.equal(signal, 'SIGKILL', phase);
    assert.equal(sha256File(before.dbPath), dbHash, `kuzu.db untouched after a kill at ${phase}`);
    assert.equal(sha256File(reset.backupPath), backupHash);
    assert.equal(sha256File(reset.walLeft!), walHash, 'the WAL is where the reset left it');
  }
  const report = await mergeLocrit(before.dbPath, mergeOptions('cy'));
  assert.equal(report.outcome, 'merged');
  assert.equal((await idsOf(before.dbPath)).length, 154);
  assert.deepEqual(fs.readdirSync(path.dirname(before.dbPath)).filter((n) => n.includes('locrit-mem-merge.')), [], 'no leftovers');
});
