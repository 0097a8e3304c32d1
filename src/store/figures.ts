/** The aggregate queries behind `stats`: a handful of scans, adapted to the tables a database really has. */
import { EMBEDDING_COLUMNS, embeddingDimension } from '../schema/locrit.js';
import type { KuzuStore } from './kuzu.js';
import { columnTypeOf, hasColumn, type DatabaseSchema } from './schema.js';

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

export async function readFigures(store: KuzuStore, schema: DatabaseSchema): Promise<MessageFigures> {
  const nodeRows: Record<string, number> = {};
  const relRows: Record<string, number> = {};
  for (const table of Object.values(schema.tables)) {
    if (table.kind === 'NODE') nodeRows[table.name] = Number(await store.scalar(`MATCH (n:\`${table.name}\`) RETURN count(n)`));
    else relRows[table.name] = Number(await store.scalar(`MATCH ()-[r:\`${table.name}\`]->() RETURN count(r)`));
  }

  const embeddingsStored: MessageFigures['embeddingsStored'] = {};
  for (const [table, column] of Object.entries(EMBEDDING_COLUMNS)) {
    const type = columnTypeOf(schema, table, column);
    const dimension = type ? embeddingDimension(type) : null;
    if (dimension === null) continue;
    embeddingsStored[table] = { count: Number(await store.scalar(`MATCH (n:${table}) RETURN count(n.${column})`)), dimension };
  }

  let oldestMessage: Date | null = null;
  let newestMessage: Date | null = null;
  if (hasColumn(schema, 'Message', 'timestamp')) {
    const [range] = await store.query<{ lo: Date | null; hi: Date | null }>('MATCH (m:Message) RETURN min(m.timestamp) AS lo, max(m.timestamp) AS hi');
    oldestMessage = range?.lo ?? null;
    newestMessage = range?.hi ?? null;
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
