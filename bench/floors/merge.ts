/**
 * Floor for the reset merge (`recover` of a Locrit the application reset): a script that copies
 * both files into a fresh database. Each source is opened read-only and every Locrit table
 * written to Parquet (COPY ... TO); a fresh file gets the Locrit schema, the current file's
 * tables whole, then the backup's nodes whose primary key is not there yet and its
 * relationships (their ends exist in this fixture: no check), the vector indexes, and is renamed
 * over kuzu.db. No copy of a file the application may hold, no archive filter, no conflict
 * report, no check of the result, no backup of the replaced file: that is what ours adds.
 * Usage: node dist/bench/floors/merge.js <kuzu.db> <backup> <work dir> <folder> <bufferPoolMb>
 */
import fs from 'node:fs';
import path from 'node:path';
import { all as run, open } from './shared.js';
import { NODE_TABLES, REL_TABLES, schemaDdl, VECTOR_INDEXES, vectorIndexDdl } from '../../src/schema/locrit.js';

/** Every non-empty table of `file` to `<dir>/<table>.parquet`; returns the tables written. */
async function exportTables(file: string, dir: string, poolMb: number): Promise<Set<string>> {
  fs.mkdirSync(dir, { recursive: true });
  const { db, conn } = await open(file, poolMb, true);
  const written = new Set<string>();
  for (const table of NODE_TABLES) {
    const [{ n }] = await run(conn, `MATCH (x:${table.name}) RETURN count(x) AS n`);
    if (Number(n) === 0) continue;
    await run(conn, `COPY (MATCH (x:${table.name}) RETURN ${table.columns.map((c) => `x.${c.name} AS ${c.name}`).join(', ')}) TO '${path.join(dir, `${table.name}.parquet`)}'`);
    written.add(table.name);
  }
  for (const table of REL_TABLES) {
    const [{ n }] = await run(conn, `MATCH ()-[r:${table.name}]->() RETURN count(r) AS n`);
    if (Number(n) === 0) continue;
    // ORDER BY: Kuzu 0.11 writes an unreadable Parquet file from an unsorted join.
    await run(conn, `COPY (MATCH (a:${table.from})-[r:${table.name}]->(b:${table.to}) RETURN a.id AS from_id, b.id AS to_id${table.columns.map((c) => `, r.${c.name} AS ${c.name}`).join('')} ORDER BY from_id, to_id) TO '${path.join(dir, `${table.name}.parquet`)}'`);
    written.add(table.name);
  }
  await conn.close();
  await db.close();
  return written;
}

async function main(): Promise<void> {
  const [dbPath, backup, work, folder, poolArg] = process.argv.slice(2);
  const poolMb = Number(poolArg);
  const current = await exportTables(dbPath, path.join(work, 'current'), poolMb);
  const old = await exportTables(backup, path.join(work, 'backup'), poolMb);
  const fresh = `${dbPath}.floor-merged`;
  const { db, conn } = await open(fresh, poolMb, false);
  for (const ddl of schemaDdl(768)) await run(conn, ddl);
  for (const table of NODE_TABLES) {
    if (current.has(table.name)) await run(conn, `COPY ${table.name} FROM '${path.join(work, 'current', `${table.name}.parquet`)}'`);
    if (!old.has(table.name)) continue;
    const columns = table.columns.map((c) => c.name).join(', ');
    const newRows = path.join(work, 'backup', `${table.name}.new.parquet`);
    await run(conn, `COPY (LOAD FROM '${path.join(work, 'backup', `${table.name}.parquet`)}' OPTIONAL MATCH (x:${table.name} {id: id}) WITH ${columns}, x WHERE x IS NULL RETURN ${columns} ORDER BY id) TO '${newRows}'`);
    const [{ n }] = await run(conn, `LOAD FROM '${newRows}' RETURN count(*) AS n`);
    if (Number(n) > 0) await run(conn, `COPY ${table.name} FROM '${newRows}'`);
  }
  for (const table of REL_TABLES) {
    for (const side of ['current', 'backup']) {
      if ((side === 'current' ? current : old).has(table.name)) await run(conn, `COPY ${table.name} FROM '${path.join(work, side, `${table.name}.parquet`)}'`);
    }
  }
  for (const index of VECTOR_INDEXES) await run(conn, vectorIndexDdl(folder, index));
  const [{ n: messages }] = await run(conn, 'MATCH (m:Message) RETURN count(m) AS n');
  await conn.close();
  await db.close();
  fs.renameSync(fresh, dbPath);
  fs.rmSync(work, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ messages: Number(messages) })}\n`);
}

await main();
