import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MASS_RULES, messageCapabilities, messageRulesBroken, type MessageRow, type MessageRuleSettings } from '../../src/policy/integrityRules.js';
import { formatWallClock, instantToWallClock } from '../../src/policy/time.js';
import { deepScan } from '../../src/store/deepScan.js';
import { countMassRules, duplicateGroups, readSchemaInput, scanMessages } from '../../src/store/integrityQueries.js';
import { withStore } from '../../src/store/kuzu.js';
import { readSchema } from '../../src/store/schema.js';
import { makeLocrit, tempDir } from '../helpers.js';
import { plantDefects } from '../commands/validate-fixtures.js';

const sortIds = (ids: Iterable<string>): string[] => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('integrity queries', () => {
  it('the candidate pass hands JS exactly the messages the rules flag; Kuzu counts the mass rules as JS defines them', async (t) => {
    const data = tempDir(t);
    const planted = await plantDefects(data);
    const now = new Date();
    const settings: MessageRuleSettings = { enableEmbeddings: false, lowPriorityMaxChars: 20, futureSkewSeconds: 300, nowWallClockMs: instantToWallClock(now).getTime() };
    await withStore(planted.fixture.dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
      const schema = await readSchema(store);
      const capabilities = messageCapabilities(await readSchemaInput(store, schema));
      assert.deepEqual(capabilities, { message: true, partOf: true, embedding: true });

      // Every message, read the slow way, judged by the pure rules.
      const all = await store.query<Omit<MessageRow, 'partOf' | 'embeddingAbsSum' | 'contentLength'> & { contentLength: number | null; embeddingAbsSum: number | null; partOf: string[] }>(
        'MATCH (m:Message) OPTIONAL MATCH (m)-[:PART_OF]->(s:Session) WITH m, collect(s.id) AS partOf RETURN m.id AS id, m.role AS role, m.content IS NULL AS contentNull, ' +
          'size(m.content) AS contentLength, m.timestamp AS timestamp, m.session_id AS sessionId, m.metadata AS metadata, m.content_embedding IS NOT NULL AS hasEmbedding, ' +
          'list_sum(list_transform(CAST(m.content_embedding AS FLOAT[]), x -> abs(x))) AS embeddingAbsSum, partOf',
      );
      assert.equal(all.length, planted.fixture.messageIds.length + 1);
      // collect() over an unmatched OPTIONAL MATCH gives NULL in Kuzu 0.11, not [].
      const judged = all.map((row) => ({ id: row.id, broken: messageRulesBroken({ ...row, partOf: (row.partOf ?? []).filter((p) => p !== null), contentLength: row.contentLength === null ? null : Number(row.contentLength) }, settings) }));
      const flagged = (rules: (r: string) => boolean): string[] => sortIds(judged.filter((j) => j.broken.some(rules)).map((j) => j.id));

      // The candidate pass, in pages of 13 offsets.
      const candidates: MessageRow[] = [];
      let pages = 0;
      await scanMessages(store, capabilities, { futureAfter: formatWallClock(new Date(now.getTime() + 300_000)) }, (rows) => {
        pages++;
        candidates.push(...rows);
      }, 13);
      assert.ok(pages > 5);
      const fromCandidates = sortIds(candidates.filter((row) => messageRulesBroken(row, settings).some((r) => !MASS_RULES.has(r))).map((r) => r.id));
      assert.deepEqual(fromCandidates, flagged((r) => !MASS_RULES.has(r)));
      assert.equal(fromCandidates.length, 13, "the 13 messages planted with a per-row defect");

      const mass = await countMassRules(store, capabilities, { lowPriorityMaxChars: 20, enableEmbeddings: false });
      const low = flagged((r) => r === 'message.embedding-low-priority');
      const disabled = flagged((r) => r === 'message.embeddings-disabled');
      assert.deepEqual(mass.lowPriority, { count: low.length, examples: low.slice(0, 5) });
      assert.deepEqual(mass.embeddingsDisabled, { count: disabled.length, examples: disabled.slice(0, 5) });
      assert.deepEqual(disabled, planted.embedded);
      assert.deepEqual(await duplicateGroups(store).then((groups) => groups.map((g) => sortIds(g))), [sortIds([planted.expected['message.duplicate'][0].replace(/_dup$/, ''), planted.expected['message.duplicate'][0]])]);
    });
  });

  it('--deep reads every row of every table in batches and matches the counts', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'deep', messages: 90 });
    await withStore(fixture.dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
      const progress: string[] = [];
      const scans = await deepScan(store, await readSchema(store), (table) => progress.push(table), 7);
      const read = Object.fromEntries(scans.map((s) => [s.table, s.rowsRead]));
      assert.deepEqual(read, { ...fixture.nodeCounts, ...fixture.relCounts });
      for (const scan of scans) {
        assert.equal(scan.error, null);
        assert.equal(scan.rowsCounted, scan.rowsRead);
      }
      assert.equal(scans.find((s) => s.table === 'Message')!.columns, 7);
      assert.equal(scans.find((s) => s.table === 'PART_OF')!.columns, 3, 'position plus the keys of both ends');
      assert.equal(progress.filter((p) => p === 'Message').length, Math.ceil(90 / 7), 'Message is read in batches of 7 offsets');
    });
  });
});
