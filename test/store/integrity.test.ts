import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageCapabilities, type MessageRow } from '../../src/policy/integrity.js';
import { deepScan } from '../../src/store/deepScan.js';
import { duplicateGroups, readSchemaInput, scanMessages } from '../../src/store/integrity.js';
import { withStore } from '../../src/store/kuzu.js';
import { readSchema } from '../../src/store/schema.js';
import { makeLocrit, tempDir } from '../helpers.js';

describe('integrity queries', () => {
  it('the per-message pass pages through every message once, in id order, with its PART_OF session and embedding sum', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'paged', messages: 150, embeddedShare: 0.4 });
    await withStore(fixture.dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
      const schema = await readSchema(store);
      const input = await readSchemaInput(store, schema);
      assert.equal(input.embeddingCounts['Message.content_embedding'], fixture.embeddedMessageIds.length);
      const capabilities = messageCapabilities(input);
      assert.deepEqual(capabilities, { message: true, partOf: true, embedding: true });
      const pages: number[] = [];
      const seen: MessageRow[] = [];
      const total = await scanMessages(store, capabilities, (rows) => {
        pages.push(rows.length);
        seen.push(...rows);
      }, 13);
      assert.equal(total, 150);
      assert.deepEqual(pages, [...Array(11).fill(13), 7]);
      const ids = seen.map((r) => r.id);
      assert.deepEqual(ids, [...fixture.messageIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      for (const row of seen) {
        assert.equal(row.partOf?.length, 1);
        assert.equal(row.partOf![0], row.sessionId);
        assert.equal(row.hasEmbedding, fixture.embeddedMessageIds.includes(row.id));
        if (row.hasEmbedding) assert.ok(Number.isFinite(row.embeddingAbsSum) && row.embeddingAbsSum! > 0);
      }
      assert.deepEqual(await duplicateGroups(store), []);
    });
  });

  it('--deep reads every row of every table page by page and matches the counts', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'deep', messages: 90 });
    await withStore(fixture.dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
      const progress: string[] = [];
      const scans = await deepScan(store, await readSchema(store), (table) => progress.push(table), 7);
      const read = Object.fromEntries(scans.map((s) => [s.table, s.rowsRead]));
      for (const [table, rows] of Object.entries({ ...fixture.nodeCounts, ...fixture.relCounts })) assert.equal(read[table], rows, table);
      for (const scan of scans) {
        assert.equal(scan.error, null);
        assert.equal(scan.rowsCounted, scan.rowsRead);
      }
      assert.ok(progress.filter((p) => p === 'Message').length >= 13, 'Message is read in pages of 7');
    });
  });
});
