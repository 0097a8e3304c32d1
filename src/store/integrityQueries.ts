/**
 * Longer than most files on purpose: every rule's Cypher aggregate sits beside the others that
 * share its reads of Message, PART_OF and RESPONDS_TO, and they change together.
 *
 * The queries behind `validate`. The read-only check computes its rules as aggregates inside
 * Kuzu (counts and the first ids: one row per statement crosses into JS), each table read once
 * where it can be (MessageRulePass, PartOfPass, RespondsToPass, which `--deep` adds to its own
 * reads of those tables), plus a handful of small queries for the rest. `--fix` needs every
 * broken message for its plan: it uses the candidate pass (scanMessages), which hands JS the rows
 * that may break a rule. The rules themselves live in src/policy/integrityRules.ts.
 */
import { EMBEDDING_COLUMNS } from '../schema/locrit.js';
import { byCodeUnit, isInvalidEmbedding, isJsonObject, MAX_EXAMPLES, VALID_ROLES, type MessageCapabilities, type MessageRow, type SchemaInput } from '../policy/integrityRules.js';
import { DEEP_BATCH, type DeepExtra, type DeepVariables } from './deepScan.js';
import type { KuzuStore, Params, Row } from './kuzu.js';
import type { DatabaseSchema } from './schema.js';

/** The tables and columns as the schema rules want them (no counts: see readSchemaInput). */
export function schemaTables(schema: DatabaseSchema): SchemaInput['tables'] {
  const tables: SchemaInput['tables'] = {};
  for (const [name, table] of Object.entries(schema.tables)) {
    tables[name] = { kind: table.kind, columns: table.columns.map((c) => ({ name: c.name, type: c.type })), from: table.from, to: table.to };
  }
  return tables;
}

/**
 * The schema as the schema rules want it, plus how many embeddings each embedding column holds.
 * `known`: counts already read ("Table.column" -> count), e.g. by the rule pass over Message;
 * counting reads the whole column, which for Message is most of the file.
 */
export async function readSchemaInput(store: KuzuStore, schema: DatabaseSchema, known: Record<string, number> = {}): Promise<SchemaInput> {
  const vectorIndexes = schema.indexes
    .filter((index) => index.type.toUpperCase() === 'HNSW')
    .flatMap((index) => index.columns.map((column) => ({ table: index.table, column })));
  const embeddingCounts: Record<string, number> = {};
  for (const [table, column] of Object.entries(EMBEDDING_COLUMNS)) {
    if (!schema.tables[table]?.columns.some((c) => c.name === column)) continue;
    const key = `${table}.${column}`;
    embeddingCounts[key] = known[key] ?? Number(await store.scalar(`MATCH (n:${table}) RETURN count(n.${column})`));
  }
  return { tables: schemaTables(schema), vectorIndexes, embeddingCounts };
}

/**
 * How many embeddings a column holds (what readSchemaInput counts), added to --deep's read of its
 * table, which hashes every embedding anyway: one read of the column instead of two.
 */
export class EmbeddingCountPass implements DeepExtra {
  readonly params: Params = {};
  readonly results = ['embeddings'];
  private count = 0;
  private finished = false;

  constructor(
    readonly table: string,
    private readonly column: string,
  ) {}

  aggregates({ node }: Pick<DeepVariables, 'node'>): string[] {
    return [`count(${node}.\`${this.column.replace(/`/g, '``')}\`) AS embeddings`];
  }

  fold(row: Row): void {
    this.count += Number(row.embeddings ?? 0);
  }

  done(): void {
    this.finished = true;
  }

  /** The count under readSchemaInput's key ("Table.column"), or null when the deep read dropped it. */
  known(): [string, number] | null {
    return this.finished ? [`${this.table}.${this.column}`, this.count] : null;
  }
}

/** The embedding columns other than Message's (whose count the rule pass over Message gives), as passes for --deep. */
export function embeddingCountPasses(schema: DatabaseSchema): EmbeddingCountPass[] {
  return Object.entries(EMBEDDING_COLUMNS)
    .filter(([table, column]) => table !== 'Message' && schema.tables[table]?.kind === 'NODE' && schema.tables[table].columns.some((c) => c.name === column))
    .map(([table, column]) => new EmbeddingCountPass(table, column));
}

