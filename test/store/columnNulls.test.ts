import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { nonNullCountFromStorage } from '../../src/store/columnNulls.js';
import { readFigures } from '../../src/store/figures.js';
import { withStore, type KuzuStore } from '../../src/store/kuzu.js';
import { makeLocrit, tempDir } from '../helpers.js';

const READ_COPY = { readOnly: true, bufferPoolMb: 64, privateCopy: true } as const;
const WRITE = { readOnly: false, bufferPoolMb: 64 } as const;

/** What a query says: the figure the storage read must equal. */
async function scanned(store: KuzuStore, table: string, column: string): Promise<{ rows: number; nonNull: number }> {
  const [row] = await store.query<{ rows: number; nonNull: number }>(`MATCH (n:${table}) RETURN count(n) AS rows, count(n.${column}) AS nonNull`);
  return { rows: Number(row.rows), nonNull: Number(row.nonNull) };
}

/** The compressions storage_info reports for a column's null chunks. */
async function nullChunkForms(store: KuzuStore, table: string, column: string): Promise<string[]> {
  const rows = await store.query<{ column_name: string; compression: string }>(`CALL storage_info('${table}') RETURN column_name, compression`);
  return rows.filter((r) => r.column_name === `${column}_null`).map((r) => r.compression);
}

