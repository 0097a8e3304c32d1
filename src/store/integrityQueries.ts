/**
 * The queries behind `validate`: one keyset-paginated pass over Message for every per-message
 * rule, and a handful of small queries (counts plus the first example ids) for the rest. The
 * rules themselves live in src/policy/integrityRules.ts; this module only reads and returns rows.
 */
import { EMBEDDING_COLUMNS } from '../schema/locrit.js';
import { isJsonObject, MAX_EXAMPLES, type MessageCapabilities, type MessageRow, type SchemaInput } from '../policy/integrityRules.js';
import type { KuzuStore, Params } from './kuzu.js';
import type { DatabaseSchema } from './schema.js';

/** The schema as the schema rules want it, plus how many embeddings each embedding column holds. */
export async function readSchemaInput(store: KuzuStore, schema: DatabaseSchema): Promise<SchemaInput> {
  const tables: SchemaInput['tables'] = {};
  for (const [name, table] of Object.entries(schema.tables)) {
    tables[name] = { kind: table.kind, columns: table.columns.map((c) => ({ name: c.name, type: c.type })), from: table.from, to: table.to };
  }
  const vectorIndexes = schema.indexes
    .filter((index) => index.type.toUpperCase() === 'HNSW')
    .flatMap((index) => index.columns.map((column) => ({ table: index.table, column })));
  const embeddingCounts: Record<string, number> = {};
  for (const [table, column] of Object.entries(EMBEDDING_COLUMNS)) {
    if (!schema.tables[table]?.columns.some((c) => c.name === column)) continue;
    embeddingCounts[`${table}.${column}`] = Number(await store.scalar(`MATCH (n:${table}) RETURN count(n.${column})`));
  }
  return { tables, vectorIndexes, embeddingCounts };
}

interface RawMessageRow {
  id: string;
  role: string | null;
  contentNull: boolean;
  contentLength: number | bigint | null;
  timestamp: Date | null;
  sessionId: string | null;
  metadata: string | null;
  hasEmbedding: boolean;
  absSum: number | null;
}

/** Node offsets per page of the per-message pass. Only candidate rows of a page cross into JS. */
export const MESSAGE_PAGE = 20_000;

export interface MessageScanSettings {
  /** Timestamps after this stored wall-clock value ("YYYY-MM-DD HH:MM:SS.ffffff") are candidates for message.timestamp-future. */
  futureAfter: string;
}

/**
 * The per-message pass over Message, in pages of node offsets so that memory stays bounded,
 * handing JS only the candidate rows: messages that may break a per-message rule (the rules
 * themselves decide, in src/policy/integrityRules.ts). A healthy Locrit has none, and each page
 * costs three cheap statements:
 * - suspects by their own columns (a NULL, an unknown role, a future timestamp, an embedding
 *   that fails the cheap test below), returned whole;
 * - messages whose PART_OF is not exactly one Session equal to their session_id (or whose
 *   session_id is NULL), with their sessions; grouped by id and session_id only, because
 *   carrying the node through the grouping copies every column, embeddings included (~25x
 *   slower on 6,000 messages);
 * - metadata other than the exact "{}", which only JS can parse (Kuzu's regexp_matches compiles
 *   its pattern for every row: a JSON-object pattern took ~150 us per row), as ONE result row
 *   per page holding a list of (id, text) pairs: the Node binding costs 20-40 us per result row
 *   but well under a microsecond per list element (1,226 pairs: ~30 ms as rows, ~3 ms as one).
 * Candidates found only by the last two are then read whole by id. A message absent from the
 * PART_OF statement is PART_OF exactly the Session its session_id names.
 *
 * The embedding test: `array_inner_product(e, e)` (the sum of squares, computed natively) is
 * NaN for a NaN, infinite for an infinity, 0 for all zeros, so a value in (0, 1e38) proves the
 * embedding valid; only the others get the sum of |x| the rule is defined on, which is ~15x
 * slower to compute (a lambda per element). The two rules that concern many healthy rows
 * (embedding-low-priority, embeddings-disabled) are counted in Kuzu instead (countMassRules).
 */
