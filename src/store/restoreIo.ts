/**
 * The Kuzu side of `recover --from-archive`: put archived messages and their relationships
 * back into a database, skipping every message id already present and every relationship
 * already there between the same two nodes, so that restoring twice changes nothing.
 * Relationships whose other end is no longer in the database are counted, not created.
 */
import { REL_TABLES } from '../schema/locrit.js';
import type { KuzuStore } from './kuzu.js';
import type { DatabaseSchema } from './schema.js';
import { cypherString } from './cypher.js';

const q = (name: string): string => `\`${name.replace(/`/g, '')}\``;

export interface RestoredTable {
  table: string;
  /** Rows in the archive file. */
  inArchive: number;
  /** Rows created now. */
  created: number;
  /** Rows already present (skipped). */
  alreadyPresent: number;
  /** Relationships whose other end is not in the database (not created). */
  missingEndpoint: number;
}

export async function parquetRows(store: KuzuStore, file: string): Promise<number> {
  return Number(await store.scalar(`LOAD FROM ${cypherString(file)} RETURN count(*)`));
}

/**
 * Creates the archived messages whose id is not in Message yet. Only columns both the file and
 * the table have are set (an older database may lack content_embedding).
 */
export async function restoreMessages(store: KuzuStore, schema: DatabaseSchema, file: string, fileColumns: string[]): Promise<RestoredTable> {
  const inArchive = await parquetRows(store, file);
  const tableColumns = new Set(schema.tables.Message?.columns.map((c) => c.name) ?? []);
  const columns = fileColumns.filter((c) => tableColumns.has(c));
  if (!columns.includes('id')) throw new Error(`${file} has no id column`);
  const set = columns.map((c) => `${q(c)}: ${q(c)}`).join(', ');
  const created = Number(
    await store.scalar(
      `LOAD FROM ${cypherString(file)} WITH ${columns.map(q).join(', ')} WHERE NOT EXISTS { MATCH (x:Message) WHERE x.id = id } CREATE (m:Message {${set}}) RETURN count(*)`,
    ),
  );
  return { table: 'Message', inArchive, created, alreadyPresent: inArchive - created, missingEndpoint: 0 };
}

/** Creates archived relationships of one table where both ends exist and no such relationship is there yet. */
export async function restoreRelationships(store: KuzuStore, schema: DatabaseSchema, table: string, file: string, fileColumns: string[]): Promise<RestoredTable> {
  const def = REL_TABLES.find((t) => t.name === table);
  if (!def) throw new Error(`${table} is not a Locrit relationship table`);
  const inArchive = await parquetRows(store, file);
  if (!schema.tables[table] || !schema.tables[def.from] || !schema.tables[def.to]) {
    return { table, inArchive, created: 0, alreadyPresent: 0, missingEndpoint: inArchive };
  }
  const relColumns = new Set(schema.tables[table].columns.map((c) => c.name));
  const props = fileColumns.filter((c) => c !== 'from_id' && c !== 'to_id' && relColumns.has(c));
  const withList = ['from_id', 'to_id', ...props].map(q).join(', ');
  const set = props.length ? ` {${props.map((c) => `${q(c)}: ${q(c)}`).join(', ')}}` : '';
  // Two chained lookups, not `MATCH (a {id: from_id}), (b {id: to_id})`: Kuzu 0.11 plans that
  // pattern as a cross product of both tables, which fills the buffer pool for RESPONDS_TO
  // (Message x Message) even on a small Locrit.
  const carried = ['to_id', ...props].map(q).join(', ');
  const ends = `MATCH (a:${q(def.from)}) WHERE a.id = from_id WITH a, ${carried} MATCH (b:${q(def.to)}) WHERE b.id = to_id`;
  const bothEnds = Number(await store.scalar(`LOAD FROM ${cypherString(file)} WITH ${withList} ${ends} RETURN count(*)`));
  const created = Number(
    await store.scalar(
      `LOAD FROM ${cypherString(file)} WITH ${withList} ${ends} AND NOT EXISTS { MATCH (a)-[:${q(table)}]->(b) } CREATE (a)-[:${q(table)}${set}]->(b) RETURN count(*)`,
    ),
  );
  return { table, inArchive, created, alreadyPresent: bothEnds - created, missingEndpoint: inArchive - bothEnds };
}
