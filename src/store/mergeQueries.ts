/**
 * The Kuzu side of merging a Locrit's databases back into one: each source's tables are
 * written to Parquet by Kuzu (in the Locrit schema's columns, a column the source lacks as
 * NULL), then a fresh database with the Locrit schema takes the first source whole and, from
 * each later source, only the rows whose primary key it does not hold yet and the relationships
 * whose two ends exist and are not linked yet. A file that shares no id with what is merged is
 * loaded with one COPY (after a reset, the usual case); only files that do share ids are
 * filtered row by row. Rows never pass through the JS heap; every lookup is a primary-key
 * probe. Vector indexes are built last, over everything.
 */
import fs from 'node:fs';
import path from 'node:path';
import { columnType, NODE_TABLES, REL_TABLES, schemaDdl, VECTOR_INDEXES, vectorIndexDdl, vectorIndexName, type ColumnDef } from '../schema/locrit.js';
import { withStore, type KuzuStore } from './kuzu.js';
import { cypherString } from './cypher.js';
import { readSchema, type DatabaseSchema } from './schema.js';
import { schemaDimension, type TableCounts } from './salvageQueries.js';
import { vectorIndexBuildPoolMb } from './vectorIndexPool.js';
import { vectorIndexAnswers } from './vectorIndexCheck.js';
import type { ReadSettings } from './idSets.js';

export interface SourceTables {
  dir: string;
  /** Rows written per table (tables the source lacks are absent). */
  counts: TableCounts;
  dimension: number | null;
  /** Locrit columns the source lacks (written as NULL), e.g. `Message.content_embedding`. */
  nulledColumns: string[];
}

const q = (name: string): string => `\`${name}\``;

/** Writes every Locrit table of `dbPath` (opened read-only) to `<dir>/<table>.parquet`. */
export async function exportSourceTables(dbPath: string, dir: string, dimension: number | null, settings: ReadSettings): Promise<SourceTables> {
  fs.mkdirSync(dir, { recursive: true });
  return withStore(dbPath, { readOnly: true, bufferPoolMb: settings.bufferPoolMb, threads: settings.threads }, async (store) => {
    const schema = await readSchema(store);
    const sourceDimension = schemaDimension(schema);
    const target = dimension ?? sourceDimension ?? 768;
    const result: SourceTables = { dir, counts: {}, dimension: sourceDimension, nulledColumns: [] };
    /** The Locrit schema's columns of `table` read from variable `v`; one the source lacks, or holds with another type, as NULL. */
    const schemaColumns = (v: string, table: { name: string; columns: { name: string; type: string }[] }, present: { name: string; type: string }[]): string[] =>
      table.columns.map((column) => {
        const type = columnType(column.type, target);
        if (present.some((c) => c.name === column.name && c.type === type)) return `${v}.${q(column.name)} AS ${q(column.name)}`;
        result.nulledColumns.push(`${table.name}.${column.name}`);
        return `CAST(NULL AS ${type}) AS ${q(column.name)}`;
      });
    for (const table of NODE_TABLES) {
      const found = schema.tables[table.name];
      if (!found || found.kind !== 'NODE') continue;
      const columns = schemaColumns('n', table, found.columns);
      // A table scan needs no ORDER BY to give a sound Parquet file (joins do, below); sorting the embedding column costs.
      result.counts[table.name] = await copyOut(store, `MATCH (n:${q(table.name)}) RETURN ${columns.join(', ')}`, `MATCH (n:${q(table.name)}) RETURN count(n)`, path.join(dir, `${table.name}.parquet`));
    }
    for (const table of REL_TABLES) {
      const found = schema.tables[table.name];
      if (!found || found.kind !== 'REL' || found.from !== table.from || found.to !== table.to) continue;
      const columns = schemaColumns('r', table, found.columns);
      const pattern = `MATCH (a:${q(table.from)})-[r:${q(table.name)}]->(b:${q(table.to)})`;
      result.counts[table.name] = await copyOut(store, `${pattern} RETURN a.id AS from_id, b.id AS to_id${columns.map((c) => `, ${c}`).join('')} ORDER BY from_id, to_id`, `${pattern} RETURN count(r)`, path.join(dir, `${table.name}.parquet`));
    }
    return result;
  });
}

