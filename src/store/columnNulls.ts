/**
 * How many values of a column are not null, read from Kuzu's column metadata and null bitmaps
 * instead of from a scan. Counting the embeddings of a Locrit with a query reads the whole
 * 768-float column: on 200,000 messages, 100,000 of them embedded, that is ~300 MB and ~0.35 s,
 * most of `stats`. The null bitmap of the same 200,000 rows is 25 KB.
 *
 * The answer is given only where it is provably the one a query would give, and null
 * otherwise (the caller then counts with a query):
 * - the store is a private copy opened read-only, with no WAL and no `.shadow` beside it, so
 *   every row is in a checkpointed column chunk: a replayed WAL can change rows in memory,
 *   where `storage_info` does not show it;
 * - every chunk of the column is on disk and is followed by its null chunk, with the same row
 *   count, written either as a constant or as a bitmap (the two ways Kuzu 0.11 stores nulls);
 * - the bitmap lies inside the file.
 * The rows returned include deleted ones, whose null bit stays until Kuzu rewrites the chunk:
 * the caller compares them with count(n) and counts with a query when they differ.
 */
import fs from 'node:fs';
import type { KuzuStore } from './kuzu.js';

/** Kuzu 0.11's page size (its default build). */
const PAGE_BYTES = 4096;
/** What `storage_info` says of a chunk whose values are all the same. */
const CONSTANT = 'CONSTANT';
/** One bit per value, set when the value is null (little-endian, lowest bit first). */
const BITMAP = 'BOOLEAN_BITPACKING';

export interface ColumnNullCount {
  /** Rows the column's chunks hold, deleted rows included. */
  rows: number;
  /** Of those rows, how many are not null. */
  nonNull: number;
}

interface ChunkInfo {
  node_group_id: number;
  node_chunk_id: number;
  residency: string;
  column_name: string;
  data_type: string;
  start_page_idx: number;
  num_pages: number;
  num_values: number;
  min: string | null;
  max: string | null;
  compression: string;
}

/** Whether the store's file holds every row in checkpointed chunks that nobody else changes. */
export function storageIsFinal(store: KuzuStore): boolean {
  if (!store.readOnly || !store.privateCopy) return false;
  const wal = fs.statSync(`${store.dbPath}.wal`, { throwIfNoEntry: false });
  return (!wal || wal.size === 0) && !fs.existsSync(`${store.dbPath}.shadow`);
}

/** Non-null values of `table.column` from the storage metadata, or null when that cannot be proved right. */
export async function nonNullCountFromStorage(store: KuzuStore, table: string, column: string): Promise<ColumnNullCount | null> {
  if (!storageIsFinal(store)) return null;
  const chunks = await store.query<ChunkInfo>(`CALL storage_info('${table.replaceAll("'", "\\'")}') RETURN *`);
  const fileBytes = fs.statSync(store.dbPath).size;
  const fd = fs.openSync(store.dbPath, 'r');
  try {
    let rows = 0;
    let nulls = 0;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i];
      if (chunk.column_name !== column) continue;
      const nullChunk = chunks[i + 1];
      const matches =
        nullChunk !== undefined &&
        nullChunk.column_name === `${column}_null` &&
        nullChunk.data_type === 'BOOL' &&
        Number(nullChunk.node_group_id) === Number(chunk.node_group_id) &&
        Number(nullChunk.node_chunk_id) === Number(chunk.node_chunk_id) &&
        Number(nullChunk.num_values) === Number(chunk.num_values) &&
        chunk.residency === 'ON_DISK' &&
        nullChunk.residency === 'ON_DISK';
      if (!matches) return null;
      const values = Number(chunk.num_values);
      const counted = nullsIn(nullChunk, values, fd, fileBytes);
      if (counted === null) return null;
      rows += values;
      nulls += counted;
      i++;
    }
    return { rows, nonNull: rows - nulls };
  } finally {
    fs.closeSync(fd);
  }
}

/** Null values in one null chunk, or null when its form is not one this reader knows. */
function nullsIn(chunk: ChunkInfo, values: number, fd: number, fileBytes: number): number | null {
  if (chunk.compression === CONSTANT) {
    if (chunk.min !== chunk.max) return null;
    if (chunk.min === 'True') return values;
    return chunk.min === 'False' ? 0 : null;
  }
  if (chunk.compression !== BITMAP) return null;
  const bytes = Math.ceil(values / 8);
  const start = Number(chunk.start_page_idx) * PAGE_BYTES;
  if (bytes > Number(chunk.num_pages) * PAGE_BYTES || start + bytes > fileBytes) return null;
  const bitmap = Buffer.alloc(bytes);
  if (fs.readSync(fd, bitmap, 0, bytes, start) !== bytes) return null;
  let count = 0;
  const whole = Math.floor(values / 8);
  for (let b = 0; b < whole; b++) count += BITS_SET[bitmap[b]];
  for (let v = whole * 8; v < values; v++) if (bitmap[v >> 3] & (1 << (v & 7))) count++;
  return count;
}

const BITS_SET = Uint8Array.from({ length: 256 }, (_, byte) => {
  let n = 0;
  for (let b = byte; b; b >>= 1) n += b & 1;
  return n;
});
