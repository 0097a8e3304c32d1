import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { withStore } from '../../src/store/kuzu.js';
import { tempDir } from '../helpers.js';

describe('KuzuStore', () => {
  it('prepares a parameterized statement once per text and reuses it with other values, across a schema change', async (t) => {
    const dbPath = path.join(tempDir(t), 'kuzu.db');
    await withStore(dbPath, { readOnly: false, bufferPoolMb: 64, create: true }, async (store) => {
      await store.execute('CREATE NODE TABLE Item(id STRING, n INT64, PRIMARY KEY(id))');
      const insert = 'CREATE (:Item {id: $id, n: $n})';
      for (let i = 0; i < 200; i++) await store.execute(insert, { id: `item-${i}`, n: i });
      const find = 'MATCH (x:Item) WHERE x.n >= $low AND x.n < $high RETURN x.id AS id ORDER BY x.n';
      assert.deepEqual((await store.query<{ id: string }>(find, { low: 3, high: 6 })).map((r) => r.id), ['item-3', 'item-4', 'item-5']);
      assert.deepEqual((await store.query<{ id: string }>(find, { low: 198, high: 500 })).map((r) => r.id), ['item-198', 'item-199']);
      // A statement prepared before a schema change still answers against the new schema.
      await store.execute('ALTER TABLE Item ADD note STRING DEFAULT "none"');
      assert.deepEqual((await store.query<{ id: string }>(find, { low: 0, high: 2 })).map((r) => r.id), ['item-0', 'item-1']);
      assert.equal(await store.scalar('MATCH (x:Item) WHERE x.n = $n RETURN x.note', { n: 7 }), 'none');
      assert.equal(store.preparedStatements, 3);
      // A statement that fails to prepare is reported and not kept.
      await assert.rejects(store.query('MATCH (x:Missing) WHERE x.n = $n RETURN x', { n: 1 }), /Missing/);
      assert.equal(store.preparedStatements, 3);
    });
  });
});