async function copyOut(store: KuzuStore, select: string, count: string, file: string): Promise<number> {
  const rows = Number(await store.scalar(count));
  if (rows > 0) await store.execute(`COPY (${select}) TO ${cypherString(file)}`);
  return rows;
}

export interface MergeInput {
  label: string;
  tables: SourceTables;
  /** Node tables whose file lost rows after the export (archived messages left out): relationships may miss an end. */
  trimmed?: string[];
}

export interface Conflict {
  table: string;
  id: string;
  /** The source whose value lost to an earlier source (the current file wins). */
  source: string;
}

export interface MergeBuild {
  /** Rows each source added, per table. */
  added: Record<string, TableCounts>;
  conflicts: Conflict[];
  conflictCount: number;
  counts: TableCounts;
  vectorIndexes: { name: string; table: string; present: boolean; answered: boolean | null }[];
  /** Rows of a source the merged database lacks (must be empty). */
  problems: string[];
}

const CONFLICT_EXAMPLES = 20;

/**
 * Builds the merged database at `tmpDb` (which must not exist) from `inputs`, first wins.
 * Then checks it: every node id of every input is present, every input relationship whose ends
 * exist is present, each vector index exists and answers a query with a stored vector.
 */
export async function buildMergedDatabase(tmpDb: string, inputs: MergeInput[], folder: string, dimension: number, settings: ReadSettings): Promise<MergeBuild> {
  // The largest table a vector index is built over, counted over every input (an upper bound of the merged rows).
  const indexedRows = Math.max(0, ...VECTOR_INDEXES.map((index) => inputs.reduce((sum, input) => sum + (input.tables.counts[index.table] ?? 0), 0)));
  const bufferPoolMb = vectorIndexBuildPoolMb(settings.bufferPoolMb, indexedRows, dimension);
  return withStore(tmpDb, { readOnly: false, create: true, bufferPoolMb, threads: settings.threads }, async (store) => {
    for (const ddl of schemaDdl(dimension)) await store.execute(ddl);
    const build: MergeBuild = { added: {}, conflicts: [], conflictCount: 0, counts: {}, vectorIndexes: [], problems: [] };
    for (const [index, input] of inputs.entries()) {
      const added: TableCounts = {};
      // Node tables where this input holds ids the merged database already has.
      const shared = new Set<string>();
      for (const table of NODE_TABLES) {
        const file = path.join(input.tables.dir, `${table.name}.parquet`);
        if (!input.tables.counts[table.name]) continue;
        if (index > 0 && (await countShared(store, table.name, file)) > 0) {
          shared.add(table.name);
          const conflicts = await findConflicts(store, table.name, table.columns, file);
          build.conflictCount += conflicts.count;
          for (const id of conflicts.examples) if (build.conflicts.length < CONFLICT_EXAMPLES) build.conflicts.push({ table: table.name, id, source: input.label });
          added[table.name] = await insertNewNodes(store, table.name, table.columns, file, path.join(input.tables.dir, `${table.name}.new.parquet`));
        } else {
          // No id of this file is merged yet (ids are unique within a source): every row is new.
          added[table.name] = await copyWhole(store, table.name, file);
        }
      }
      for (const table of REL_TABLES) {
        const file = path.join(input.tables.dir, `${table.name}.parquet`);
        if (!input.tables.counts[table.name]) continue;
        // Every relationship of a source has both ends in that source's node files, unless rows were left out of one.
        // When one end's table shared no id, none of them is merged yet: each is kept once if the file repeats none.
        const endsLoaded = !input.trimmed?.includes(table.from) && !input.trimmed?.includes(table.to);
        const allNew = !shared.has(table.from) || !shared.has(table.to);
        added[table.name] = endsLoaded && allNew && (await repeatsNone(store, table.columns, file))
          ? await copyWhole(store, table.name, file)
          : await insertNewRelationships(store, table.name, table.from, table.to, table.columns, file, path.join(input.tables.dir, `${table.name}.new.parquet`));
      }
      build.added[input.label] = added;
    }
    for (const index of VECTOR_INDEXES) await store.execute(vectorIndexDdl(folder, index));
    const schema = await readSchema(store);
    for (const table of [...NODE_TABLES, ...REL_TABLES]) build.counts[table.name] = await countRows(store, schema, table.name);
    for (const input of inputs) build.problems.push(...(await checkInput(store, input)));
    for (const index of VECTOR_INDEXES) {
      const name = vectorIndexName(folder, index);
      const present = schema.indexes.some((i) => i.name === name && i.table === index.table);
      const answered = present ? await vectorIndexAnswers(store, index.table, name, index.column) : false;
      build.vectorIndexes.push({ name, table: index.table, present, answered });
      if (!present) build.problems.push(`vector index ${name} is missing`);
      else if (answered === false) build.problems.push(`vector index ${name} does not answer QUERY_VECTOR_INDEX`);
    }
    return build;
  });
}

