/**
 * Floor for `stats`: the least a program using the kuzu package can do to get the same
 * figures. One process; for each database, one after another: open read-only with the same
 * bounded buffer pool, read the embedding dimension, run the same aggregates (rows per table,
 * stored embeddings, oldest/newest message, largest session), close. It knows the Locrit
 * schema instead of discovering it, and prints the totals so the harness can check that both
 * sides computed the same thing.
 * With `--copy <folder>` it first copies each kuzu.db and its WAL into <folder> and opens the
 * copy (the least any reader must do to read a database a live process holds without a lock),
 * then removes the copy.
 * Usage: node dist/bench/floors/stats.js <bufferPoolMb> [--copy <folder>] <kuzu.db>...
 */
import fs from 'node:fs';
import path from 'node:path';
import kuzu, { type Connection } from 'kuzu';
import { all } from './shared.js';

const NODE_TABLES = ['User', 'Message', 'Session', 'Concept', 'Topic', 'Memory'];
const REL_TABLES = ['SENT', 'RESPONDS_TO', 'PART_OF', 'MENTIONS', 'DISCUSSES', 'LEARNS', 'RELATES_TO'];
const EMBEDDINGS: [string, string][] = [['Message', 'content_embedding'], ['Memory', 'content_embedding'], ['Concept', 'name_embedding']];

async function scalar(conn: Connection, cypher: string): Promise<number> {
  const [row] = await all(conn, cypher);
  return Number(Object.values(row)[0]);
}

async function main(): Promise<void> {
  const [poolMb, ...rest] = process.argv.slice(2);
  const copyTo = rest[0] === '--copy' ? rest[1] : null;
  const paths = copyTo ? rest.slice(2) : rest;
  // A read-only open of a path that is not there fails in Kuzu with "Cannot create an empty
  // database under READ ONLY mode", which says nothing of the cause (an option this build does
  // not know, read as a path): name it instead.
  for (const p of [...paths, ...(copyTo ? [copyTo] : [])]) {
    if (p.startsWith('--') || !fs.existsSync(p)) throw new Error(`stats floor: ${p} is not an existing database or folder (usage: stats.js <bufferPoolMb> [--copy <folder>] <kuzu.db>...)`);
  }
  const totals = { locrits: 0, messages: 0, messagesWithEmbedding: 0, sessions: 0, relRows: 0, largest: 0 };
  for (const livePath of paths) {
    let dbPath = livePath;
    if (copyTo) {
      dbPath = path.join(copyTo, 'kuzu.db');
      fs.copyFileSync(livePath, dbPath, fs.constants.COPYFILE_FICLONE);
      if (fs.existsSync(`${livePath}.wal`)) fs.copyFileSync(`${livePath}.wal`, `${dbPath}.wal`, fs.constants.COPYFILE_FICLONE);
    }
    const db = new kuzu.Database(dbPath, Number(poolMb) * 1024 * 1024, true, true);
    await db.init();
    const conn = new kuzu.Connection(db, 1);
    await conn.init();
    const info = await all(conn, "CALL table_info('Message') RETURN *");
    const embeddingType = String(info.find((c) => c.name === 'content_embedding')?.type ?? '');
    if (!/FLOAT\[\d+\]/.test(embeddingType)) throw new Error(`${dbPath}: no embedding column`);
    const nodeRows: Record<string, number> = {};
    for (const table of NODE_TABLES) nodeRows[table] = await scalar(conn, `MATCH (n:${table}) RETURN count(n)`);
    for (const table of REL_TABLES) totals.relRows += await scalar(conn, `MATCH ()-[r:${table}]->() RETURN count(r)`);
    const stored: Record<string, number> = {};
    for (const [table, column] of EMBEDDINGS) stored[table] = await scalar(conn, `MATCH (n:${table}) RETURN count(n.${column})`);
    await all(conn, 'MATCH (m:Message) RETURN min(m.timestamp) AS lo, max(m.timestamp) AS hi');
    const [largest] = await all(conn, 'MATCH (m:Message)-[:PART_OF]->(s:Session) RETURN s.id AS id, count(m) AS n ORDER BY n DESC, id LIMIT 1');
    totals.locrits++;
    totals.messages += nodeRows.Message;
    totals.messagesWithEmbedding += stored.Message;
    totals.sessions += nodeRows.Session;
    totals.largest = Math.max(totals.largest, Number(largest?.n ?? 0));
    await conn.close();
    await db.close();
    if (copyTo) {
      fs.rmSync(dbPath, { force: true });
      fs.rmSync(`${dbPath}.wal`, { force: true });
    }
  }
  process.stdout.write(`${JSON.stringify(totals)}\n`);
}

await main();
