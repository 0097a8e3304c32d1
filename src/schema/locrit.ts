/**
 * The schema the Locrit application creates, as plain data (no Kuzu here): the fixture
 * generator and `recover` build from it, `validate` compares against it.
 * `{dim}` stands for the embedding dimension, which the application makes configurable.
 */

export interface ColumnDef {
  name: string;
  type: string;
}

export interface NodeTableDef {
  name: string;
  columns: ColumnDef[]; // the first is the STRING primary key `id`
}

export interface RelTableDef {
  name: string;
  from: string;
  to: string;
  columns: ColumnDef[];
}

export interface VectorIndexDef {
  table: string;
  column: string;
  /** Index name suffix: the full name is `<folder>_<suffix>`. */
  suffix: string;
}

const EMBEDDING = 'FLOAT[{dim}]';

export const NODE_TABLES: NodeTableDef[] = [
  { name: 'User', columns: [col('id', 'STRING'), col('name', 'STRING'), col('email', 'STRING'), col('created_at', 'TIMESTAMP')] },
  {
    name: 'Message',
    columns: [
      col('id', 'STRING'), col('role', 'STRING'), col('content', 'STRING'), col('timestamp', 'TIMESTAMP'),
      col('session_id', 'STRING'), col('metadata', 'STRING'), col('content_embedding', EMBEDDING),
    ],
  },
  { name: 'Session', columns: [col('id', 'STRING'), col('name', 'STRING'), col('topic', 'STRING'), col('created_at', 'TIMESTAMP'), col('user_id', 'STRING')] },
  {
    name: 'Concept',
    columns: [col('id', 'STRING'), col('name', 'STRING'), col('type', 'STRING'), col('description', 'STRING'), col('confidence', 'DOUBLE'), col('name_embedding', EMBEDDING)],
  },
  { name: 'Topic', columns: [col('id', 'STRING'), col('name', 'STRING'), col('description', 'STRING'), col('category', 'STRING')] },
  {
    name: 'Memory',
    columns: [
      col('id', 'STRING'), col('content', 'STRING'), col('importance', 'DOUBLE'), col('created_at', 'TIMESTAMP'),
      col('last_accessed', 'TIMESTAMP'), col('content_embedding', EMBEDDING),
    ],
  },
];

export const REL_TABLES: RelTableDef[] = [
  { name: 'SENT', from: 'User', to: 'Message', columns: [col('weight', 'DOUBLE')] },
  { name: 'RESPONDS_TO', from: 'Message', to: 'Message', columns: [col('delay_seconds', 'INT64')] },
  { name: 'PART_OF', from: 'Message', to: 'Session', columns: [col('position', 'INT64')] },
  { name: 'MENTIONS', from: 'Message', to: 'Concept', columns: [col('confidence', 'DOUBLE')] },
  { name: 'DISCUSSES', from: 'Session', to: 'Topic', columns: [col('relevance', 'DOUBLE')] },
  { name: 'LEARNS', from: 'Session', to: 'Memory', columns: [col('strength', 'DOUBLE')] },
  { name: 'RELATES_TO', from: 'Concept', to: 'Concept', columns: [col('relationship_type', 'STRING'), col('strength', 'DOUBLE')] },
];

export const VECTOR_INDEXES: VectorIndexDef[] = [
  { table: 'Message', column: 'content_embedding', suffix: 'message_embeddings' },
  { table: 'Memory', column: 'content_embedding', suffix: 'memory_embeddings' },
  { table: 'Concept', column: 'name_embedding', suffix: 'concept_embeddings' },
];

/** Tables whose embedding columns this tool measures: table -> column. */
export const EMBEDDING_COLUMNS: Record<string, string> = Object.fromEntries(VECTOR_INDEXES.map((index) => [index.table, index.column]));

function col(name: string, type: string): ColumnDef {
  return { name, type };
}

export function columnType(type: string, dimension: number): string {
  return type.replace('{dim}', String(dimension));
}

/** CREATE statements for the whole schema, in dependency order. */
export function schemaDdl(dimension: number): string[] {
  const nodes = NODE_TABLES.map(
    (table) => `CREATE NODE TABLE IF NOT EXISTS ${table.name}(${table.columns.map((c) => `${c.name} ${columnType(c.type, dimension)}`).join(', ')}, PRIMARY KEY(id))`,
  );
  const rels = REL_TABLES.map(
    (table) => `CREATE REL TABLE IF NOT EXISTS ${table.name}(FROM ${table.from} TO ${table.to}${table.columns.map((c) => `, ${c.name} ${columnType(c.type, dimension)}`).join('')})`,
  );
  return [...nodes, ...rels];
}

export function vectorIndexName(folder: string, index: VectorIndexDef): string {
  return `${folder}_${index.suffix}`;
}

/**
 * Whether Kuzu 0.11 can create a vector index of this name. It builds internal tables named after
 * the index with a statement its own parser reads, so a name holding `-` (which the application
 * allows in folder names: "my-bot") or a space fails with a parser error. The application then
 * runs without that index; so do the fixture generator and a rebuild.
 */
export function vectorIndexNameUsable(name: string): boolean {
  return /^[\p{L}\p{N}_]+$/u.test(name);
}

export function vectorIndexDdl(folder: string, index: VectorIndexDef): string {
  return `CALL CREATE_VECTOR_INDEX('${index.table}', '${vectorIndexName(folder, index)}', '${index.column}', metric := 'cosine')`;
}

/** `FLOAT[768]` -> 768; null for anything that is not a fixed-size float array. */
export function embeddingDimension(type: string): number | null {
  const match = /^(?:FLOAT|DOUBLE)\[(\d+)\]$/.exec(type);
  return match ? Number(match[1]) : null;
}
