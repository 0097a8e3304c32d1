/**
 * Floor for `validate --deep`: read every column of every row once. One process, read-only
 * open, one aggregate per table in which Kuzu hashes every value (`sum(hash(column))` cannot be
 * computed without reading the value; relationship tables also read both ends' keys), close.
 * Prints the rows read so the harness can compute rows per second.
 * Usage: node dist/bench/floors/validate.js <kuzu.db> <bufferPoolMb>
 */
import kuzu from 'kuzu';
import { all } from './shared.js';

async function main(): Promise<void> {
  const [dbPath, poolMb] = process.argv.slice(2);
  const db = new kuzu.Database(dbPath, Number(poolMb) * 1024 * 1024, true, true);
  await db.init();
  const conn = new kuzu.Connection(db, 1);
  await conn.init();
  let rows = 0;
  const tables = await all(conn, 'CALL show_tables() RETURN name, type');
  for (const { name, type } of tables) {
    const columns = (await all(conn, `CALL table_info('${String(name)}') RETURN *`)).map((c) => String(c.name));
    if (type === 'NODE') {
      const [row] = await all(conn, `MATCH (n:\`${String(name)}\`) RETURN count(*) AS rows${columns.map((c, i) => `, sum(hash(n.\`${c}\`)) AS c${i}`).join('')}`);
      rows += Number(row.rows);
    } else if (type === 'REL') {
      const [link] = await all(conn, `CALL show_connection('${String(name)}') RETURN *`);
      const from = String(link['source table name']);
      const to = String(link['destination table name']);
      const reads = ['sum(hash(a.id)) AS k0', 'sum(hash(b.id)) AS k1', ...columns.map((c, i) => `sum(hash(r.\`${c}\`)) AS c${i}`)];
      const [row] = await all(conn, `MATCH (a:\`${from}\`)-[r:\`${String(name)}\`]->(b:\`${to}\`) RETURN count(*) AS rows, ${reads.join(', ')}`);
      rows += Number(row.rows);
    }
  }
  await conn.close();
  await db.close();
  process.stdout.write(`${JSON.stringify({ rows })}\n`);
}

await main();