/** How many things break a rule, and the first ids in id order. */
export interface CountedIds {
  count: number;
  examples: string[];
}

/** What the rule pass over Message found (see MessageRulePass). */
export interface MessageFigures {
  /** Rule id -> count and first ids, for every per-message rule Kuzu decides exactly. */
  rules: Record<string, CountedIds>;
  /** Messages whose embedding may be invalid, for judgeEmbeddings (none on a healthy Locrit). */
  embeddingSuspects: string[];
  /** Non-NULL values of Message.content_embedding, or null when the column does not exist. */
  embeddings: number | null;
  /** Metadata other than "{}" (NULL included), which only JS can judge: how many, and their characters. */
  metadataToParse: number;
  metadataChars: number;
  /** The highest node offset of Message, or null when it is empty. */
  lastOffset: number | null;
}

export interface MessagePassSettings {
  /** First stored timestamp that breaks message.timestamp-future (policy: futureTimestampFrom). */
  futureFrom: string;
  lowPriorityMaxChars: number;
  enableEmbeddings: boolean;
}

/**
 * The per-message rules as aggregates inside Kuzu: for each rule the ids of the messages that
 * break it are collected (collect skips the NULL of a row that does not), and only their number
 * and the first five cross into JS, one row per statement however many messages there are.
 * The conditions are those of messageRulesBroken in src/policy/integrityRules.ts, written in
 * Cypher (the tests hold the two equal). Three rules are decided elsewhere, on the few rows that
 * may break them: message.embedding-invalid (judgeEmbeddings), message.metadata-not-object
 * (judgeMetadata: it needs a JSON parser), and the PART_OF rules (partOfFigures: a grouping per
 * message).
 *
 * The aggregates read every column of Message, the embedding included, which is most of the
 * file: `--deep` adds them to its own read of Message (deepScan's `extras`), so that the table is
 * read once; otherwise runMessagePass reads them alone.
 */
export class MessageRulePass implements DeepExtra {
  readonly table = 'Message';
  readonly params: Params;
  /** Whether every batch of Message was added up (a pass the deep read dropped is not). */
  finished = false;
  private readonly rules: { id: string; condition: (v: string) => string }[] = [];
  private readonly totals = new Map<string, CountedIds>();
  private readonly embeddingSuspects: string[] = [];
  private embeddings = 0;
  private metadataToParse = 0;
  private metadataChars = 0;
  private lastOffset: number | null = null;

