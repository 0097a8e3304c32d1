import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { futureTimestampFrom, MASS_RULES, messageCapabilities, messageRulesBroken, type MessageRow, type MessageRuleSettings } from '../../src/policy/integrityRules.js';
import { formatWallClock, instantToWallClock } from '../../src/policy/time.js';
import { deepScan, type DeepExtra } from '../../src/store/deepScan.js';
import {
  countAndExamples,
  countMassRules,
  type CountedIds,
  duplicateGroups,
  embeddingCountPasses,
  judgeEmbeddings,
  judgeMetadata,
  MessageRulePass,
  onePartOfEach,
  partOfFigures,
  PartOfPass,
  readPartOfEdges,
  readSchemaInput,
  RespondsToPass,
  runMessagePass,
  scanMessages,
  schemaTables,
} from '../../src/store/integrityQueries.js';
import { type KuzuStore, withStore } from '../../src/store/kuzu.js';
import { type DatabaseSchema, readSchema } from '../../src/store/schema.js';
import { FIXED_NOW, makeLocrit, tempDir } from '../helpers.js';
import { plantDefects, type PlantedDefects } from '../commands/validate-fixtures.js';

const sortIds = (ids: Iterable<string>): string[] => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

interface PlantedLocrit {
  store: KuzuStore;
  schema: DatabaseSchema;
  planted: PlantedDefects;
  now: Date;
  settings: MessageRuleSettings;
}

/** A Locrit with every kind of defect planted, opened read-only, and the settings the pure rules judge it by at `now` (the current time). */
async function withPlantedLocrit(t: TestContext, work: (locrit: PlantedLocrit) => Promise<void>): Promise<void> {
  const planted = await plantDefects(tempDir(t));
  const now = new Date();
  const settings: MessageRuleSettings = { enableEmbeddings: false, lowPriorityMaxChars: 20, futureSkewSeconds: 300, nowWallClockMs: instantToWallClock(now).getTime() };
  await withStore(planted.fixture.dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => work({ store, schema: await readSchema(store), planted, now, settings }));
}

