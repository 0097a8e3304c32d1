/**
 * Writing and reading archive files with Kuzu (the format itself is in src/archive/format.ts).
 * Export uses `COPY (MATCH ... RETURN ...) TO '<file>.parquet'`: Kuzu streams the rows to the
 * file itself, so nothing of the archived data passes through the JS heap.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ExitCode, LocritMemError } from '../errors.js';
import {
  IdDigest, MESSAGES_FILE, sha256OfFile, verifyArchive, type ArchiveColumn, type ArchiveFileEntry, type ArchiveVerification, type ParquetReader,
} from '../archive/format.js';
import { withStore, type KuzuStore } from './kuzu.js';
import { cypherString, eachSelectedId, paramsFor, queryWith, type Selection } from './retention.js';
import type { DatabaseSchema, TableInfo } from './schema.js';

/** Kuzu's reader of Parquet files for verifyArchive (works on any open store, even an in-memory one). */
export function kuzuParquetReader(store: KuzuStore): ParquetReader {
  return {
    // count(column) for every column makes Kuzu decode every value, not only the row count in the footer.
    rowCount: async (file, columns = []) => {
      const counts = columns.map((c, i) => `count(\`${c}\`) AS c${i}`);
      const [row] = await store.query<Record<string, unknown>>(`LOAD FROM ${cypherString(file)} RETURN ${['count(*) AS n', ...counts].join(', ')}`);
      return Number(row?.n ?? 0);
    },
    sortedIds: async (file, onId) => {
      await store.each(`LOAD FROM ${cypherString(file)} RETURN id ORDER BY id`, undefined, (row) => onId(String(row.id)));
    },
  };
}

/**
 * The whole check of an archive folder (manifest, sha256 of every file, row counts, id digest)
 * in one call, with a small in-memory Kuzu database to read the Parquet files. For
 * `recover --from-archive` and `recover --list`.
 */
export async function verifyArchiveWithKuzu(location: string, bufferPoolMb = 64): Promise<ArchiveVerification> {
  return withStore(':memory:', { readOnly: false, create: true, bufferPoolMb }, (store) => verifyArchive(location, kuzuParquetReader(store)));
}

/** The primary-key column of a node table (`id` in the Locrit schema). */
export function primaryKeyOf(table: TableInfo | undefined): string {
  return table?.columns.find((c) => c.primaryKey)?.name ?? 'id';
}