  constructor(
    private readonly capabilities: MessageCapabilities,
    /** Whether Message has a content_embedding column (counted for the schema rules even when its type is wrong). */
    private readonly embeddingColumn: boolean,
    settings: MessagePassSettings,
  ) {
    // Settings are written into the statement, not passed as parameters: Kuzu 0.11 types
    // `collect(CASE WHEN <condition with a parameter> THEN id END)` as STRING once it goes
    // through WITH, and then refuses list_sort on it.
    if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/.test(settings.futureFrom)) throw new Error(`not a stored wall-clock time: ${settings.futureFrom}`);
    const maxChars = Math.floor(settings.lowPriorityMaxChars);
    this.params = {};
    const roles = `[${VALID_ROLES.map((r) => `'${r}'`).join(', ')}]`;
    this.rule('message.content-null', (v) => `${v}.content IS NULL`);
    this.rule('message.timestamp-null', (v) => `${v}.timestamp IS NULL`);
    this.rule('message.timestamp-future', (v) => `${v}.timestamp >= CAST('${settings.futureFrom}' AS TIMESTAMP)`);
    this.rule('message.role-unknown', (v) => `${v}.role IS NULL OR NOT ${v}.role IN ${roles}`);
    this.rule('message.session-id-null', (v) => `${v}.session_id IS NULL`);
    if (capabilities.embedding) {
      this.rule('message.embedding-low-priority', (v) => `${v}.content_embedding IS NOT NULL AND (${v}.role = 'system' OR size(${v}.content) <= ${maxChars})`);
      if (!settings.enableEmbeddings) this.rule('message.embeddings-disabled', (v) => `${v}.content_embedding IS NOT NULL`);
    }
  }

  private rule(id: string, condition: (v: string) => string): void {
    this.rules.push({ id, condition });
    this.totals.set(id, { count: 0, examples: [] });
  }

  /** The aggregates over the message variable (see DeepExtra). */
  aggregates({ node: v }: Pick<DeepVariables, 'node'>): string[] {
    const out = this.rules.map((rule, i) => `collect(CASE WHEN ${rule.condition(v)} THEN ${v}.id END) AS rule${i}`);
    if (this.capabilities.embedding) {
      // A suspect is an embedding whose sum of squares (computed natively) is not within
      // (1e-30, 1e30): NaN (Kuzu's NaN compares false with `>`), infinities and all zeros are
      // all suspects, and so is every embedding that can break the rule, which is defined on the
      // sum of |x|. That sum needs a lambda per element (~15x slower, and ~60 ms to compile in
      // each statement that holds it), so it is computed only for the suspects. One comparison,
      // so that the sum of squares is computed once per row.
      const squares = `array_inner_product(${v}.content_embedding, ${v}.content_embedding)`;
      out.push(`collect(CASE WHEN NOT (-abs(log10(${squares})) > -30) THEN ${v}.id END) AS embedding_suspects`);
    }
    if (this.embeddingColumn) out.push(`count(${v}.content_embedding) AS embeddings`);
    const toParse = `${v}.metadata IS NULL OR ${v}.metadata <> '{}'`;
    out.push(`count(CASE WHEN ${toParse} THEN 1 END) AS metadata_to_parse`, `sum(CASE WHEN ${toParse} THEN size(${v}.metadata) ELSE 0 END) AS metadata_chars`);
    out.push(`max(offset(id(${v}))) AS last_offset`);
    return out;
  }

  /** What the statement returns of the aggregates: per rule how many ids and the first five. */
  get results(): string[] {
    const out = this.rules.flatMap((_, i) => [`size(rule${i}) AS rule${i}_count`, `list_sort(rule${i})[1:${MAX_EXAMPLES}] AS rule${i}_examples`]);
    if (this.capabilities.embedding) out.push('embedding_suspects');
    if (this.embeddingColumn) out.push('embeddings');
    out.push('metadata_to_parse', 'metadata_chars', 'last_offset');
    return out;
  }

  /** Adds one statement's row (one batch of offsets). collect() over no value is NULL in Kuzu 0.11. */
  fold(row: Row): void {
    this.rules.forEach((rule, i) => {
      const total = this.totals.get(rule.id)!;
      total.count += Number(row[`rule${i}_count`] ?? 0);
      const examples = (row[`rule${i}_examples`] ?? []) as string[];
      total.examples = [...total.examples, ...examples].sort(byCodeUnit).slice(0, MAX_EXAMPLES);
    });
    this.embeddingSuspects.push(...((row.embedding_suspects ?? []) as string[]));
    if (this.embeddingColumn) this.embeddings += Number(row.embeddings ?? 0);
    this.metadataToParse += Number(row.metadata_to_parse ?? 0);
    this.metadataChars += Number(row.metadata_chars ?? 0);
    if (row.last_offset !== null && row.last_offset !== undefined) this.lastOffset = Math.max(this.lastOffset ?? 0, Number(row.last_offset));
  }

  done(): void {
    this.finished = true;
  }

  figures(): MessageFigures {
    return {
      rules: Object.fromEntries([...this.totals].map(([id, total]) => [id, { count: total.count, examples: [...total.examples] }])),
      embeddingSuspects: [...this.embeddingSuspects].sort(byCodeUnit),
      embeddings: this.embeddingColumn ? this.embeddings : null,
      metadataToParse: this.metadataToParse,
      metadataChars: this.metadataChars,
      lastOffset: this.lastOffset,
    };
  }
}

/**
 * Runs the rule pass on its own, in batches of DEEP_BATCH offsets (Kuzu 0.11 reads the whole
 * table for each statement whatever the offset range, so batches only bound what the
 * collects hold).
 */
