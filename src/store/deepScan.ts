/**
 * `validate --deep`: reads every column of every row of every table, so that damaged pages
 * show up (Kuzu keeps no page checksums: it only notices damage when a page is read). Pages of
 * rows in primary-key order (keyset pagination), so memory stays bounded whatever the table
 * size; relationship tables are read page by page of their source nodes. A read error is
 * recorded for that table and the scan goes on with the next one; a native crash ends the
 * worker process, which the runner reports as a damaged database.
 */
import type { KuzuStore, Params } from './kuzu.js';
import type { DatabaseSchema, TableInfo } from './schema.js';
import { countRows } from './integrity.js';

/** Rows per page: small, because a page carries full embeddings. */
export const DEEP_BATCH = 500;

export interface TableScan {
  table: string;
  kind: 'NODE' | 'REL';
  /** Rows read (for a relationship table: relationships read). */
  rowsRead: number;
  /** What Kuzu's count says, or null when the count itself failed. */
  rowsCounted: number | null;
  /** The first read error, or null. */
  error: string | null;
  /** The last key read before the error (where the damage starts, roughly). */
  errorAfter: string | null;
}

/** Touches every value, as a consumer of the rows would: nested lists, maps, dates. */
function touch(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (Array.isArray(value)) {
    let n = 0;
    for (const item of value) n += touch(item);
    return n;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 0 : 1;
  if (typeof value === 'object') {
    let n = 0;
    for (const item of Object.values(value as Record<string, unknown>)) n += touch(item);
    return n;
  }
  return 1;
}

function primaryKeyOf(table: TableInfo | undefined): string | null {
  return table?.columns.find((c) => c.primaryKey)?.name ?? table?.columns[0]?.name ?? null;
}

export async function deepScan(
  store: KuzuStore,
  schema: DatabaseSchema,
  onProgress: (table: string, rows: number) => void = () => undefined,
  batch = DEEP_BATCH,
): Promise<TableScan[]> {
  const scans: TableScan[] = [];
  const tables = Object.values(schema.tables).sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : 1) : a.kind === 'NODE' ? -1 : 1));
  for (const table of tables) {
    const scan: TableScan = { table: table.name, kind: table.kind, rowsRead: 0, rowsCounted: null, error: null, errorAfter: null };
    scans.push(scan);
    let after: string | null = null;
    try {
      scan.rowsCounted = await countRows(store, table.name, table.kind);
      const key = table.kind === 'NODE' ? primaryKeyOf(table) : primaryKeyOf(table.from ? schema.tables[table.from] : undefined);
      const toKey = table.kind === 'REL' ? primaryKeyOf(table.to ? schema.tables[table.to] : undefined) : null;
      if (!key || (table.kind === 'REL' && !toKey)) throw new Error(`no primary key to page ${table.name} by`);
      for (;;) {
        const params: Params | undefined = after === null ? undefined : { after };
        const where: string = after === null ? '' : `WHERE n.\`${key}\` > $after `;
        const cypher: string =
          table.kind === 'NODE'
            ? `MATCH (n:\`${table.name}\`) ${where}WITH n ORDER BY n.\`${key}\` LIMIT ${batch} RETURN n.\`${key}\` AS k, n AS row`
            : `MATCH (n:\`${table.from}\`) ${where}WITH n ORDER BY n.\`${key}\` LIMIT ${batch} ` +
              `OPTIONAL MATCH (n)-[r:\`${table.name}\`]->(b:\`${table.to}\`) RETURN n.\`${key}\` AS k, b.\`${toKey}\` AS other, r AS row`;
        const rows: { k: unknown; row: unknown }[] = await store.query<{ k: unknown; row: unknown }>(cypher, params);
        if (rows.length === 0) break;
        let last: string | null = after;
        const keys = new Set<string>();
        for (const row of rows) {
          const k: string = String(row.k);
          keys.add(k);
          if (last === null || k > last) last = k;
          if (row.row === null || row.row === undefined) continue;
          touch(row.row);
          scan.rowsRead++;
        }
        after = last;
        onProgress(table.name, scan.rowsRead);
        // A page of nodes has exactly `batch` distinct keys unless it is the last one.
        if (table.kind === 'NODE' ? rows.length < batch : keys.size < batch) break;
      }
    } catch (error) {
      scan.error = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
      scan.errorAfter = after;
    }
  }
  return scans;
}