describe('integrity queries', () => {
  it('the candidate pass hands JS exactly the messages the rules flag; Kuzu counts the mass rules as JS defines them', async (t) => {
    await withPlantedLocrit(t, async ({ store, schema, planted, now, settings }) => {
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

  it('the aggregate pass counts each per-message rule and its first ids as the pure rules do, alone or within the deep read, in one batch or many', async (t) => {
    await withPlantedLocrit(t, async ({ store, schema, planted, settings }) => {
      const capabilities = messageCapabilities({ tables: schemaTables(schema), vectorIndexes: [], embeddingCounts: {} });
      const all = await store.query<Omit<MessageRow, 'partOf' | 'contentLength'> & { contentLength: number | bigint | null; partOf: string[] | null }>(
        'MATCH (m:Message) OPTIONAL MATCH (m)-[:PART_OF]->(s:Session) WITH m, collect(s.id) AS partOf RETURN m.id AS id, m.role AS role, m.content IS NULL AS contentNull, ' +
          'size(m.content) AS contentLength, m.timestamp AS timestamp, m.session_id AS sessionId, m.metadata AS metadata, m.content_embedding IS NOT NULL AS hasEmbedding, ' +
          'list_sum(list_transform(CAST(m.content_embedding AS FLOAT[]), x -> abs(x))) AS embeddingAbsSum, partOf',
      );
      const expected = new Map<string, string[]>();
      for (const row of all) {
        const broken = messageRulesBroken({ ...row, partOf: (row.partOf ?? []).filter((p) => p !== null), contentLength: row.contentLength === null ? null : Number(row.contentLength) }, settings);
        for (const rule of broken) expected.set(rule, [...(expected.get(rule) ?? []), row.id]);
      }
      const want = (rule: string): { count: number; examples: string[] } => {
        const ids = sortIds(expected.get(rule) ?? []);
        return { count: ids.length, examples: ids.slice(0, 5) };
      };
      const newPass = (): MessageRulePass => new MessageRulePass(capabilities, true, { futureFrom: futureTimestampFrom(settings), lowPriorityMaxChars: 20, enableEmbeddings: false });

      const alone = await runMessagePass(store, newPass());
      const inBatches = await runMessagePass(store, newPass(), 13);
      const riding = newPass();
      const partOfRiding = new PartOfPass();
      const respondsToRiding = new RespondsToPass();
      const scans = await deepScan(store, schema, () => undefined, 17, [riding, partOfRiding, respondsToRiding]);
      assert.ok(riding.finished);
      assert.ok(scans.every((s) => s.error === null));
      assert.deepEqual(inBatches, alone);
      assert.deepEqual(riding.figures(), alone);
      // PART_OF read in several batches: its distinct counts cannot be added up, so none are given.
      assert.equal(partOfRiding.edges(), null);
      const onePartOf = new PartOfPass();
      await deepScan(store, schema, () => undefined, 1_000_000, [onePartOf]);
      const edges = await readPartOfEdges(store);
      assert.deepEqual(onePartOf.edges(), edges);
      const messages = all.length;
      // One orphan and one message PART_OF two sessions (one of them not its session_id's); one session_id names another session.
      assert.deepEqual(edges, { edges: messages, sources: messages - 1, sessionsUsed: 4, mismatched: 2 });
      assert.equal(onePartOfEach(edges, messages), false);
      // RESPONDS_TO: the later rule as countAndExamples counts it.
      const later = await countAndExamples(store, 'MATCH (a:Message)-[:RESPONDS_TO]->(b:Message) WHERE a.timestamp < b.timestamp', 'a.id');
      assert.equal(later.count, 1);
      assert.deepEqual(respondsToRiding.edges()?.later, later);

      const ruled = Object.keys(alone.rules).sort();
      assert.deepEqual(ruled, [
        'message.content-null', 'message.embedding-low-priority', 'message.embeddings-disabled',
        'message.role-unknown', 'message.session-id-null', 'message.timestamp-future', 'message.timestamp-null',
      ]);
      for (const rule of ruled) assert.deepEqual(alone.rules[rule], want(rule), rule);
      assert.equal(alone.embeddings, planted.embedded.length);
      // The suspects are the invalid embeddings (NaN, infinity, zeros) and not the valid ones.
      assert.deepEqual(alone.embeddingSuspects, sortIds(planted.embeddingFixes));
      assert.deepEqual(await judgeEmbeddings(store, alone), want('message.embedding-invalid'));
      assert.deepEqual(await judgeEmbeddings(store, alone, 2), want('message.embedding-invalid'));
      // Metadata in pages of 5 values: the same as in one page.
      assert.deepEqual(await judgeMetadata(store, alone), want('message.metadata-not-object'));
      assert.deepEqual(await judgeMetadata(store, alone, 1_000_000, 5), want('message.metadata-not-object'));
      const partOf = await partOfFigures(store, edges, messages);
      assert.deepEqual(partOf.notOne, want('message.part-of-not-one'));
      assert.deepEqual(partOf.mismatch, want('message.session-mismatch'));
      // Every rule the pure rules fire on this Locrit is covered by one of the four.
      const covered = new Set([...ruled, 'message.embedding-invalid', 'message.metadata-not-object', 'message.part-of-not-one', 'message.session-mismatch']);
      assert.deepEqual([...expected.keys()].filter((rule) => !covered.has(rule)), []);
    });
  });

  it('duplicates: the same session, timestamp and content make a group; the same timestamp and content in another session do not', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'twice', messages: 30, sessions: 2 });
    const [original] = fixture.messageIds;
    const copyOf = (copy: string, sessionId: string): string =>
      `MATCH (m:Message {id: '${original}'})-[:PART_OF]->(s:Session) CREATE (:Message {id: '${copy}', role: m.role, content: m.content, timestamp: m.timestamp, session_id: ${sessionId}, metadata: m.metadata})`;
    await withStore(fixture.dbPath, { readOnly: false, bufferPoolMb: 64 }, async (store) => {
      assert.deepEqual(await duplicateGroups(store), []);
      // Shares the timestamp and the content, in another session: what the first, cheaper statement finds, and not a duplicate.
      await store.execute(copyOf(`${original}_elsewhere`, "'another session'"));
      assert.deepEqual(await duplicateGroups(store), []);
      await store.execute(copyOf(`${original}_again`, 'm.session_id'));
      assert.deepEqual(await duplicateGroups(store).then((groups) => groups.map((g) => sortIds(g))), [sortIds([original, `${original}_again`])]);
    });
  });

  it('the embedding counts of the schema rules, riding on the deep read, are those readSchemaInput counts alone', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'embedded', messages: 60, embeddedShare: 0.5 });
    await withStore(fixture.dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
      const schema = await readSchema(store);
      const passes = embeddingCountPasses(schema);
      assert.deepEqual(passes.map((p) => p.table).sort(), ['Concept', 'Memory']);
      await deepScan(store, schema, () => undefined, 1_000_000, passes);
      const riding = Object.fromEntries(passes.map((p) => p.known()!));
      const alone = (await readSchemaInput(store, schema)).embeddingCounts;
      assert.deepEqual(riding, { 'Concept.name_embedding': alone['Concept.name_embedding'], 'Memory.content_embedding': alone['Memory.content_embedding'] });
      assert.ok(Object.values(riding).some((count) => count > 0), 'some of them hold embeddings');
      // Read in batches too.
      const batched = embeddingCountPasses(schema);
      await deepScan(store, schema, () => undefined, 3, batched);
      assert.deepEqual(Object.fromEntries(batched.map((p) => p.known()!)), riding);
    });
  });

  it('metadata: a NULL among valid objects is found, one message with a bad object too, whether the distinct values or every message are read', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'meta', messages: 40 });
    const [nulled, broken] = fixture.messageIds;
    const settings = { futureFrom: futureTimestampFrom({ futureSkewSeconds: 300, nowWallClockMs: FIXED_NOW.getTime() }), lowPriorityMaxChars: 20, enableEmbeddings: true };
    await withStore(fixture.dbPath, { readOnly: false, bufferPoolMb: 64 }, async (store) => {
      const schema = await readSchema(store);
      const capabilities = messageCapabilities({ tables: schemaTables(schema), vectorIndexes: [], embeddingCounts: {} });
      const judged = async (): Promise<CountedIds[]> => {
        const figures = await runMessagePass(store, new MessageRulePass(capabilities, true, settings));
        // Default bounds (one list of distinct values), and bounds too small for it (message by message).
        return [await judgeMetadata(store, figures), await judgeMetadata(store, figures, 1, 1_000_000)];
      };
      await store.execute("MATCH (m:Message) SET m.metadata = '{\"source\": \"web\"}'");
      assert.deepEqual(await judged(), [{ count: 0, examples: [] }, { count: 0, examples: [] }]);
      await store.execute('MATCH (m:Message {id: $id}) SET m.metadata = NULL', { id: nulled });
      assert.deepEqual(await judged(), Array(2).fill({ count: 1, examples: [nulled] }));
      await store.execute("MATCH (m:Message {id: $id}) SET m.metadata = '[\"web\"]'", { id: broken });
      assert.deepEqual(await judged(), Array(2).fill({ count: 2, examples: sortIds([nulled, broken]) }));
    });
  });

  it('the deep read drops aggregates that fail and still reads the table whole', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'extra', messages: 40 });
    await withStore(fixture.dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
      let folded = 0;
      let done = false;
      // A function Kuzu does not have: the statement carrying it fails, the plain one does not.
      const broken: DeepExtra = { table: 'Message', params: {}, aggregates: (v) => [`sum(no_such_function(${v.node}.id)) AS x`], results: ['x'], fold: () => folded++, done: () => (done = true) };
      const scans = await deepScan(store, await readSchema(store), () => undefined, 7, [broken]);
      const message = scans.find((s) => s.table === 'Message')!;
      assert.equal(message.error, null);
      assert.equal(message.rowsRead, fixture.messageIds.length);
      assert.equal(folded, 0);
      assert.equal(done, false);
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
