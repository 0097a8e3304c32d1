import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { withStore } from '../../src/store/kuzu.js';
import { vectorIndexAnswers } from '../../src/store/vectorIndexCheck.js';
import { tempDir } from '../helpers.js';

/** Deterministic vectors of 16 floats from a seed (no clock, no Math.random). */
function vectors(count: number, seed: number): number[][] {
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  return Array.from({ length: count }, () => Array.from({ length: 16 }, next));
}

describe('vectorIndexAnswers', () => {
  it('is true for an index over the stored vectors, false when they are not what it indexes, null for a table with none', async (t) => {
    const dbPath = path.join(tempDir(t), 'kuzu.db');
    await withStore(dbPath, { readOnly: false, bufferPoolMb: 128, create: true }, async (store) => {
      await store.execute('CREATE NODE TABLE Item(id STRING, a FLOAT[16], b FLOAT[16], PRIMARY KEY(id))');
      const a = vectors(300, 7);
      const b = vectors(300, 99);
      for (let i = 0; i < 300; i++) await store.execute('CREATE (:Item {id: $id, a: $a, b: $b})', { id: `item-${String(i).padStart(3, '0')}`, a: a[i], b: b[i] });
      await store.execute("CALL CREATE_VECTOR_INDEX('Item', 'item_a', 'a', metric := 'cosine')");
      assert.equal(await vectorIndexAnswers(store, 'Item', 'item_a', 'a'), true);
      // Vectors of column b are not in the index over a: a check that cannot find its sample fails.
      assert.equal(await vectorIndexAnswers(store, 'Item', 'item_a', 'b'), false);
      await store.execute('CREATE NODE TABLE Empty(id STRING, a FLOAT[16], PRIMARY KEY(id))');
      await store.execute("CALL CREATE_VECTOR_INDEX('Empty', 'empty_a', 'a', metric := 'cosine')");
      assert.equal(await vectorIndexAnswers(store, 'Empty', 'empty_a', 'a'), null);
    });
  });
});
