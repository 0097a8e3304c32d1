/**
 * The Kuzu side of `recover`: what a damaged database still answers (schema, counts, rows in
 * keyset batches written to Parquet by Kuzu itself), building a fresh database with the full
 * Locrit schema from salvaged files, and the checks that end every repair. The orchestration
 * (which batch, what to do after a crash) lives in src/recover/; every call here may crash the
 * process on a damaged file, so the callers run it in a child process.
 */
import path from 'node:path';
import { columnType, embeddingDimension, NODE_TABLES, REL_TABLES, schemaDdl, VECTOR_INDEXES, vectorIndexDdl, vectorIndexName, vectorIndexNameUsable } from '../schema/locrit.js';
import type { KuzuStore, Params } from './kuzu.js';
import { readSchema, type DatabaseSchema } from './schema.js';

/** Rows per table, node and relationship tables alike. */
export type TableCounts = Record<string, number>;

export async function tableCounts(store: KuzuStore, schema: DatabaseSchema): Promise<TableCounts> {
  const counts: TableCounts = {};
  for (const table of Object.values(schema.tables)) counts[table.name] = await countTable(store, table.name, table.kind);
  return counts;
}

export async function countTable(store: KuzuStore, table: string, kind: 'NODE' | 'REL'): Promise<number> {
  const query = kind === 'NODE' ? `MATCH (n:\`${table}\`) RETURN count(n)` : `MATCH ()-[r:\`${table}\`]->() RETURN count(r)`;
  return Number(await store.scalar(query));
}

/**
 * Reads every column of every table once, through aggregates (nothing comes back to JS), so
 * that pages Kuzu cannot read raise or crash here rather than later in the application.
 */
export async function readEveryColumn(store: KuzuStore, schema: DatabaseSchema): Promise<void> {
  for (const table of Object.values(schema.tables)) {
    const alias = table.kind === 'NODE' ? 'n' : 'r';
    const pattern = table.kind === 'NODE' ? `(n:\`${table.name}\`)` : `()-[r:\`${table.name}\`]->()`;
    const columns = table.columns.filter((c) => !c.name.startsWith('_'));
    const aggregates = columns.length ? columns.map((c, i) => `count(${alias}.\`${c.name}\`) AS c${i}`).join(', ') : 'count(*) AS c0';
    await store.query(`MATCH ${pattern} RETURN ${aggregates}`);
  }
}

/** What the schema of a database lacks compared with the Locrit schema (tables and columns). */
export function missingFromLocritSchema(schema: DatabaseSchema): string[] {
  const missing: string[] = [];
  for (const table of [...NODE_TABLES, ...REL_TABLES]) {
    const found = schema.tables[table.name];
    if (!found) {
      missing.push(table.name);
      continue;
    }
    for (const column of table.columns) if (!found.columns.some((c) => c.name === column.name)) missing.push(`${table.name}.${column.name}`);
  }
  return missing;
}

/** The embedding dimension of a database (Message first, then Memory and Concept), or null. */
export function schemaDimension(schema: DatabaseSchema): number | null {
  for (const index of VECTOR_INDEXES) {
    const type = schema.tables[index.table]?.columns.find((c) => c.name === index.column)?.type;
    const dimension = type ? embeddingDimension(type) : null;
    if (dimension !== null) return dimension;
  }
  return null;
}

export { readSchema };

// ---------------------------------------------------------------- salvage reads (child process)

const q = (name: string): string => `\`${name.replace(/`/g, '')}\``;

/** Up to `limit` primary keys of a node table after `after` (exclusive), in key order. */
export async function nextIds(store: KuzuStore, table: string, after: string | null, limit: number): Promise<string[]> {
  const where = after === null ? '' : 'WHERE n.id > $after ';
  const rows = await store.query<{ id: string }>(`MATCH (n:${q(table)}) ${where}RETURN n.id AS id ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`, after === null ? undefined : { after });
  return rows.map((r) => r.id);
}

/**
 * Writes the rows of a node table whose key is in (after, last] to a Parquet file, columns in
 * the Locrit schema's order. A column the source lacks is written as NULL of the Locrit type.
 * Returns the number of rows written.
 */
export async function copyNodeRange(
  store: KuzuStore, schema: DatabaseSchema, table: string, dimension: number, after: string | null, last: string, file: string, only: string[] | null = null,
): Promise<number> {
  const def = NODE_TABLES.find((t) => t.name === table);
  if (!def) throw new Error(`${table} is not a Locrit node table`);
  // `only`: read just these columns (a row whose other columns crash Kuzu keeps what can be read).
  const present = new Set((schema.tables[table]?.columns.map((c) => c.name) ?? []).filter((c) => only === null || only.includes(c)));
  const projection = def.columns
    .map((c) => (present.has(c.name) ? `n.${q(c.name)} AS ${q(c.name)}` : `CAST(NULL AS ${columnType(c.type, dimension)}) AS ${q(c.name)}`))
    .join(', ');
  const where = after === null ? 'WHERE n.id <= $last' : 'WHERE n.id > $after AND n.id <= $last';
  const params: Params = after === null ? { last } : { after, last };
  await store.execute(`COPY (MATCH (n:${q(table)}) ${where} RETURN ${projection}) TO '${escapePath(file)}'`, params);
  return countParquet(store, file);
}

