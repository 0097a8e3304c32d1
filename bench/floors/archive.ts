/**
 * Floor for `archive`: the least a program using the kuzu package can do for the same result:
 * open read-write, `COPY (...) TO` Parquet the messages older than the cutoff (every column)
 * and every relationship touching them, then DETACH DELETE those messages, close.
 * No read-back check, no id digest, no journal, no lock: that is what ours adds.
 * With --compact (floor of `archive --compact`), then EXPORT DATABASE from a read-only open and
 * IMPORT DATABASE into a fresh file, renamed over the original: no verification of the copy.
 * Usage: node dist/bench/floors/archive.js <kuzu.db> <out dir> <cutoff wall-clock> <bufferPoolMb> [--compact]
 */
import fs from 'node:fs';
import path from 'node:path';
import kuzu, { type Connection, type KuzuValue, type QueryResult } from 'kuzu';

const MESSAGE_COLUMNS = ['id', 'role', 'content', 'timestamp', 'session_id', 'metadata', 'content_embedding'];
/** Relationship tables with Message at one end: [name, from, to, property columns]. */
const RELATIONSHIPS: [string, string, string, string[]][] = [
  ['SENT', 'User', 'Message', ['weight']],
  ['RESPONDS_TO', 'Message', 'Message', ['delay_seconds']],
  ['PART_OF', 'Message', 'Session', ['position']],
  ['MENTIONS', 'Message', 'Concept', ['confidence']],
];

async function run(conn: Connection, cypher: string, params: Record<string, KuzuValue>): Promise<Record<string, KuzuValue>[]> {
  const statement = await conn.prepare(cypher);
  if (!statement.isSuccess()) throw new Error(statement.getErrorMessage());
  const result = (await conn.execute(statement, params)) as QueryResult;
  try {
    return await result.getAll();
  } finally {
    result.close();
  }
}

async function main(): Promise<void> {
  const [dbPath, outDir, cutoff, poolMb, flag] = process.argv.slice(2);
  const compact = flag === '--compact';
  fs.mkdirSync(outDir, { recursive: true });
  const db = new kuzu.Database(dbPath, Number(poolMb) * 1024 * 1024, true, false);
  await db.init();
  const conn = new kuzu.Connection(db, 1);
  await conn.init();
  const params = { cutoff };
  const old = (v: string): string => `${v}.timestamp < timestamp($cutoff)`;
  await run(conn, `COPY (MATCH (m:Message) WHERE ${old('m')} RETURN ${MESSAGE_COLUMNS.map((c) => `m.${c} AS ${c}`).join(', ')}) TO '${path.join(outDir, 'messages.parquet')}'`, params);
  for (const [rel, from, to, props] of RELATIONSHIPS) {
    const where = from === 'Message' && to === 'Message' ? `${old('a')} OR ${old('b')}` : from === 'Message' ? old('a') : old('b');
    // ORDER BY: Kuzu 0.11 writes an unreadable Parquet file from an unsorted join (see src/store/archiveIo.ts).
    await run(conn, `COPY (MATCH (a:${from})-[r:${rel}]->(b:${to}) WHERE ${where} RETURN a.id AS from_id, b.id AS to_id${props.map((p) => `, r.${p} AS ${p}`).join('')} ORDER BY from_id, to_id) TO '${path.join(outDir, `${rel.toLowerCase()}.parquet`)}'`, params);
  }
  const [counted] = await run(conn, `MATCH (m:Message) WHERE ${old('m')} RETURN count(m) AS n`, params);
  await run(conn, `MATCH (m:Message) WHERE ${old('m')} DETACH DELETE m`, params);
  await conn.close();
  await db.close();
  if (compact) await exportImport(dbPath, Number(poolMb));
  process.stdout.write(`${JSON.stringify({ archived: Number(counted.n), bytes: fs.statSync(dbPath).size })}\n`);
}

async function exportImport(dbPath: string, poolMb: number): Promise<void> {
  const exportDir = `${dbPath}.floor-export`;
  const fresh = `${dbPath}.floor-fresh`;
  const source = new kuzu.Database(dbPath, poolMb * 1024 * 1024, true, true);
  await source.init();
  const sourceConn = new kuzu.Connection(source, 1);
  await sourceConn.init();
  ((await sourceConn.query(`EXPORT DATABASE '${exportDir}' (format='parquet')`)) as QueryResult).close();
  await sourceConn.close();
  await source.close();
  const target = new kuzu.Database(fresh, poolMb * 1024 * 1024, true, false);
  await target.init();
  const targetConn = new kuzu.Connection(target, 1);
  await targetConn.init();
  ((await targetConn.query(`IMPORT DATABASE '${exportDir}'`)) as QueryResult).close();
  await targetConn.close();
  await target.close();
  fs.renameSync(fresh, dbPath);
  fs.rmSync(exportDir, { recursive: true, force: true });
}

await main();