export async function runMessagePass(store: KuzuStore, pass: MessageRulePass, batch = DEEP_BATCH): Promise<MessageFigures> {
  const last = await store.scalar<number | bigint>('MATCH (m:Message) RETURN max(offset(id(m)))');
  for (let lo = 0; last !== null && lo <= Number(last); lo += batch) {
    const [row] = await store.query(
      `MATCH (m:Message) WHERE offset(id(m)) >= $lo AND offset(id(m)) < $hi WITH ${pass.aggregates({ node: 'm' }).join(', ')} RETURN ${pass.results.join(', ')}`,
      { ...pass.params, lo, hi: lo + batch },
    );
    pass.fold(row);
  }
  pass.done();
  return pass.figures();
}

/** Suspects per statement of judgeEmbeddings. */
export const EMBEDDING_JUDGE_BATCH = 5_000;

/** message.embedding-invalid on the pass's suspects: the sum of |x| of each, judged by the rule itself. */
export async function judgeEmbeddings(store: KuzuStore, figures: MessageFigures, batch = EMBEDDING_JUDGE_BATCH): Promise<CountedIds> {
  const invalid: string[] = [];
  for (let i = 0; i < figures.embeddingSuspects.length; i += batch) {
    const rows = await store.query<{ id: string; absSum: number | null }>(
      'MATCH (m:Message) WHERE m.id IN $ids RETURN m.id AS id, list_sum(list_transform(CAST(m.content_embedding AS FLOAT[]), x -> abs(x))) AS absSum',
      { ids: figures.embeddingSuspects.slice(i, i + batch) },
    );
    for (const row of rows) if (isInvalidEmbedding(row.absSum)) invalid.push(row.id);
  }
  invalid.sort(byCodeUnit);
  return { count: invalid.length, examples: invalid.slice(0, MAX_EXAMPLES) };
}

/** Characters of metadata per statement of judgeMetadata: bounds the list that crosses into JS. */
export const METADATA_PAGE_CHARS = 16 * 1024 * 1024;
/** Metadata values per statement of judgeMetadata. */
export const METADATA_PAGE_VALUES = 250_000;

/**
 * message.metadata-not-object: the metadata other than the exact "{}" (the application's empty
 * object), NULL included, handed to JS as ONE list of (id, text) pairs per statement and parsed
 * there (a JSON-object test in Kuzu needs a regex compiled per row, ~150 us, slower than JS; the
 * Node binding costs 20-40 us per result row but well under a microsecond per list element).
 * Pages of offsets are sized from the pass's figures so that each list stays bounded.
 */
export async function judgeMetadata(store: KuzuStore, figures: MessageFigures, maxChars = METADATA_PAGE_CHARS, maxValues = METADATA_PAGE_VALUES): Promise<CountedIds> {
  if (figures.metadataToParse === 0 || figures.lastOffset === null) return { count: 0, examples: [] };
  // Messages share few distinct metadata values (1,189 for 41,373 on 200,000 messages): when
  // they all fit in one list and every one is an object, no message breaks the rule, and only
  // they cross into JS (10 instead of 90 ms, plus the parsing). Otherwise the messages are judged
  // one by one below.
  if (figures.metadataChars <= maxChars && figures.metadataToParse <= maxValues) {
    const [distinct] = await store.query<{ values: string[] | null; nulls: number | bigint }>(
      "MATCH (m:Message) WHERE m.metadata IS NULL OR m.metadata <> '{}' RETURN collect(DISTINCT m.metadata) AS values, count(*) - count(m.metadata) AS nulls",
    );
    if (Number(distinct?.nulls ?? 0) === 0 && (distinct?.values ?? []).every((text) => isJsonObject(text))) return { count: 0, examples: [] };
  }
  const pages = Math.max(1, Math.ceil(figures.metadataChars / maxChars), Math.ceil(figures.metadataToParse / maxValues));
  const width = Math.ceil((figures.lastOffset + 1) / pages);
  const bad: string[] = [];
  for (let lo = 0; lo <= figures.lastOffset; lo += width) {
    const [found] = await store.query<{ pairs: [string, string | null][] | null }>(
      "MATCH (m:Message) WHERE offset(id(m)) >= $lo AND offset(id(m)) < $hi AND (m.metadata IS NULL OR m.metadata <> '{}') RETURN collect([m.id, m.metadata]) AS pairs",
      { lo, hi: lo + width },
    );
    for (const [id, text] of found?.pairs ?? []) if (!isJsonObject(text)) bad.push(id);
  }
  bad.sort(byCodeUnit);
  return { count: bad.length, examples: bad.slice(0, MAX_EXAMPLES) };
}