export async function scanMessages(
  store: KuzuStore,
  capabilities: MessageCapabilities,
  settings: MessageScanSettings,
  onBatch: (rows: MessageRow[]) => void | Promise<void>,
  page = MESSAGE_PAGE,
): Promise<number> {
  if (!capabilities.message) return 0;
  const squares = 'array_inner_product(m.content_embedding, m.content_embedding)';
  // NaN fails both comparisons, infinity fails `< 1e38`, all zeros fails `> 0`.
  const embeddingSuspect = capabilities.embedding ? ` OR (m.content_embedding IS NOT NULL AND NOT (${squares} > 0 AND ${squares} < 1e38))` : '';
  const suspect =
    'm.content IS NULL OR m.timestamp IS NULL OR m.timestamp > CAST($future AS TIMESTAMP) OR m.metadata IS NULL ' +
    `OR m.role IS NULL OR NOT m.role IN ['user', 'assistant', 'system'] OR m.session_id IS NULL${embeddingSuspect}`;
  const inPage = 'offset(id(m)) >= $lo AND offset(id(m)) < $hi';
  const suspects = `MATCH (m:Message) WHERE ${inPage} AND (${suspect}) RETURN ${wholeColumns(capabilities, squares)}`;
  const partOfOdd =
    `MATCH (m:Message) WHERE ${inPage} OPTIONAL MATCH (m)-[:PART_OF]->(s:Session) ` +
    // count(s), not size(partOf): collect() over an unmatched OPTIONAL MATCH is NULL in Kuzu 0.11, not [].
    'WITH m.id AS id, m.session_id AS sessionId, collect(s.id) AS partOf, count(s) AS parts WHERE sessionId IS NULL OR parts <> 1 OR partOf[1] <> sessionId RETURN id, partOf';
  const metadata = `MATCH (m:Message) WHERE ${inPage} AND m.metadata <> '{}' RETURN collect([m.id, m.metadata]) AS pairs`;
  const last = await store.scalar<number | bigint>('MATCH (m:Message) RETURN max(offset(id(m)))');
  if (last === null) return 0;
  let total = 0;
  for (let lo = 0; lo <= Number(last); lo += page) {
    const range = { lo, hi: lo + page };
    const whole = new Map((await store.query<RawMessageRow>(suspects, { ...range, future: settings.futureAfter })).map((r) => [r.id, r]));
    const partOf = new Map<string, string[]>();
    if (capabilities.partOf) {
      for (const r of await store.query<{ id: string; partOf: (string | null)[] | null }>(partOfOdd, range)) partOf.set(r.id, (r.partOf ?? []).filter((s): s is string => s !== null));
    }
    const [found] = await store.query<{ pairs: [string, string][] | null }>(metadata, range);
    const badMetadata = (found?.pairs ?? []).filter(([, text]) => !isJsonObject(text)).map(([id]) => id);
    const unread = [...new Set([...partOf.keys(), ...badMetadata])].filter((id) => !whole.has(id));
    if (unread.length > 0) {
      for (const r of await store.query<RawMessageRow>(`MATCH (m:Message) WHERE ${inPage} AND m.id IN $ids RETURN ${wholeColumns(capabilities, null)}`, { ...range, ids: unread })) whole.set(r.id, r);
    }
    const rows = [...whole.values()]
      .map(
        (r): MessageRow => ({
          id: r.id,
          role: r.role,
          contentNull: r.contentNull,
          contentLength: r.contentLength === null ? null : Number(r.contentLength),
          timestamp: r.timestamp,
          sessionId: r.sessionId,
          metadata: r.metadata,
          hasEmbedding: r.hasEmbedding,
          embeddingAbsSum: r.absSum,
          partOf: capabilities.partOf ? (partOf.get(r.id) ?? [r.sessionId as string]) : null,
        }),
      )
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await onBatch(rows); // once per page, even an empty one: callers see the pass progress
    total += rows.length;
  }
  return total;
}