/**
 * Writes the relationships of a table whose `side` endpoint key is in (after, last] to a
 * Parquet file: from_id, to_id, then the relationship's own columns. Returns rows written.
 */
export async function copyRelRange(
  store: KuzuStore, schema: DatabaseSchema, table: string, side: 'from' | 'to', after: string | null, last: string, file: string,
): Promise<number> {
  const def = REL_TABLES.find((t) => t.name === table);
  if (!def) throw new Error(`${table} is not a Locrit relationship table`);
  const present = new Set(schema.tables[table]?.columns.map((c) => c.name) ?? []);
  const projection = ['a.id AS from_id', 'b.id AS to_id', ...def.columns.map((c) => (present.has(c.name) ? `r.${q(c.name)} AS ${q(c.name)}` : `CAST(NULL AS ${c.type}) AS ${q(c.name)}`))].join(', ');
  const key = side === 'from' ? 'a.id' : 'b.id';
  const where = after === null ? `WHERE ${key} <= $last` : `WHERE ${key} > $after AND ${key} <= $last`;
  const params: Params = after === null ? { last } : { after, last };
  await store.execute(`COPY (MATCH (a:${q(def.from)})-[r:${q(table)}]->(b:${q(def.to)}) ${where} RETURN ${projection}) TO '${escapePath(file)}'`, params);
  return countParquet(store, file);
}

export async function countParquet(store: KuzuStore, file: string): Promise<number> {
  return Number(await store.scalar(`LOAD FROM '${escapePath(file)}' RETURN count(*)`));
}

function escapePath(file: string): string {
  if (file.includes("'")) throw new Error(`path ${file} contains a quote`);
  return file;
}

// ---------------------------------------------------------------- building the fresh database

export interface SalvagedFiles {
  /** Node table -> Parquet files (columns in Locrit order). */
  nodes: Record<string, string[]>;
  /** Relationship table -> Parquet files (from_id, to_id, properties). */
  rels: Record<string, string[]>;
  /** Node table -> column values salvaged apart from their rows (rows whose other columns were unreadable). */
  columns: Record<string, { column: string; file: string }[]>;
}

export interface BuildResult {
  /** Rows each table holds in the new database. */
  counts: TableCounts;
  /** Relationships read from the salvage whose endpoints did not both come back. */
  relsWithoutEndpoints: Record<string, number>;
  vectorIndexes: string[];
}

/**
 * Fills an empty database (already open read-write) with the full Locrit schema and the
 * salvaged files: nodes with COPY FROM, relationships only where both endpoints exist, then a
 * vector index on every embedding column that holds embeddings.
 */
export async function buildFromSalvage(store: KuzuStore, folder: string, dimension: number, files: SalvagedFiles): Promise<BuildResult> {
  for (const ddl of schemaDdl(dimension)) await store.execute(ddl);
  for (const table of NODE_TABLES) {
    const list = files.nodes[table.name] ?? [];
    if (list.length) await store.execute(`COPY ${q(table.name)} FROM [${list.map((f) => `'${escapePath(f)}'`).join(', ')}]`);
  }
  for (const [table, list] of Object.entries(files.columns ?? {})) {
    for (const { column, file } of list) {
      await store.execute(`LOAD FROM '${escapePath(file)}' WITH id, ${q(column)} AS value MATCH (n:${q(table)} {id: id}) SET n.${q(column)} = value`);
    }
  }
  const relsWithoutEndpoints: Record<string, number> = {};
  for (const table of REL_TABLES) {
    let read = 0;
    let created = 0;
    for (const file of files.rels[table.name] ?? []) {
      read += await countParquet(store, file);
      const props = table.columns.map((c) => q(c.name));
      const withList = ['from_id', 'to_id', ...props].join(', ');
      const set = table.columns.length ? ` {${table.columns.map((c) => `${q(c.name)}: ${q(c.name)}`).join(', ')}}` : '';
      const made = await store.scalar(
        `LOAD FROM '${escapePath(file)}' WITH ${withList} MATCH (a:${q(table.from)} {id: from_id}), (b:${q(table.to)} {id: to_id}) CREATE (a)-[:${q(table.name)}${set}]->(b) RETURN count(*)`,
      );
      created += Number(made ?? 0);
    }
    relsWithoutEndpoints[table.name] = read - created;
  }
  const vectorIndexes: string[] = [];
  for (const index of VECTOR_INDEXES) {
    const stored = Number(await store.scalar(`MATCH (n:${q(index.table)}) RETURN count(n.${q(index.column)})`));
    if (stored === 0 || !vectorIndexNameUsable(vectorIndexName(folder, index))) continue;
    await store.execute(vectorIndexDdl(folder, index));
    vectorIndexes.push(vectorIndexName(folder, index));
  }
  await store.execute('CHECKPOINT');
  const schema = await readSchema(store);
  return { counts: await tableCounts(store, schema), relsWithoutEndpoints, vectorIndexes };
}

/** Names of the Parquet files of one table's salvage, in a temp folder. */
export function batchFile(folder: string, table: string, batch: number): string {
  return path.join(folder, `${table}.${String(batch).padStart(6, '0')}.parquet`);
}