/** PART_OF as a whole: what partOfFigures and the session-empty rule start from. */
export interface PartOfEdges {
  edges: number;
  /** Messages that are the source of a PART_OF. */
  sources: number;
  /** Sessions that are the target of one. */
  sessionsUsed: number;
  /** PART_OF leading to a Session other than the message's session_id (NULL session_ids not counted). */
  mismatched: number;
}

// Distinct node offsets, not node ids: the same count (both ends are of one table each), and
// hashing an integer is cheaper than hashing Kuzu's internal id (90 ms less on 200,000 messages).
const partOfAggregates = (m: string, s: string): string[] => [
  `count(DISTINCT offset(id(${m}))) AS sources`,
  `count(DISTINCT offset(id(${s}))) AS sessions_used`,
  `count(CASE WHEN ${s}.id <> ${m}.session_id THEN 1 END) AS mismatched`,
];

/** PartOfEdges in one statement of its own. */
export async function readPartOfEdges(store: KuzuStore): Promise<PartOfEdges> {
  const [row] = await store.query(`MATCH (m:Message)-[:PART_OF]->(s:Session) RETURN count(*) AS rows, ${partOfAggregates('m', 's').join(', ')}`);
  return partOfEdgesOf(row);
}

function partOfEdgesOf(row: Row | undefined): PartOfEdges {
  return { edges: Number(row?.rows ?? 0), sources: Number(row?.sources ?? 0), sessionsUsed: Number(row?.sessions_used ?? 0), mismatched: Number(row?.mismatched ?? 0) };
}

/** PartOfEdges added to --deep's read of PART_OF (distinct counts do not add up across batches: one batch only). */
export class PartOfPass implements DeepExtra {
  readonly table = 'PART_OF';
  readonly params: Params = {};
  readonly results = ['sources', 'sessions_used', 'mismatched'];
  private rows: Row[] = [];
  private finished = false;

  aggregates({ from, to }: DeepVariables): string[] {
    return partOfAggregates(from, to);
  }

  fold(row: Row): void {
    this.rows.push(row);
  }

  done(): void {
    this.finished = true;
  }

  /** The figures, or null when the deep read dropped the aggregates or read PART_OF in several batches. */
  edges(): PartOfEdges | null {
    return this.finished && this.rows.length <= 1 ? partOfEdgesOf(this.rows[0]) : null;
  }
}

/** Every message is PART_OF exactly one Session: as many PART_OF as messages, each message the source of one. */
export function onePartOfEach(edges: PartOfEdges, messages: number): boolean {
  return edges.edges === messages && edges.sources === messages;
}

/**
 * message.part-of-not-one and message.session-mismatch. When every message is PART_OF exactly
 * one Session and none leads to a Session other than its session_id, neither fires (every
 * healthy Locrit: nothing more to read). Otherwise the messages are grouped in Kuzu (by id and
 * session_id only: carrying the node through the grouping copies every column, embeddings
 * included, ~25x slower); of the Sessions a message is PART_OF, `min` is the one when there is
 * exactly one.
 */
export async function partOfFigures(store: KuzuStore, edges: PartOfEdges, messages: number): Promise<{ notOne: CountedIds; mismatch: CountedIds }> {
  if (onePartOfEach(edges, messages) && edges.mismatched === 0) return { notOne: { count: 0, examples: [] }, mismatch: { count: 0, examples: [] } };
  const notOne = 'parts <> 1';
  const mismatch = 'parts = 1 AND first <> sessionId';
  const [row] = await store.query<{ notOne: number | bigint; notOneExamples: string[] | null; mismatch: number | bigint; mismatchExamples: string[] | null }>(
    'MATCH (m:Message) OPTIONAL MATCH (m)-[:PART_OF]->(s:Session) WITH m.id AS id, m.session_id AS sessionId, count(s) AS parts, min(s.id) AS first ' +
      `RETURN count(CASE WHEN ${notOne} THEN 1 END) AS notOne, list_sort(collect(CASE WHEN ${notOne} THEN id END))[1:${MAX_EXAMPLES}] AS notOneExamples, ` +
      `count(CASE WHEN ${mismatch} THEN 1 END) AS mismatch, list_sort(collect(CASE WHEN ${mismatch} THEN id END))[1:${MAX_EXAMPLES}] AS mismatchExamples`,
  );
  return {
    notOne: { count: Number(row?.notOne ?? 0), examples: row?.notOneExamples ?? [] },
    mismatch: { count: Number(row?.mismatch ?? 0), examples: row?.mismatchExamples ?? [] },
  };
}

