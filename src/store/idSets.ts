/**
 * Set arithmetic over message ids without holding the ids in memory: each source's ids go to a
 * Parquet file written by Kuzu, and differences are taken inside a scratch Kuzu database whose
 * one table has the id as primary key (so every lookup is an index probe). Memory is bounded by
 * the buffer pool, whatever the number of messages.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KuzuStore, withStore } from './kuzu.js';
import { cypherString } from './cypher.js';
import { readSchema } from './schema.js';
import type { StoreSettings } from './settings.js';

/** How the reads and scratch databases of this module are sized (threads default to 1). */
export type ReadSettings = Pick<StoreSettings, 'bufferPoolMb'> & Partial<Pick<StoreSettings, 'threads'>>;

export interface IdExport {
  /** Parquet file with one column `id`, sorted. */
  file: string;
  messages: number;
  /** Local wall-clock time of the oldest and newest message ("2026-11-03 10:00:00"), null when empty. */
  firstMessageAt: string | null;
  lastMessageAt: string | null;
}

/** "2026-11-03 10:00:00" from a TIMESTAMP Kuzu returned (wall-clock time in the UTC fields). */
export function wallClockText(value: unknown): string | null {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) return null;
  return value.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Writes the Message ids of `dbPath` (opened read-only: a copy or a file nobody holds) to `file`.
 * A database without a Message table gives an empty export.
 */
export async function exportMessageIds(dbPath: string, file: string, settings: ReadSettings): Promise<IdExport> {
  return withStore(dbPath, { readOnly: true, bufferPoolMb: settings.bufferPoolMb, threads: settings.threads }, async (store) => {
    const schema = await readSchema(store);
    if (!schema.tables.Message) return writeEmptyIds(store, file);
    const [range] = await store.query<{ n: number; first: unknown; last: unknown }>('MATCH (m:Message) RETURN count(m) AS n, min(m.timestamp) AS first, max(m.timestamp) AS last');
    const messages = Number(range?.n ?? 0);
    if (messages === 0) return writeEmptyIds(store, file);
    await store.execute(`COPY (MATCH (m:Message) RETURN m.id AS id ORDER BY id) TO ${cypherString(file)}`);
    return { file, messages, firstMessageAt: wallClockText(range.first), lastMessageAt: wallClockText(range.last) };
  });
}

async function writeEmptyIds(store: KuzuStore, file: string): Promise<IdExport> {
  // A Parquet file with the `id` column and no row, so that later LOAD FROM needs no special case.
  await store.execute(`COPY (UNWIND ['x'] AS id WITH id WHERE id <> 'x' RETURN id) TO ${cypherString(file)}`);
  return { file, messages: 0, firstMessageAt: null, lastMessageAt: null };
}

/**
 * A set of ids in a scratch Kuzu database under `dir` (created empty, removed by close()).
 * `fill` loads ids from a Parquet file with an `id` column, `subtract` removes those another file holds.
 */
export class IdSet {
  private constructor(private readonly store: KuzuStore, private readonly dir: string) {}

  static async create(dir: string, settings: ReadSettings): Promise<IdSet> {
    fs.mkdirSync(dir, { recursive: true });
    const store = await KuzuStore.open(path.join(dir, 'ids.kuzu'), { readOnly: false, create: true, bufferPoolMb: Math.min(settings.bufferPoolMb, 256), threads: settings.threads });
    try {
      await store.execute('CREATE NODE TABLE Id(id STRING, PRIMARY KEY(id))');
    } catch (error) {
      await store.close();
      throw error;
    }
    return new IdSet(store, dir);
  }

  /** Adds the ids of `file` (a Parquet or CSV file with an `id` column); returns how many were new. */
  async fill(file: string): Promise<number> {
    const before = await this.count();
    if (before === 0) {
      // Bulk load into the empty table; MERGE row by row only when ids may already be there.
      await this.store.execute(`COPY Id FROM (LOAD FROM ${cypherString(file)} WITH DISTINCT id WHERE id IS NOT NULL RETURN id)`);
    } else {
      await this.store.execute(`LOAD FROM ${cypherString(file)} WITH DISTINCT id WHERE id IS NOT NULL MERGE (:Id {id: id})`);
    }
    return (await this.count()) - before;
  }

  /** Removes every id `file` holds; returns how many were removed. */
  async subtract(file: string): Promise<number> {
    const before = await this.count();
    await this.store.execute(`LOAD FROM ${cypherString(file)} WITH DISTINCT id MATCH (i:Id {id: id}) DELETE i`);
    return before - (await this.count());
  }

  async count(): Promise<number> {
    return Number(await this.store.scalar('MATCH (i:Id) RETURN count(i)'));
  }

  /** Up to `limit` ids, in order (examples for a report). */
  async sample(limit: number): Promise<string[]> {
    const rows = await this.store.query<{ id: string }>(`MATCH (i:Id) RETURN i.id AS id ORDER BY id LIMIT ${Math.max(0, Math.floor(limit))}`);
    return rows.map((r) => r.id);
  }

  /**
   * Writes to `out` the rows of `file` (a Parquet file with an `id` column among `columns`)
   * whose id is NOT in the set, sorted by id; returns how many rows were written.
   */
  async filterOut(file: string, out: string, columns: string[]): Promise<number> {
    const names = columns.map((c) => `\`${c}\``).join(', ');
    await this.store.execute(`COPY (LOAD FROM ${cypherString(file)} OPTIONAL MATCH (i:Id {id: id}) WITH ${names}, i WHERE i IS NULL RETURN ${names} ORDER BY id) TO ${cypherString(out)}`);
    return Number(await this.store.scalar(`LOAD FROM ${cypherString(out)} RETURN count(*)`));
  }

  /** Writes the ids to a Parquet file with an `id` column. */
  async exportTo(file: string): Promise<void> {
    if ((await this.count()) === 0) {
      await writeEmptyIds(this.store, file);
      return;
    }
    await this.store.execute(`COPY (MATCH (i:Id) RETURN i.id AS id ORDER BY id) TO ${cypherString(file)}`);
  }

  async close(): Promise<void> {
    await this.store.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