describe('nonNullCountFromStorage', () => {
  it('counts the embeddings of a checkpointed Locrit from its null bitmap, as a scan does', async (t) => {
    const fixture = await makeLocrit(tempDir(t), { name: 'ada', messages: 600, embeddedShare: 0.4, vectorIndexes: false });
    await withStore(fixture.dbPath, READ_COPY, async (store) => {
      assert.deepEqual(await nullChunkForms(store, 'Message', 'content_embedding'), ['BOOLEAN_BITPACKING']);
      const fromStorage = await nonNullCountFromStorage(store, 'Message', 'content_embedding');
      assert.deepEqual(fromStorage, { rows: 600, nonNull: fixture.embeddedMessageIds.length });
      assert.deepEqual(fromStorage, await scanned(store, 'Message', 'content_embedding'));
    });
  });

  it('reads a column with no null and a column with only nulls from their constant form', async (t) => {
    const dir = tempDir(t);
    const all = await makeLocrit(dir, { name: 'all', messages: 300, embeddedShare: 1, vectorIndexes: false });
    const none = await makeLocrit(dir, { name: 'none', messages: 300, embeddedShare: 0, vectorIndexes: false });
    for (const [fixture, expected] of [[all, 300], [none, 0]] as const) {
      await withStore(fixture.dbPath, READ_COPY, async (store) => {
        assert.deepEqual(await nullChunkForms(store, 'Message', 'content_embedding'), ['CONSTANT']);
        assert.deepEqual(await nonNullCountFromStorage(store, 'Message', 'content_embedding'), { rows: 300, nonNull: expected });
      });
    }
  });

  it('is exact over several node groups and chunks written in several transactions', async (t) => {
    // Kuzu 0.11 puts 131,072 rows in a node group: 150,000 rows span two.
    const dbPath = path.join(tempDir(t), 'kuzu.db');
    await withStore(dbPath, { ...WRITE, create: true }, async (store) => {
      await store.execute('CREATE NODE TABLE Item(id INT64, v FLOAT[4], PRIMARY KEY(id))');
      for (const [from, to] of [[0, 90_000], [90_000, 140_000], [140_000, 150_000]]) {
        await store.execute(`COPY Item FROM (UNWIND range(${from}, ${to - 1}) AS i RETURN i, CASE WHEN i % 7 = 0 OR i % 11 = 3 THEN NULL ELSE CAST([1.0, 2.0, 3.0, 4.0] AS FLOAT[4]) END)`);
      }
      await store.execute('CHECKPOINT');
    });
    await withStore(dbPath, READ_COPY, async (store) => {
      assert.equal((await nullChunkForms(store, 'Item', 'v')).length, 2);
      const expected = await scanned(store, 'Item', 'v');
      assert.equal(expected.rows, 150_000);
      assert.deepEqual(await nonNullCountFromStorage(store, 'Item', 'v'), expected);
    });
  });

  it('follows values set to null and back once they are checkpointed', async (t) => {
    const fixture = await makeLocrit(tempDir(t), { name: 'ada', messages: 400, embeddedShare: 0.5, vectorIndexes: false });
    await withStore(fixture.dbPath, WRITE, async (store) => {
      await store.execute(`MATCH (m:Message) WHERE m.id IN $ids SET m.content_embedding = NULL`, { ids: fixture.embeddedMessageIds.slice(0, 50) });
      const unembedded = fixture.messageIds.filter((id) => !fixture.embeddedMessageIds.includes(id)).slice(0, 20);
      await store.execute(`MATCH (m:Message) WHERE m.id IN $ids SET m.content_embedding = CAST([${Array(16).fill('0.5').join(', ')}] AS FLOAT[16])`, { ids: unembedded });
      await store.execute('CHECKPOINT');
    });
    await withStore(fixture.dbPath, READ_COPY, async (store) => {
      const expected = await scanned(store, 'Message', 'content_embedding');
      assert.equal(expected.nonNull, fixture.embeddedMessageIds.length - 50 + 20);
      assert.deepEqual(await nonNullCountFromStorage(store, 'Message', 'content_embedding'), expected);
    });
  });

  it('hands deleted rows back to the caller, whose figures then come from a scan', async (t) => {
    const fixture = await makeLocrit(tempDir(t), { name: 'ada', messages: 400, embeddedShare: 0.5, vectorIndexes: false });
    const deleted = fixture.messageIds.slice(0, 120);
    await withStore(fixture.dbPath, WRITE, async (store) => {
      await store.execute('MATCH (m:Message) WHERE m.id IN $ids DETACH DELETE m', { ids: deleted });
      await store.execute('CHECKPOINT');
    });
    await withStore(fixture.dbPath, READ_COPY, async (store) => {
      const fromStorage = await nonNullCountFromStorage(store, 'Message', 'content_embedding');
      assert.equal(fromStorage?.rows, 400, 'deleted rows are still in the chunk');
      const figures = await readFigures(store);
      assert.equal(figures.messages, 280);
      assert.equal(figures.messagesWithEmbedding, fixture.embeddedMessageIds.filter((id) => !deleted.includes(id)).length);
    });
  });

  it('declines a file with a WAL, a read-write store and a file that is not a private copy', async (t) => {
    const fixture = await makeLocrit(tempDir(t), { name: 'ada', messages: 300, embeddedShare: 0.5, vectorIndexes: false });
    await withStore(fixture.dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
      assert.equal(await nonNullCountFromStorage(store, 'Message', 'content_embedding'), null);
    });
    await withStore(fixture.dbPath, WRITE, async (store) => {
      assert.equal(await nonNullCountFromStorage(store, 'Message', 'content_embedding'), null);
    });
    // A writer killed after its commit leaves the change in the WAL only, where storage_info does not look.
    const cleared = fixture.embeddedMessageIds.slice(0, 30);
    const writer = `
      import { KuzuStore } from ${JSON.stringify(new URL('../../src/store/kuzu.js', import.meta.url).href)};
      const store = await KuzuStore.open(process.argv[1], { readOnly: false, bufferPoolMb: 64, autoCheckpoint: false });
      await store.execute('MATCH (m:Message) WHERE m.id IN $ids SET m.content_embedding = NULL', { ids: JSON.parse(process.argv[2]) });
      process.kill(process.pid, 'SIGKILL');`;
    const killed = spawnSync(process.execPath, ['--input-type=module', '-e', writer, fixture.dbPath, JSON.stringify(cleared)]);
    assert.equal(killed.signal, 'SIGKILL', killed.stderr.toString());
    assert.ok(fs.statSync(`${fixture.dbPath}.wal`).size > 0);
    await withStore(fixture.dbPath, READ_COPY, async (store) => {
      assert.equal(await nonNullCountFromStorage(store, 'Message', 'content_embedding'), null);
      const figures = await readFigures(store);
      assert.equal(figures.messagesWithEmbedding, fixture.embeddedMessageIds.length - cleared.length);
    });
  });
});