/** Ids of `file` that the merged table holds with other values (compared column by column, NULL equal to NULL). */
async function findConflicts(store: KuzuStore, table: string, columns: ColumnDef[], file: string): Promise<{ count: number; examples: string[] }> {
  const differs = columns
    .filter((c) => c.name !== 'id')
    .map((c) => `NOT ((n.${q(c.name)} IS NULL AND ${q(c.name)} IS NULL) OR n.${q(c.name)} = ${q(c.name)})`)
    .join(' OR ');
  if (!differs) return { count: 0, examples: [] };
  const match = `LOAD FROM ${cypherString(file)} MATCH (n:${q(table)} {id: id}) WHERE ${differs}`;
  const count = Number(await store.scalar(`${match} RETURN count(*)`));
  if (count === 0) return { count, examples: [] };
  const rows = await store.query<{ id: string }>(`${match} RETURN id ORDER BY id LIMIT ${CONFLICT_EXAMPLES}`);
  return { count, examples: rows.map((r) => r.id) };
}

/** How many ids of `file` the merged table holds already. */
async function countShared(store: KuzuStore, table: string, file: string): Promise<number> {
  return Number(await store.scalar(`LOAD FROM ${cypherString(file)} MATCH (n:${q(table)} {id: id}) RETURN count(*)`));
}

/** Loads every row of `file` into `table` with one COPY; returns the rows the table gained. */
async function copyWhole(store: KuzuStore, table: string, file: string): Promise<number> {
  const rows = Number(await store.scalar(`LOAD FROM ${cypherString(file)} RETURN count(*)`));
  if (rows > 0) await store.execute(`COPY ${q(table)} FROM ${cypherString(file)}`);
  return rows;
}

/** True when no row of a relationship file repeats another (same ends, same values). */
async function repeatsNone(store: KuzuStore, columns: ColumnDef[], file: string): Promise<boolean> {
  const carried = ['from_id', 'to_id', ...columns.map((c) => c.name)].map(q).join(', ');
  const rows = Number(await store.scalar(`LOAD FROM ${cypherString(file)} RETURN count(*)`));
  const distinct = Number(await store.scalar(`LOAD FROM ${cypherString(file)} WITH DISTINCT ${carried} RETURN count(*)`));
  return rows === distinct;
}

