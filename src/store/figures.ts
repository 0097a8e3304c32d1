/**
 * The aggregate queries behind `stats`, adapted to the tables a database really has.
 * Kept to as few statements as possible: opening a database and each statement have a fixed
 * cost that dominates on small Locrits (see bench/RESULTS.md), so the schema read is limited
 * to what the figures need and the aggregates over one table share one scan.
 */
import { EMBEDDING_COLUMNS, embeddingDimension } from '../schema/locrit.js';
import { nonNullCountFromStorage } from './columnNulls.js';
import type { KuzuStore } from './kuzu.js';
import { columnTypeOf, hasColumn, type DatabaseSchema, type TableInfo } from './schema.js';

export interface MessageFigures {
  messages: number;
  messagesWithEmbedding: number;
  /** Read from the schema (FLOAT[n]); null when Message has no embedding column. */
  embeddingDimension: number | null;
  /** Non-null embeddings stored per table that has an embedding column. */
  embeddingsStored: Record<string, { count: number; dimension: number }>;
  nodeRows: Record<string, number>;
  relRows: Record<string, number>;
  sessions: number;
  largestSession: { id: string; messages: number } | null;
  /** Stored wall-clock values (Kuzu hands them back in UTC fields). */
  oldestMessage: Date | null;
  newestMessage: Date | null;
}

/** Tables whose columns the figures look at: Message (timestamp, session_id) and the embedding tables. */
const TABLES_WITH_COLUMNS = new Set(['Message', ...Object.keys(EMBEDDING_COLUMNS)]);

/**
 * The part of the schema the figures need: every table with its kind (one statement) and the
 * columns of Message and of the tables holding embeddings. Other tables are listed with no
 * columns, and indexes are not read: use readSchema() for the full picture.
 */
export async function readFigureSchema(store: KuzuStore): Promise<DatabaseSchema> {
  const tables: Record<string, TableInfo> = {};
  const listed = await store.query<{ name: string; type: string }>('CALL show_tables() RETURN name, type');
  for (const { name, type } of listed) {
    if (type !== 'NODE' && type !== 'REL') continue;
    const table: TableInfo = { name, kind: type, columns: [] };
    if (type === 'NODE' && TABLES_WITH_COLUMNS.has(name)) {
      const info = await store.query<Record<string, unknown>>(`CALL table_info('${name}') RETURN *`);
      table.columns = info.map((row) => ({ name: String(row.name), type: String(row.type), primaryKey: row['primary key'] === true }));
    }
    tables[name] = table;
  }
  return { tables, indexes: [] };
}

/** Reads the figures; without a schema, reads only the part of it the figures need. */
export async function readFigures(store: KuzuStore, schema?: DatabaseSchema): Promise<MessageFigures> {
  schema ??= await readFigureSchema(store);
  const nodeRows: Record<string, number> = {};
  const relRows: Record<string, number> = {};
  const embeddingsStored: MessageFigures['embeddingsStored'] = {};
  let oldestMessage: Date | null = null;
  let newestMessage: Date | null = null;

  for (const table of Object.values(schema.tables)) {
    const name = `\`${table.name}\``;
    if (table.kind === 'REL') {
      relRows[table.name] = Number(await store.scalar(`MATCH ()-[r:${name}]->() RETURN count(r)`));
      continue;
    }
    // One scan per node table for every aggregate over it.
    const aggregates = ['count(n) AS rows'];
    const column = EMBEDDING_COLUMNS[table.name];
    const type = column ? columnTypeOf(schema, table.name, column) : null;
    const dimension = type ? embeddingDimension(type) : null;
    // The stored embeddings are counted from the null bitmaps where that is exact: a scan reads every float.
    const fromStorage = dimension !== null ? await nonNullCountFromStorage(store, table.name, column) : null;
    if (dimension !== null && !fromStorage) aggregates.push(`count(n.${column}) AS embedded`);
    const timeRange = table.name === 'Message' && hasColumn(schema, 'Message', 'timestamp');
    if (timeRange) aggregates.push('min(n.timestamp) AS lo', 'max(n.timestamp) AS hi');
    const [row] = await store.query<{ rows: number; embedded?: number; lo?: Date | null; hi?: Date | null }>(`MATCH (n:${name}) RETURN ${aggregates.join(', ')}`);
    nodeRows[table.name] = Number(row?.rows ?? 0);
    if (dimension !== null) {
      let embedded = Number(row?.embedded ?? 0);
      if (fromStorage) {
        // Deleted rows keep their null bit until Kuzu rewrites the chunk: then only a scan is exact.
        embedded = fromStorage.rows === nodeRows[table.name] ? fromStorage.nonNull : Number(await store.scalar(`MATCH (n:${name}) RETURN count(n.${column})`));
      }
      embeddingsStored[table.name] = { count: embedded, dimension };
    }
    if (timeRange) {
      oldestMessage = row?.lo ?? null;
      newestMessage = row?.hi ?? null;
    }
  }

  let largestSession: MessageFigures['largestSession'] = null;
  if (schema.tables.PART_OF && schema.tables.Session) {
    const [row] = await store.query<{ id: string; n: number }>('MATCH (m:Message)-[:PART_OF]->(s:Session) RETURN s.id AS id, count(m) AS n ORDER BY n DESC, id LIMIT 1');
    if (row) largestSession = { id: row.id, messages: Number(row.n) };
  } else if (hasColumn(schema, 'Message', 'session_id')) {
    const [row] = await store.query<{ id: string; n: number }>('MATCH (m:Message) WHERE m.session_id IS NOT NULL RETURN m.session_id AS id, count(*) AS n ORDER BY n DESC, id LIMIT 1');
    if (row) largestSession = { id: row.id, messages: Number(row.n) };
  }

  const messageType = columnTypeOf(schema, 'Message', 'content_embedding');
  return {
    messages: nodeRows.Message ?? 0,
    messagesWithEmbedding: embeddingsStored.Message?.count ?? 0,
    embeddingDimension: messageType ? embeddingDimension(messageType) : null,
    embeddingsStored,
    nodeRows,
    relRows,
    sessions: nodeRows.Session ?? 0,
    largestSession,
    oldestMessage,
    newestMessage,
  };
}

/** One session of a Locrit: who, how many messages, the first and the last (stored wall-clock values). */
export interface SessionFigures {
  id: string;
  userId: string | null;
  messages: number;
  first: Date | null;
  last: Date | null;
}

/** Every session with its message count and time range, largest first (one statement). Empty when the database has no PART_OF. */
export async function readSessions(store: KuzuStore): Promise<SessionFigures[]> {
  const schema = await readFigureSchema(store);
  if (!schema.tables.PART_OF || !schema.tables.Session) return [];
  const info = await store.query<Record<string, unknown>>("CALL table_info('Session') RETURN *");
  const user = info.some((row) => String(row.name) === 'user_id') ? 's.user_id' : 'NULL';
  const rows = await store.query<{ id: string; user: string | null; n: number; lo: Date | null; hi: Date | null }>(
    `MATCH (s:Session) OPTIONAL MATCH (m:Message)-[:PART_OF]->(s) RETURN s.id AS id, ${user} AS user, count(m) AS n, min(m.timestamp) AS lo, max(m.timestamp) AS hi ORDER BY n DESC, id`,
  );
  return rows.map((r) => ({ id: r.id, userId: r.user ?? null, messages: Number(r.n), first: r.lo ?? null, last: r.hi ?? null }));
}