/**
 * The columns of a candidate row. `squares`: the sum of |x| is computed only where the sum of
 * squares does not already prove the embedding valid (null: for every row read).
 */
function wholeColumns(capabilities: MessageCapabilities, squares: string | null): string {
  const absSum = 'list_sum(list_transform(CAST(m.content_embedding AS FLOAT[]), x -> abs(x)))';
  const embedding = !capabilities.embedding
    ? 'false AS hasEmbedding, CAST(NULL AS DOUBLE) AS absSum'
    : squares
      ? `m.content_embedding IS NOT NULL AS hasEmbedding, CASE WHEN m.content_embedding IS NOT NULL AND NOT (${squares} > 0 AND ${squares} < 1e38) THEN ${absSum} END AS absSum`
      : `m.content_embedding IS NOT NULL AS hasEmbedding, ${absSum} AS absSum`;
  return 'm.id AS id, m.role AS role, m.content IS NULL AS contentNull, size(m.content) AS contentLength, m.timestamp AS timestamp, ' + `m.session_id AS sessionId, m.metadata AS metadata, ${embedding}`;
}

/** Rules about many healthy rows, counted in Kuzu: how many and the first ids (same definitions as src/policy/integrityRules.ts). */
export async function countMassRules(
  store: KuzuStore,
  capabilities: MessageCapabilities,
  settings: { lowPriorityMaxChars: number; enableEmbeddings: boolean },
): Promise<{ lowPriority: { count: number; examples: string[] }; embeddingsDisabled: { count: number; examples: string[] } }> {
  const none = { count: 0, examples: [] };
  if (!capabilities.message || !capabilities.embedding) return { lowPriority: none, embeddingsDisabled: none };
  const lowPriority = await countAndExamples(
    store,
    "MATCH (m:Message) WHERE m.content_embedding IS NOT NULL AND (m.role = 'system' OR size(m.content) <= $max)",
    'm.id',
    { max: settings.lowPriorityMaxChars },
  );
  const embeddingsDisabled = settings.enableEmbeddings ? none : await countAndExamples(store, 'MATCH (m:Message) WHERE m.content_embedding IS NOT NULL', 'm.id');
  return { lowPriority, embeddingsDisabled };
}

/**
 * Groups of message ids with the same session, timestamp and content (the application's conversation manager: a message
 * saved twice). Kuzu groups by a 64-bit hash of the content, so its hash table holds no
 * message text; the few groups it returns are then checked on the real content.
 */
export async function duplicateGroups(store: KuzuStore): Promise<string[][]> {
  const rows = await store.query<{ ids: string[] }>(
    'MATCH (m:Message) WHERE m.content IS NOT NULL AND m.timestamp IS NOT NULL ' +
      'WITH m.session_id AS s, m.timestamp AS t, hash(m.content) AS h, collect(m.id) AS ids, count(*) AS n WHERE n > 1 RETURN ids',
  );
  const groups: string[][] = [];
  for (const { ids } of rows) {
    const contents = await store.query<{ id: string; content: string }>('MATCH (m:Message) WHERE m.id IN $ids RETURN m.id AS id, m.content AS content', { ids });
    const byContent = new Map<string, string[]>();
    for (const row of contents) byContent.set(row.content, [...(byContent.get(row.content) ?? []), row.id]);
    for (const same of byContent.values()) if (same.length > 1) groups.push(same);
  }
  return groups;
}

/** How many rows a pattern matches and the first ids, for rules checked by one query. */
export async function countAndExamples(store: KuzuStore, pattern: string, idExpression: string, params?: Params): Promise<{ count: number; examples: string[] }> {
  const count = Number(await store.scalar(`${pattern} RETURN count(*)`, params));
  if (count === 0) return { count, examples: [] };
  const rows = await store.query<{ id: string }>(`${pattern} WITH ${idExpression} AS id RETURN DISTINCT id ORDER BY id LIMIT ${MAX_EXAMPLES}`, params);
  return { count, examples: rows.map((r) => r.id) };
}