async function insertNewNodes(store: KuzuStore, table: string, columns: ColumnDef[], file: string, newFile: string): Promise<number> {
  const names = columns.map((c) => q(c.name)).join(', ');
  await store.execute(
    `COPY (LOAD FROM ${cypherString(file)} OPTIONAL MATCH (n:${q(table)} {id: id}) WITH ${names}, n WHERE n IS NULL RETURN ${names} ORDER BY id) TO ${cypherString(newFile)}`,
  );
  const rows = Number(await store.scalar(`LOAD FROM ${cypherString(newFile)} RETURN count(*)`));
  if (rows > 0) await store.execute(`COPY ${q(table)} FROM ${cypherString(newFile)}`);
  return rows;
}

/**
 * Both ends of each relationship of `file`, looked up one after the other: Kuzu 0.11 plans
 * `MATCH (a {id: from_id}), (b {id: to_id})` as a cross product of both tables, which filled a
 * 256 MiB buffer pool on 10,000 messages (RESPONDS_TO is Message x Message).
 */
function bothEnds(file: string, from: string, to: string, columns: ColumnDef[]): string {
  const carried = ['to_id', ...columns.map((c) => c.name)].map(q).join(', ');
  return `LOAD FROM ${cypherString(file)} WITH from_id, ${carried} MATCH (a:${q(from)}) WHERE a.id = from_id WITH a, from_id, ${carried} MATCH (b:${q(to)}) WHERE b.id = to_id`;
}

async function insertNewRelationships(store: KuzuStore, table: string, from: string, to: string, columns: ColumnDef[], file: string, newFile: string): Promise<number> {
  const props = columns.map((c) => `, ${q(c.name)}`).join('');
  await store.execute(
    `COPY (${bothEnds(file, from, to, columns)} AND NOT EXISTS { MATCH (a)-[:${q(table)}]->(b) } ` +
      `RETURN DISTINCT from_id, to_id${props} ORDER BY from_id, to_id) TO ${cypherString(newFile)}`,
  );
  const rows = Number(await store.scalar(`LOAD FROM ${cypherString(newFile)} RETURN count(*)`));
  if (rows > 0) await store.execute(`COPY ${q(table)} FROM ${cypherString(newFile)}`);
  return rows;
}

async function countRows(store: KuzuStore, schema: DatabaseSchema, table: string): Promise<number> {
  const info = schema.tables[table];
  if (!info) return 0;
  const query = info.kind === 'NODE' ? `MATCH (n:${q(table)}) RETURN count(n)` : `MATCH ()-[r:${q(table)}]->() RETURN count(r)`;
  return Number(await store.scalar(query));
}

/** What of `input` the merged database lacks: node ids, and relationships whose ends are both there. */
async function checkInput(store: KuzuStore, input: MergeInput): Promise<string[]> {
  const problems: string[] = [];
  for (const table of NODE_TABLES) {
    if (!input.tables.counts[table.name]) continue;
    const file = cypherString(path.join(input.tables.dir, `${table.name}.parquet`));
    // Ids are unique within a source: every one is present when the inner join finds as many rows as the file holds.
    const rows = Number(await store.scalar(`LOAD FROM ${file} RETURN count(*)`));
    const found = Number(await store.scalar(`LOAD FROM ${file} MATCH (n:${q(table.name)} {id: id}) RETURN count(*)`));
    const lacking = rows - found;
    if (lacking > 0) problems.push(`${lacking} ${table.name} row(s) of ${input.label} are missing from the merged database`);
  }
  for (const table of REL_TABLES) {
    if (!input.tables.counts[table.name]) continue;
    const file = path.join(input.tables.dir, `${table.name}.parquet`);
    const lacking = Number(await store.scalar(`${bothEnds(file, table.from, table.to, table.columns)} AND NOT EXISTS { MATCH (a)-[:${q(table.name)}]->(b) } RETURN count(*)`));
    if (lacking > 0) problems.push(`${lacking} ${table.name} relationship(s) of ${input.label} are missing from the merged database`);
  }
  return problems;
}
