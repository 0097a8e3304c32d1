/**
 * `validate --deep`: reads every column of every row of every table, so that damaged pages
 * show up (Kuzu keeps no page checksums: it only notices damage when a page is read).
 *
 * Each table is read in batches of internal offsets (`offset(id(n))` ranges, which also cover
 * the holes deletes leave), and every value of every column is read by Kuzu itself inside an
 * aggregate: `sum(hash(column))` cannot be computed without reading the value, so every data
 * and overflow page is touched, while only one row per batch crosses into JS. (Handing each row
 * to JS costs 40-80 us in the Node binding, against about 1 us for Kuzu to read it.) Memory
 * stays bounded: an aggregate holds one running sum. Relationship batches also read the
 * primary keys of both ends, so a relationship pointing at a damaged node shows up too.
 *
 * Another reader of a table can add its own aggregates to that table's statements (`extra`), so
 * that the table is read once for both: validate computes its per-message rules this way.
 *
 * A read error is recorded for that table (with the offsets being read) and the scan goes on
 * with the next table; a native crash ends the worker process, which the runner reports as a
 * damaged database.
 */
import type { KuzuStore, Params, Row } from './kuzu.js';
import type { DatabaseSchema, TableInfo } from './schema.js';

/**
 * Offsets per batch. Kuzu 0.11 does not narrow a scan to an offset range: every batch reads the
 * whole table again (and the range filter is not free either: see batchQuery), so batches are
 * made large enough that one covers a Locrit of any usual size, which is then read without a
 * range; they still bound a batch on a huge table and say where a read failed.
 */
export const DEEP_BATCH = 1_000_000;

export interface TableScan {
  table: string;
  kind: 'NODE' | 'REL';
  /** Columns read (for a relationship table: its properties plus the keys of both ends). */
  columns: number;
  /** Rows read (for a relationship table: relationships read). */
  rowsRead: number;
  /** What Kuzu's count says, or null when the count itself failed. */
  rowsCounted: number | null;
  /** The first read error, or null. */
  error: string | null;
  /** Where the failing batch started ("offsets 50000-99999"), or null. */
  errorAfter: string | null;
}

const quoteName = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

function primaryKeyOf(table: TableInfo | undefined): string | null {
  return table?.columns.find((c) => c.primaryKey)?.name ?? table?.columns[0]?.name ?? null;
}

/** The variables of a deep batch statement: `n` for a node table; `a`, `r`, `b` for a relationship table and its ends. */
export interface DeepVariables {
  node: string;
  from: string;
  rel: string;
  to: string;
}

const VARIABLES: DeepVariables = { node: 'n', from: 'a', rel: 'r', to: 'b' };

/**
 * Aggregates another reader adds to the batches of one table: `aggregates` over the statement's
 * variables (each `expression AS name`), and `results`, what the statement returns of them.
 * `fold` gets each batch's row (with `rows`, the rows of the batch); `done` is called once every
 * batch of the table included them. If a batch fails with them, it is read again without them
 * and they are dropped for the rest of the table (`done` is then never called): the deep read's
 * verdict never depends on them.
 */
export interface DeepExtra {
  table: string;
  params: Params;
  aggregates(variables: DeepVariables): string[];
  readonly results: string[];
  fold(row: Row): void;
  done(): void;
}

/**
 * The batch query of one table: row count plus one hash sum per column read (and the extra
 * aggregates). `whole`: the batch covers every offset of the table, so the statement reads it
 * without the offset range (the same rows; the range alone cost 110 ms of PART_OF's 270 on
 * 200,000 messages) and takes no $lo / $hi.
 */
