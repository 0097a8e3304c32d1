/** What every floor script does with Kuzu directly: open with a bounded pool, run a statement and close its result. */
import kuzu, { type Connection, type KuzuValue, type QueryResult } from 'kuzu';

export async function all(conn: Connection, cypher: string): Promise<Record<string, KuzuValue>[]> {
  const result = (await conn.query(cypher)) as QueryResult;
  try {
    return await result.getAll();
  } finally {
    result.close();
  }
}

export async function open(file: string, poolMb: number, readOnly: boolean): Promise<{ db: kuzu.Database; conn: Connection }> {
  const db = new kuzu.Database(file, poolMb * 1024 * 1024, true, readOnly);
  await db.init();
  const conn = new kuzu.Connection(db, 1);
  await conn.init();
  return { db, conn };
}