export interface GraphFigures {
  respondsToCrossSession: { count: number; examples: string[] } | null;
  respondsToLater: { count: number; examples: string[] } | null;
  emptySessions: { count: number; examples: string[] } | null;
  usersWithoutMessages: { count: number; examples: string[] } | null;
}

/** The graph rules, each one small query over a relationship table. */
export async function readGraphFigures(store: KuzuStore, schema: DatabaseSchema): Promise<GraphFigures> {
  const has = (table: string): boolean => Boolean(schema.tables[table]);
  const figures: GraphFigures = { respondsToCrossSession: null, respondsToLater: null, emptySessions: null, usersWithoutMessages: null };
  const respondsTo = has('RESPONDS_TO') && schema.tables.RESPONDS_TO.from === 'Message' && schema.tables.RESPONDS_TO.to === 'Message';
  const partOf = has('PART_OF') && has('Session') && schema.tables.PART_OF.from === 'Message';
  if (respondsTo && partOf) {
    // Across sessions, by the graph: both ends belong to sessions and share none.
    // Not with NOT EXISTS { (a)-[:PART_OF]->()<-[:PART_OF]-(b) }: on 50,000 messages that filled a
    // 256 MiB buffer pool in Kuzu 0.11. Counting shared sessions per pair is cheap.
    figures.respondsToCrossSession = await countAndExamples(
      store,
      'MATCH (sa:Session)<-[:PART_OF]-(a:Message)-[:RESPONDS_TO]->(b:Message)-[:PART_OF]->(sb:Session) ' +
        'WITH a, b, sum(CASE WHEN sa.id = sb.id THEN 1 ELSE 0 END) AS shared WHERE shared = 0',
      'a.id',
    );
  }
  if (respondsTo && schema.tables.Message.columns.some((c) => c.name === 'timestamp')) {
    figures.respondsToLater = await countAndExamples(store, 'MATCH (a:Message)-[:RESPONDS_TO]->(b:Message) WHERE a.timestamp < b.timestamp', 'a.id');
  }
  if (partOf) figures.emptySessions = await countAndExamples(store, 'MATCH (s:Session) WHERE NOT EXISTS { MATCH (:Message)-[:PART_OF]->(s) }', 's.id');
  if (has('User') && has('SENT') && schema.tables.SENT.from === 'User') {
    figures.usersWithoutMessages = await countAndExamples(store, 'MATCH (u:User) WHERE NOT EXISTS { MATCH (u)-[:SENT]->(:Message) }', 'u.id');
  }
  return figures;
}

/** Sessions holding more than `limit` messages: how many, the largest first, and the largest size. */
export async function sessionsOver(store: KuzuStore, schema: DatabaseSchema, limit: number): Promise<{ count: number; examples: string[]; largest: number }> {
  if (!schema.tables.PART_OF || !schema.tables.Session) return { count: 0, examples: [], largest: 0 };
  const [largest] = await store.query<{ n: number | bigint }>('MATCH (m:Message)-[:PART_OF]->(s:Session) WITH s, count(m) AS n RETURN n ORDER BY n DESC LIMIT 1');
  const largestSize = largest ? Number(largest.n) : 0;
  if (limit <= 0 || largestSize <= limit) return { count: 0, examples: [], largest: largestSize };
  const count = Number(await store.scalar('MATCH (m:Message)-[:PART_OF]->(s:Session) WITH s, count(m) AS n WHERE n > $limit RETURN count(*)', { limit }));
  const rows = await store.query<{ id: string }>(
    `MATCH (m:Message)-[:PART_OF]->(s:Session) WITH s.id AS id, count(m) AS n WHERE n > $limit RETURN id ORDER BY n DESC, id LIMIT ${MAX_EXAMPLES}`,
    { limit },
  );
  return { count, examples: rows.map((r) => r.id), largest: largestSize };
}