function batchQuery(table: TableInfo, schema: DatabaseSchema, extra: DeepExtra | null = null, whole = false): { cypher: string; columns: number } {
  let match: string;
  let reads: string[];
  if (table.kind === 'NODE') {
    reads = table.columns.map((c, i) => `sum(hash(n.${quoteName(c.name)})) AS c${i}`);
    match = `MATCH (n:${quoteName(table.name)})${whole ? '' : ' WHERE offset(id(n)) >= $lo AND offset(id(n)) < $hi'}`;
  } else {
    const fromKey = primaryKeyOf(table.from ? schema.tables[table.from] : undefined);
    const toKey = primaryKeyOf(table.to ? schema.tables[table.to] : undefined);
    if (!table.from || !table.to || !fromKey || !toKey) throw new Error(`cannot tell which tables ${table.name} connects`);
    reads = [`sum(hash(a.${quoteName(fromKey)})) AS k0`, `sum(hash(b.${quoteName(toKey)})) AS k1`, ...table.columns.filter((c) => !c.name.startsWith('_')).map((c, i) => `sum(hash(r.${quoteName(c.name)})) AS c${i}`)];
    match = `MATCH (a:${quoteName(table.from)})-[r:${quoteName(table.name)}]->(b:${quoteName(table.to)})${whole ? '' : ' WHERE offset(id(r)) >= $lo AND offset(id(r)) < $hi'}`;
  }
  if (!extra) return { cypher: `${match} RETURN count(*) AS rows, ${reads.join(', ')}`, columns: reads.length };
  const names = reads.map((r) => r.slice(r.lastIndexOf(' AS ') + 4));
  return { cypher: `${match} WITH count(*) AS rows, ${[...reads, ...extra.aggregates(VARIABLES)].join(', ')} RETURN rows, ${[...names, ...extra.results].join(', ')}`, columns: reads.length };
}

export async function deepScan(
  store: KuzuStore,
  schema: DatabaseSchema,
  onProgress: (table: string, rows: number) => void = () => undefined,
  batch = DEEP_BATCH,
  extras: readonly DeepExtra[] = [],
): Promise<TableScan[]> {
  const scans: TableScan[] = [];
  const tables = Object.values(schema.tables).sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : 1) : a.kind === 'NODE' ? -1 : 1));
  for (const table of tables) {
    const scan: TableScan = { table: table.name, kind: table.kind, columns: 0, rowsRead: 0, rowsCounted: null, error: null, errorAfter: null };
    scans.push(scan);
    let lo = 0;
    try {
      const { cypher, columns } = batchQuery(table, schema);
      scan.columns = columns;
      // The count Kuzu reports and the last offset, in one statement.
      const [extent] = await store.query<{ rows: number | bigint; last: number | bigint | null }>(
        table.kind === 'NODE'
          ? `MATCH (n:${quoteName(table.name)}) RETURN count(n) AS rows, max(offset(id(n))) AS last`
          : `MATCH ()-[r:${quoteName(table.name)}]->() RETURN count(r) AS rows, max(offset(id(r))) AS last`,
      );
      scan.rowsCounted = Number(extent.rows);
      const last = extent.last;
      let extra = extras.find((e) => e.table === table.name) ?? null;
      if (last === null) {
        extra?.done(); // an empty table: nothing to add up
        continue;
      }
      const whole = Number(last) < batch;
      const plain = whole ? batchQuery(table, schema, null, true).cypher : cypher;
      const withExtra = extra ? batchQuery(table, schema, extra, whole).cypher : plain;
      for (; lo <= Number(last); lo += batch) {
        const range: Params = whole ? {} : { lo, hi: lo + batch };
        let row: Row | undefined;
        if (extra) {
          try {
            [row] = await store.query(withExtra, { ...extra.params, ...range });
            if (row) extra.fold(row);
          } catch {
            extra = null; // read the batch again without them: their failure is not the table's
          }
        }
        if (!extra) [row] = await store.query(plain, range);
        scan.rowsRead += Number(row?.rows ?? 0);
        onProgress(table.name, scan.rowsRead);
      }
      extra?.done();
    } catch (error) {
      scan.error = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
      scan.errorAfter = `offsets ${lo}-${lo + batch - 1}`;
    }
  }
  return scans;
}