/** RESPONDS_TO as --deep reads it: graph.responds-to-later, and how many link messages of other (or NULL) session_ids. */
export interface RespondsToEdges {
  later: CountedIds;
  otherSessionIds: number;
}

/**
 * RespondsToEdges added to --deep's read of RESPONDS_TO (Message -> Message; Message must have
 * timestamp and session_id). graph.responds-to-later as countAndExamples defines it: every
 * RESPONDS_TO counted, the distinct responding ids as examples.
 */
export class RespondsToPass implements DeepExtra {
  readonly table = 'RESPONDS_TO';
  readonly params: Params = {};
  readonly results = ['size(later) AS later_count', `list_sort(list_distinct(later))[1:${MAX_EXAMPLES}] AS later_examples`, 'other_session_ids'];
  private readonly figures: RespondsToEdges = { later: { count: 0, examples: [] }, otherSessionIds: 0 };
  private finished = false;

  aggregates({ from: a, to: b }: DeepVariables): string[] {
    return [
      `collect(CASE WHEN ${a}.timestamp < ${b}.timestamp THEN ${a}.id END) AS later`,
      `count(CASE WHEN ${a}.session_id IS NULL OR ${b}.session_id IS NULL OR ${a}.session_id <> ${b}.session_id THEN 1 END) AS other_session_ids`,
    ];
  }

  fold(row: Row): void {
    this.figures.later.count += Number(row.later_count ?? 0);
    this.figures.later.examples = [...new Set([...this.figures.later.examples, ...((row.later_examples ?? []) as string[])])].sort(byCodeUnit).slice(0, MAX_EXAMPLES);
    this.figures.otherSessionIds += Number(row.other_session_ids ?? 0);
  }

  done(): void {
    this.finished = true;
  }