/** Relationship tables with Message at one end, which must leave with the messages. */
export function messageRelationships(schema: DatabaseSchema): TableInfo[] {
  return Object.values(schema.tables)
    .filter((t) => t.kind === 'REL' && (t.from === 'Message' || t.to === 'Message'))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function relationshipFileName(table: string): string {
  return `${table.toLowerCase()}.parquet`;
}

/**
 * COPY (query) TO Parquet. The query must end with ORDER BY: Kuzu 0.11 writes an invalid Parquet
 * file (reading it back fails with "TProtocolException: Invalid data" or "Out of buffer") when
 * the rows come out of a join or an EXISTS subquery unsorted; ORDER BY materialises them first
 * and the file is then sound. The read-back check would catch it; this avoids it.
 */
async function copyTo(store: KuzuStore, query: string, params: Selection['params'], file: string): Promise<void> {
  const cypher = `COPY (${query}) TO ${cypherString(file)}`;
  await store.execute(cypher, paramsFor(cypher, params));
}

async function countOf(store: KuzuStore, match: string, params: Selection['params']): Promise<number> {
  const [row] = await queryWith<{ n: number }>(store, `${match} RETURN count(*) AS n`, params);
  return Number(row?.n ?? 0);
}

export interface ExportResult {
  files: ArchiveFileEntry[];
  relationships: Record<string, number>;
  idDigest: string;
  idCount: number;
}

/**
 * Writes the selected messages (every column) and every relationship touching them into
 * `folder`, and the id digest computed from the database. `onFile` is called after each file
 * (progress and the SIGKILL test hook).
 */
export async function exportSelection(
  store: KuzuStore,
  schema: DatabaseSchema,
  selection: Selection,
  folder: string,
  onFile: (name: string) => void = () => undefined,
): Promise<ExportResult> {
  fs.mkdirSync(folder, { recursive: true });
  const files: ArchiveFileEntry[] = [];
  const entry = (name: string, table: string, rows: number, columns: ArchiveColumn[]): ArchiveFileEntry => {
    const file = path.join(folder, name);
    return { name, table: table as ArchiveFileEntry['table'], rows, bytes: fs.statSync(file).size, sha256: sha256OfFile(file), columns };
  };

  const messageColumns = schema.tables.Message.columns.map((c) => ({ name: c.name, type: c.type }));
  const match = `MATCH (m:Message) WHERE ${selection.selected('m')}`;
  const messages = await countOf(store, match, selection.params);
  await copyTo(store, `${match} RETURN ${messageColumns.map((c) => `m.\`${c.name}\` AS \`${c.name}\``).join(', ')} ORDER BY \`id\``, selection.params, path.join(folder, MESSAGES_FILE));
  files.push(entry(MESSAGES_FILE, 'Message', messages, messageColumns));
  onFile(MESSAGES_FILE);

  const relationships: Record<string, number> = {};
  for (const rel of messageRelationships(schema)) {
    const fromKey = primaryKeyOf(schema.tables[rel.from!]);
    const toKey = primaryKeyOf(schema.tables[rel.to!]);
    const where =
      rel.from === 'Message' && rel.to === 'Message'
        ? `${selection.selected('a')} OR ${selection.selected('b')}`
        : rel.from === 'Message'
          ? selection.selected('a')
          : selection.selected('b');
    const relMatch = `MATCH (a:\`${rel.from}\`)-[r:\`${rel.name}\`]->(b:\`${rel.to}\`) WHERE ${where}`;
    const props = rel.columns.map((c) => ({ name: c.name, type: c.type }));
    const rows = await countOf(store, relMatch, selection.params);
    const name = relationshipFileName(rel.name);
    const returns = [`a.\`${fromKey}\` AS from_id`, `b.\`${toKey}\` AS to_id`, ...props.map((c) => `r.\`${c.name}\` AS \`${c.name}\``)];
    await copyTo(store, `${relMatch} RETURN ${returns.join(', ')} ORDER BY from_id, to_id`, selection.params, path.join(folder, name));
    files.push(entry(name, rel.name, rows, [{ name: 'from_id', type: 'STRING' }, { name: 'to_id', type: 'STRING' }, ...props]));
    relationships[rel.name] = rows;
    onFile(name);
  }

  const digest = new IdDigest();
  await eachSelectedId(store, selection, (id) => digest.add(id));
  if (digest.count !== messages) throw new Error(`the selection changed while it was exported (${digest.count} ids, ${messages} rows)`);
  return { files, relationships, idDigest: digest.digest(), idCount: digest.count };
}

/**
 * Kuzu's COPY ... TO Parquet and EXPORT DATABASE hold a file's rows in the buffer pool while
 * writing it (measured: 20,000 messages with 768-float embeddings fail in a 64 MiB pool and pass
 * in 256 MiB). Running out is turned into a clear error naming the setting to raise.
 */
export function explainBufferPoolError(error: unknown, what: string, consequence = 'nothing was deleted'): unknown {
  const message = error instanceof Error ? error.message : String(error);
  if (!/buffer pool is full|Out of buffer|Unable to allocate memory/i.test(message)) return error;
  return new LocritMemError(
    `${what}: Kuzu ran out of its buffer pool (${message.split('\n')[0].slice(0, 200)}); ${consequence}`,
    ExitCode.unavailable,
    'raise kuzu.buffer_pool_mb in the configuration (writing Parquet holds the rows of a file in the pool), or archive fewer messages per run (--days, --keep)',
  );
}
