/**
 * Kuzu 0.11 holds a table's whole embedding column in the buffer pool while it builds an HNSW
 * index over it, rows without an embedding included: a rebuild into a fresh database (merge,
 * salvage, compaction) must open it with a pool that fits the column, whatever the configured
 * pool. Here two Locrits of 6,000 messages with 768-float columns (12,000 rows: 35 MiB of
 * column, 3 % embedded) are merged with a 32 MiB pool configured: without the sizing, the
 * index build fails with "the buffer pool is full".
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { generateLocrit } from '../../src/fixtures/generate.js';
import { withStore } from '../../src/store/kuzu.js';
import { buildMergedDatabase, exportSourceTables } from '../../src/store/mergeQueries.js';
import { vectorIndexBuildPoolMb } from '../../src/store/vectorIndexPool.js';
import { tempDir } from '../helpers.js';

test('the pool for an index build is the configured one, or the embedding column plus headroom when that is larger', () => {
  assert.equal(vectorIndexBuildPoolMb(256, 1_000, 768), 256);
  assert.equal(vectorIndexBuildPoolMb(256, 100_000, 768), 293 + 160);
  assert.equal(vectorIndexBuildPoolMb(1024, 100_000, 768), 1024);
  assert.equal(vectorIndexBuildPoolMb(32, 0, 768), 32);
});

test('a merge whose embedding column exceeds the configured pool builds its vector index and keeps every message', async (t) => {
  const dir = tempDir(t);
  const common = { messages: 6_000, embeddedShare: 0.03, dimension: 768, vectorIndexes: false, serialCopy: true, bufferPoolMb: 64, concepts: 0, topics: 0, memories: 0 };
  const older = await generateLocrit({ ...common, dataDir: path.join(dir, 'a'), name: 'bob', seed: 1, now: new Date('2026-10-01T12:00:00') });
  const newer = await generateLocrit({ ...common, dataDir: path.join(dir, 'b'), name: 'bob', seed: 2, now: new Date('2026-11-01T12:00:00') });
  const settings = { bufferPoolMb: 32 };
  const inputs = [
    { label: 'current', tables: await exportSourceTables(newer.dbPath, path.join(dir, 'work', 'current'), 768, settings) },
    { label: 'backup', tables: await exportSourceTables(older.dbPath, path.join(dir, 'work', 'backup'), 768, settings) },
  ];
  const merged = path.join(dir, 'merged.kuzu');
  const build = await buildMergedDatabase(merged, inputs, 'bob', 768, settings);
  assert.deepEqual(build.problems, []);
  assert.equal(build.vectorIndexes.find((i) => i.table === 'Message')?.answered, true);
  const ids = await withStore(merged, { readOnly: true, bufferPoolMb: 64 }, (store) => store.query<{ id: string }>('MATCH (m:Message) RETURN m.id AS id ORDER BY id'));
  const expected = [...new Set([...older.messageIds, ...newer.messageIds])].sort();
  assert.equal(expected.length, 12_000);
  assert.deepEqual(ids.map((r) => r.id), expected);
});
