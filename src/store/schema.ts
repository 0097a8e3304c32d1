import type { KuzuStore } from './kuzu.js';

export interface ColumnInfo {
  name: string;
  type: string;
  primaryKey: boolean;
}

export interface TableInfo {
  name: string;
  kind: 'NODE' | 'REL';
  columns: ColumnInfo[];
  /** For REL tables: source and destination node tables. */
  from?: string;
  to?: string;
}

export interface IndexInfo {
  table: string;
  name: string;
  type: string;
  columns: string[];
}

/** What a database actually holds, read from Kuzu's catalog. */
export interface DatabaseSchema {
  tables: Record<string, TableInfo>;
  indexes: IndexInfo[];
}

export async function readSchema(store: KuzuStore): Promise<DatabaseSchema> {
  const tables: Record<string, TableInfo> = {};
  const listed = await store.query<{ name: string; type: string }>('CALL show_tables() RETURN name, type');
  for (const { name, type } of listed) {
    if (type !== 'NODE' && type !== 'REL') continue;
    const info = await store.query<Record<string, unknown>>(`CALL table_info('${name}') RETURN *`);
    const columns: ColumnInfo[] = info.map((row) => ({ name: String(row.name), type: String(row.type), primaryKey: row['primary key'] === true }));
    const table: TableInfo = { name, kind: type, columns };
    if (type === 'REL') {
      const connection = await store.query<Record<string, unknown>>(`CALL show_connection('${name}') RETURN *`);
      if (connection[0]) {
        table.from = String(connection[0]['source table name']);
        table.to = String(connection[0]['destination table name']);
      }
    }
    tables[name] = table;
  }
  const indexRows = await store.query<Record<string, unknown>>('CALL show_indexes() RETURN *');
  const indexes = indexRows.map((row) => ({
    table: String(row.table_name),
    name: String(row.index_name),
    type: String(row.index_type),
    columns: (row.property_names as string[]) ?? [],
  }));
  return { tables, indexes };
}

export function hasColumn(schema: DatabaseSchema, table: string, column: string): boolean {
  return schema.tables[table]?.columns.some((c) => c.name === column) ?? false;
}

export function columnTypeOf(schema: DatabaseSchema, table: string, column: string): string | null {
  return schema.tables[table]?.columns.find((c) => c.name === column)?.type ?? null;
}
