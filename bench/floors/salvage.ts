/**
 * Floor for the salvage of a damaged Locrit (`recover` of a file Kuzu cannot read whole): the
 * plainest salvage a script can do. Each table is read whole in a child process (a damaged page
 * can crash Kuzu) and written to Parquet; a table whose read fails is given up. A fresh file gets
 * the Locrit schema, every table that was read, the relationships whose two end tables were read,
 * and the vector indexes. No batches, no split of a failed read, no backups, no check, no swap:
 * that is what ours adds. Prints the rows recovered.
 * Usage: node dist/bench/floors/salvage.js <kuzu.db> <work dir> <folder> <bufferPoolMb>
 *        (child: node dist/bench/floors/salvage.js --table <name> <kuzu.db> <out.parquet> <bufferPoolMb>)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { all as run, open } from './shared.js';
import { NODE_TABLES, REL_TABLES, schemaDdl, VECTOR_INDEXES, vectorIndexDdl } from '../../src/schema/locrit.js';

/** Child: one table of the damaged file to Parquet; prints its row count. */
async function readTable(name: string, dbPath: string, out: string, poolMb: number): Promise<void> {
  const { db, conn } = await open(dbPath, poolMb, true);
  const node = NODE_TABLES.find((t) => t.name === name);
  const rel = REL_TABLES.find((t) => t.name === name);
  const select = node
    ? `MATCH (x:${name}) RETURN ${node.columns.map((c) => `x.${c.name} AS ${c.name}`).join(', ')}`
    : `MATCH (a:${rel!.from})-[r:${name}]->(b:${rel!.to}) RETURN a.id AS from_id, b.id AS to_id${rel!.columns.map((c) => `, r.${c.name} AS ${c.name}`).join('')} ORDER BY from_id, to_id`;
  const [{ n }] = await run(conn, `${select.replace(/ RETURN .*$/, '')} RETURN count(*) AS n`);
  if (Number(n) > 0) await run(conn, `COPY (${select}) TO '${out}'`);
  await conn.close();
  await db.close();
  process.stdout.write(`${Number(n)}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--table') return readTable(args[1], args[2], args[3], Number(args[4]));
  const [dbPath, work, folder, poolArg] = args;
  fs.mkdirSync(work, { recursive: true });
  const self = fileURLToPath(import.meta.url);
  const read = new Map<string, number>();
  for (const table of [...NODE_TABLES, ...REL_TABLES]) {
    const out = path.join(work, `${table.name}.parquet`);
    const child = spawnSync(process.execPath, [self, '--table', table.name, dbPath, out, poolArg], { encoding: 'utf8' });
    if (child.status === 0) read.set(table.name, Number(child.stdout.trim()));
  }
  const fresh = path.join(work, 'salvaged.kuzu');
  const { db, conn } = await open(fresh, Number(poolArg), false);
  for (const ddl of schemaDdl(768)) await run(conn, ddl);
  let recovered = 0;
  for (const table of NODE_TABLES) {
    if (!read.get(table.name)) continue;
    await run(conn, `COPY ${table.name} FROM '${path.join(work, `${table.name}.parquet`)}'`);
    recovered += read.get(table.name)!;
  }
  for (const table of REL_TABLES) {
    if (!read.get(table.name) || !read.has(table.from) || !read.has(table.to)) continue;
    await run(conn, `COPY ${table.name} FROM '${path.join(work, `${table.name}.parquet`)}'`);
    recovered += read.get(table.name)!;
  }
  for (const index of VECTOR_INDEXES) await run(conn, vectorIndexDdl(folder, index));
  await conn.close();
  await db.close();
  process.stdout.write(`${JSON.stringify({ recovered, tablesRead: [...read.keys()] })}\n`);
}

await main();
