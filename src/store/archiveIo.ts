/**
 * Writing and reading archive files with Kuzu (the format itself is in src/archive/format.ts).
 * Export uses `COPY (MATCH ... RETURN ...) TO '<file>.parquet'`: Kuzu writes the rows to the
 * file itself, so nothing of the archived data passes through the JS heap. Kuzu holds one
 * file's rows in its buffer pool while writing it (the ORDER BY materialises them), so the
 * selection is written in chunks of consecutive id ranges of at most `archive.batch_messages`
 * messages: memory is bounded by the chunk size, not by the database or the selection.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataSafetyError, ExitCode, LocritMemError } from '../errors.js';
import { databaseOwnership, makeContentFolder, protectContentFile } from '../layout/ownership.js';
import {
  chunkFileName, DEFAULT_BATCH_MESSAGES, IdDigest, sha256OfFile, verifyArchive, type ArchiveColumn, type ArchiveFileEntry, type ArchiveVerification, type ParquetReader,
} from '../archive/format.js';
import { withStore, type KuzuStore } from './kuzu.js';
import { cypherString, paramsFor, queryWith } from './cypher.js';
import { eachSelectedId, type Selection } from './retentionQueries.js';
import type { DatabaseSchema, TableInfo } from './schema.js';

/** Code-unit order (JS `<`), the order of the id digest. */
function sortIds(ids: string[]): string[] {
  return ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Kuzu's reader of Parquet files for verifyArchive (works on any open store, even an in-memory one). */
export function kuzuParquetReader(store: KuzuStore): ParquetReader {
  return {
    // count(column) for every column makes Kuzu decode every value, not only the row count in the footer.
    rowCount: async (file, columns = []) => {
      const counts = columns.map((c, i) => `count(\`${c}\`) AS c${i}`);
      const [row] = await store.query<Record<string, unknown>>(`LOAD FROM ${cypherString(file)} RETURN ${['count(*) AS n', ...counts].join(', ')}`);
      return Number(row?.n ?? 0);
    },
    // The ids cross as ONE row holding a list (the Node binding costs 20-40 us per result row,
    // well under 1 us per list element) and are sorted here, in the code-unit order IdDigest
    // checks. A file holds one chunk (archive.batch_messages ids), so the list stays small.
    sortedIds: async (file, onId) => {
      const [row] = await store.query<{ ids: string[] | null }>(`LOAD FROM ${cypherString(file)} RETURN collect(id) AS ids`);
      for (const id of sortIds(row?.ids ?? [])) onId(String(id));
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

/** File name of a relationship table's rows of chunk `chunk` of `chunks`. */
export function relationshipFileName(table: string, chunk = 1, chunks = 1): string {
  return chunkFileName(table.toLowerCase(), chunk, chunks);
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
  chunking: { maxMessagesPerChunk: number; chunks: number };
}

export interface ExportOptions {
  /** Messages per chunk (config `archive.batch_messages`). */
  batchMessages?: number;
  /** Called after each file is written (progress). */
  onFile?: (name: string) => void;
  /** Called after each chunk's files are written (progress and the SIGKILL test hook). */
  /** After each chunk: its number, how many there are, and the messages written so far. */
  onChunk?: (chunk: number, chunks: number, messagesDone: number) => void;
}

/**
 * Writes the selected messages (every column) and every relationship touching them into
 * `folder`, chunk by chunk (see "Chunks" in src/archive/format.ts), and the id digest computed
 * from the database.
 *
 * 1. One pass over the selected ids in code-unit order (ids only, no other column; see
 *    eachSelectedId): the id digest, the count, and every `batchMessages`-th id as the upper
 *    bound of a chunk.
 * 2. Per chunk, `COPY (... WHERE <id in (lo, hi]> AND <selected> ... ORDER BY id)`: Kuzu
 *    materialises at most one chunk's rows (embeddings included) for the sort.
 * 3. Per chunk and relationship table, the rows whose archived message end is in the chunk;
 *    a RESPONDS_TO row with archived messages at both ends goes with its `from` message only.
 *    Relationship files are chunked too: their rows are small, but there is at least one per
 *    message, and the sort materialises them all.
 * The rows of each relationship file are counted in the file; their sum per table must equal
 * the database's count of that table's rows touching the selection.
 */
export async function exportSelection(
  store: KuzuStore,
  schema: DatabaseSchema,
  selection: Selection,
  folder: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const batch = Math.max(1, Math.floor(options.batchMessages ?? DEFAULT_BATCH_MESSAGES));
  // Archived messages are never more open than the database they come from (see src/layout/ownership.ts).
  const owner = databaseOwnership(store.dbPath);
  makeContentFolder(folder, owner);
  const files: ArchiveFileEntry[] = [];
  const entry = (name: string, table: string, chunk: number, rows: number, columns: ArchiveColumn[]): ArchiveFileEntry => {
    const file = path.join(folder, name);
    protectContentFile(file, owner);
    return { name, table, chunk, rows, bytes: fs.statSync(file).size, sha256: sha256OfFile(file), columns };
  };

  // 1. digest, count and chunk bounds from one sorted pass over the ids.
  const digest = new IdDigest();
  const upperBounds: string[] = [];
  let inChunk = 0;
  const chunkSizes: number[] = [];
  await eachSelectedId(store, selection, (id) => {
    digest.add(id);
    if (++inChunk === batch) {
      upperBounds.push(id);
      chunkSizes.push(inChunk);
      inChunk = 0;
    }
  });
  if (inChunk > 0 || upperBounds.length === 0) {
    upperBounds.push(digest.last ?? '');
    chunkSizes.push(inChunk);
  }
  const chunks = upperBounds.length;
  const messages = digest.count;

  const messageColumns = schema.tables.Message.columns.map((c) => ({ name: c.name, type: c.type }));
  const rels = messageRelationships(schema).map((rel) => {
    const selected = selection.selected;
    const pattern = `MATCH (a:\`${rel.from}\`)-[r:\`${rel.name}\`]->(b:\`${rel.to}\`) WHERE `;
    // A Message -> Message row goes with its `from` message when that one leaves, else with its
    // `to` message. The two cases are separate statements: Kuzu 0.11 evaluates an OR over both
    // ends after joining every row of the table (390 ms a chunk on 200,000 messages, against
    // 15-20 ms for each side alone).
    const parts = (range: (v: string) => string): string[] =>
      rel.from === 'Message' && rel.to === 'Message'
        ? [`${pattern}${range('a')} AND ${selected('a')}`, `${pattern}${range('b')} AND ${selected('b')} AND NOT ${selected('a')}`]
        : [`${pattern}${rel.from === 'Message' ? `${range('a')} AND ${selected('a')}` : `${range('b')} AND ${selected('b')}`}`];
    const props = rel.columns.map((c) => ({ name: c.name, type: c.type }));
    const returns = [`a.\`${primaryKeyOf(schema.tables[rel.from!])}\` AS from_id`, `b.\`${primaryKeyOf(schema.tables[rel.to!])}\` AS to_id`, ...props.map((c) => `r.\`${c.name}\` AS \`${c.name}\``)];
    const columns = [{ name: 'from_id', type: 'STRING' }, { name: 'to_id', type: 'STRING' }, ...props];
    return { rel, parts, returns, columns };
  });

  /** One relationship file of a chunk: the rows of `parts` (disjoint), sorted by (from_id, to_id). */
  const writeRelationshipFile = async (parts: string[], returns: string[], columns: ArchiveColumn[], params: Selection['params'], file: string): Promise<void> => {
    const counts: number[] = [];
    for (const part of parts.slice(1)) counts.push(await countOf(store, part, params));
    if (counts.every((n) => n === 0)) {
      await copyTo(store, `${parts[0]} RETURN ${returns.join(', ')} ORDER BY from_id, to_id`, params, file);
      return;
    }
    const pieces = parts.map((_, i) => file.replace(/\.parquet$/, `.part${i}.parquet`));
    try {
      for (const [i, part] of parts.entries()) await copyTo(store, `${part} RETURN ${returns.join(', ')} ORDER BY from_id, to_id`, params, pieces[i]);
      const names = columns.map((c) => `\`${c.name}\``).join(', ');
      await store.execute(`COPY (LOAD FROM [${pieces.map(cypherString).join(', ')}] RETURN ${names} ORDER BY from_id, to_id) TO ${cypherString(file)}`);
    } finally {
      for (const piece of pieces) fs.rmSync(piece, { force: true });
    }
  };

  const relationships: Record<string, number> = {};
  for (const { rel } of rels) relationships[rel.name] = 0;
  for (let i = 0; i < chunks; i++) {
    const chunk = i + 1;
    // The id range of the chunk, first in the WHERE so that the rest is evaluated on its rows only.
    const params = { ...selection.params, chunk_lo: i > 0 ? upperBounds[i - 1] : '', chunk_hi: upperBounds[i] };
    const range = (v: string): string => (messages === 0 ? 'true' : i > 0 ? `(${v}.id > $chunk_lo AND ${v}.id <= $chunk_hi)` : `${v}.id <= $chunk_hi`);
    const name = chunkFileName('messages', chunk, chunks);
    await copyTo(
      store,
      `MATCH (m:Message) WHERE ${range('m')} AND ${selection.selected('m')} RETURN ${messageColumns.map((c) => `m.\`${c.name}\` AS \`${c.name}\``).join(', ')} ORDER BY \`id\``,
      params,
      path.join(folder, name),
    );
    files.push(entry(name, 'Message', chunk, chunkSizes[i], messageColumns));
    options.onFile?.(name);
    for (const { rel, parts, returns, columns } of rels) {
      const relName = relationshipFileName(rel.name, chunk, chunks);
      const file = path.join(folder, relName);
      await writeRelationshipFile(parts(range), returns, columns, params, file);
      const rows = Number(await store.scalar(`LOAD FROM ${cypherString(file)} RETURN count(*)`));
      files.push(entry(relName, rel.name, chunk, rows, columns));
      relationships[rel.name] += rows;
      options.onFile?.(relName);
    }
    options.onChunk?.(chunk, chunks, chunkSizes.slice(0, chunk).reduce((sum, n) => sum + n, 0));
  }

  for (const { rel, parts } of rels) {
    let inDb = 0;
    for (const part of parts(() => 'true')) inDb += await countOf(store, part, selection.params);
    if (inDb !== relationships[rel.name]) throw new DataSafetyError(`the ${rel.name} files hold ${relationships[rel.name]} rows, the database ${inDb}; nothing was deleted`);
  }
  return { files, relationships, idDigest: digest.digest(), idCount: messages, chunking: { maxMessagesPerChunk: batch, chunks } };
}

/**
 * Kuzu's COPY ... TO Parquet and EXPORT DATABASE hold a file's rows in the buffer pool while
 * writing it (measured: 20,000 messages with 768-float embeddings fail in a 64 MiB pool and pass
 * in 256 MiB; archive writes chunks of archive.batch_messages messages for this reason). Running out is turned into a clear error naming the setting to raise.
 */
export function explainBufferPoolError(error: unknown, what: string, consequence = 'nothing was deleted'): unknown {
  const message = error instanceof Error ? error.message : String(error);
  if (!/buffer pool is full|Out of buffer|Unable to allocate memory/i.test(message)) return error;
  return new LocritMemError(
    `${what}: Kuzu ran out of its buffer pool (${message.split('\n')[0].slice(0, 200)}); ${consequence}`,
    ExitCode.unavailable,
    'raise kuzu.buffer_pool_mb in the configuration (writing Parquet holds the rows of a file in the pool), or lower archive.batch_messages (messages per archive file)',
  );
}