  /** The figures, or null when the deep read dropped the aggregates. */
  edges(): RespondsToEdges | null {
    return this.finished ? { later: { ...this.figures.later, examples: [...this.figures.later.examples] }, otherSessionIds: this.figures.otherSessionIds } : null;
  }
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
 * The per-message pass of `--fix` over Message, in pages of node offsets so that memory stays
 * bounded, handing JS only the candidate rows: messages that may break a per-message rule (the rules
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
 *
 * A first statement only asks whether any two messages share a timestamp and a content hash:
 * it neither groups by session_id nor collects ids (76 instead of 116 ms on 200,000 messages,
 * which have none). Only when some do are the groups made as above.
 */
export async function duplicateGroups(store: KuzuStore): Promise<string[][]> {
  const candidates = await store.scalar<number | bigint>(
    'MATCH (m:Message) WHERE m.content IS NOT NULL AND m.timestamp IS NOT NULL WITH m.timestamp AS t, hash(m.content) AS h, count(*) AS n WHERE n > 1 RETURN count(*)',
  );
  if (Number(candidates ?? 0) === 0) return [];
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

/** What other passes already know, which spares the graph rules their statements. */
export interface GraphShortcuts {
  /** From --deep's read of RESPONDS_TO. */
  respondsTo?: RespondsToEdges | null;
  /** Every message is PART_OF exactly one Session, the one its session_id names (PartOfEdges). */
  onePartOfEach?: boolean;
  /** Sessions some message is PART_OF (PartOfEdges). */
  sessionsUsed?: number | null;
}

/** The graph rules, each one small query over a relationship table (or none, given the shortcuts). */
export async function readGraphFigures(store: KuzuStore, schema: DatabaseSchema, known: GraphShortcuts = {}): Promise<GraphFigures> {
  const has = (table: string): boolean => Boolean(schema.tables[table]);
  const figures: GraphFigures = { respondsToCrossSession: null, respondsToLater: null, emptySessions: null, usersWithoutMessages: null };
  const respondsTo = has('RESPONDS_TO') && schema.tables.RESPONDS_TO.from === 'Message' && schema.tables.RESPONDS_TO.to === 'Message';
  const partOf = has('PART_OF') && has('Session') && schema.tables.PART_OF.from === 'Message';
  const none = { count: 0, examples: [] };
  if (respondsTo && partOf) {
    // Across sessions, by the graph: both ends belong to sessions and share none.
    // Not with NOT EXISTS { (a)-[:PART_OF]->()<-[:PART_OF]-(b) }: on 50,000 messages that filled a
    // 256 MiB buffer pool in Kuzu 0.11. Counting shared sessions per pair is cheap, and needed
    // only when some pair has a Session of one end that is not a Session of the other: a pair
    // that shares none has one (100 ms instead of 390 ms on 200,000 messages, where none has).
    // When every message is PART_OF exactly the Session its session_id names, a pair shares
    // none exactly when the session_ids differ, which --deep's read of RESPONDS_TO counted.
    const unshared =
      known.onePartOfEach && known.respondsTo
        ? known.respondsTo.otherSessionIds
        : Number(await store.scalar('MATCH (sa:Session)<-[:PART_OF]-(a:Message)-[:RESPONDS_TO]->(b:Message)-[:PART_OF]->(sb:Session) WHERE id(sa) <> id(sb) RETURN count(*)'));
    figures.respondsToCrossSession = unshared === 0 ? none : await countAndExamples(
      store,
      'MATCH (sa:Session)<-[:PART_OF]-(a:Message)-[:RESPONDS_TO]->(b:Message)-[:PART_OF]->(sb:Session) ' +
        'WITH a, b, sum(CASE WHEN sa.id = sb.id THEN 1 ELSE 0 END) AS shared WHERE shared = 0',
      'a.id',
    );
  }
  if (respondsTo && schema.tables.Message.columns.some((c) => c.name === 'timestamp')) {
    figures.respondsToLater = known.respondsTo?.later ?? (await countAndExamples(store, 'MATCH (a:Message)-[:RESPONDS_TO]->(b:Message) WHERE a.timestamp < b.timestamp', 'a.id'));
  }
  if (partOf) {
    const sessions = known.sessionsUsed === undefined || known.sessionsUsed === null ? null : Number(await store.scalar('MATCH (s:Session) RETURN count(s)'));
    figures.emptySessions = sessions !== null && sessions === known.sessionsUsed ? none : await countAndExamples(store, 'MATCH (s:Session) WHERE NOT EXISTS { MATCH (:Message)-[:PART_OF]->(s) }', 's.id');
  }
  if (has('User') && has('SENT') && schema.tables.SENT.from === 'User') {
    figures.usersWithoutMessages = await countAndExamples(store, 'MATCH (u:User) WHERE NOT EXISTS { MATCH (u)-[:SENT]->(:Message) }', 'u.id');
  }
  return figures;
}

/** Sessions holding more than `limit` messages: how many, the largest first, and the largest size. */
export async function sessionsOver(store: KuzuStore, schema: DatabaseSchema, limit: number): Promise<{ count: number; examples: string[]; largest: number }> {
  if (!schema.tables.PART_OF || !schema.tables.Session) return { count: 0, examples: [], largest: 0 };
  // Grouped by the session's offset, not the node: the group key carries no columns.
  const largest = await store.scalar<number | bigint>('MATCH (m:Message)-[:PART_OF]->(s:Session) WITH offset(id(s)) AS session, count(*) AS n RETURN max(n)');
  const largestSize = largest === null ? 0 : Number(largest);
  if (limit <= 0 || largestSize <= limit) return { count: 0, examples: [], largest: largestSize };
  const count = Number(await store.scalar('MATCH (m:Message)-[:PART_OF]->(s:Session) WITH s, count(m) AS n WHERE n > $limit RETURN count(*)', { limit }));
  const rows = await store.query<{ id: string }>(
    `MATCH (m:Message)-[:PART_OF]->(s:Session) WITH s.id AS id, count(m) AS n WHERE n > $limit RETURN id ORDER BY n DESC, id LIMIT ${MAX_EXAMPLES}`,
    { limit },
  );
  return { count, examples: rows.map((r) => r.id), largest: largestSize };
}
