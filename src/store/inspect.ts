/**
 * A read-only look at one database file for `recover`: row counts of every table, how its
 * schema compares with the Locrit schema, vector indexes, and messages per session (to compare
 * with the application's conversation headers). Used on live databases, on backups and on
 * freshly built ones before they are swapped in.
 */
import path from 'node:path';
import { EMBEDDING_COLUMNS } from '../schema/locrit.js';
import { wallClockToInstant } from '../policy/time.js';
import { asNoSpace, DatabaseUnavailableError, LocritMemError, NoSpaceError } from '../errors.js';
import { checkHeader } from './header.js';
import { withStore } from './kuzu.js';
import { missingFromLocritSchema, readEveryColumn, readSchema, schemaDimension, tableCounts, type TableCounts } from './salvageQueries.js';

export interface Inspection {
  path: string;
  storageVersion: number;
  counts: TableCounts;
  /** Locrit tables and columns the file lacks. */
  schemaMissing: string[];
  dimension: number | null;
  vectorIndexes: string[];
  /** Non-NULL embeddings per table with an embedding column. */
  embeddingsStored: Record<string, number>;
  messages: number;
  oldestMessageAt: string | null;
  newestMessageAt: string | null;
  /** Every column of every row was read (deep). */
  deepRead: boolean;
  /** Messages per session id: the larger of the session_id column's count and PART_OF's. */
  sessionMessages: Record<string, number> | null;
  /** Messages per session id in the archives given, null when none were given or they could not be read. */
  archivedPerSession: Record<string, number> | null;
  /** Why archives could not be counted. */
  archiveReadError: string | null;
  /** Set by a caller that read a private copy of a live database: when the copy was taken (ISO 8601). */
  snapshotAt?: string;
}

export interface InspectOptions {
  bufferPoolMb: number;
  threads?: number;
  /** Read every column of every row (finds pages Kuzu cannot read). */
  deep?: boolean;
  /** Also count messages per session. */
  sessions?: boolean;
  /** Archived messages.parquet files whose messages are counted per session. */
  archiveMessageFiles?: string[];
}

/**
 * Kuzu's own errors ("Runtime exception: ...", "IO exception: ...") while reading a file mean the
 * file cannot be read: they become 'damaged'. A full buffer pool is not damage, and neither is a
 * bug of ours (a JS error): those stay as they are, so recover never rebuilds a healthy file for them.
 */
export function asReadError(dbPath: string, error: unknown): unknown {
  if (error instanceof LocritMemError) return error;
  const space = asNoSpace(error, path.dirname(dbPath), `reading ${dbPath}`);
  if (space instanceof NoSpaceError) return space;
  const message = error instanceof Error ? error.message : String(error);
  if (/^[A-Za-z ]*exception:/i.test(message) && !/buffer manager|out of memory/i.test(message)) {
    return new DatabaseUnavailableError(`${dbPath} is damaged: Kuzu cannot read it (${message.split('\n')[0].slice(0, 300)})`, 'damaged', 'run `locrit-mem recover` to salvage it');
  }
  return error;
}

export async function inspectDatabase(dbPath: string, options: InspectOptions): Promise<Inspection> {
  try {
    return await inspectOnce(dbPath, options);
  } catch (error) {
    throw asReadError(dbPath, error);
  }
}

async function inspectOnce(dbPath: string, options: InspectOptions): Promise<Inspection> {
  const { storageVersion } = checkHeader(dbPath);
  return withStore(dbPath, { readOnly: true, bufferPoolMb: options.bufferPoolMb, threads: options.threads }, async (store) => {
    const schema = await readSchema(store);
    const counts = await tableCounts(store, schema);
    if (options.deep) await readEveryColumn(store, schema);
    const embeddingsStored: Record<string, number> = {};
    for (const [table, column] of Object.entries(EMBEDDING_COLUMNS)) {
      if (schema.tables[table]?.columns.some((c) => c.name === column)) embeddingsStored[table] = Number(await store.scalar(`MATCH (n:${table}) RETURN count(n.${column})`));
    }
    let oldest: Date | null = null;
    let newest: Date | null = null;
    if (schema.tables.Message?.columns.some((c) => c.name === 'timestamp')) {
      const [range] = await store.query<{ lo: Date | null; hi: Date | null }>('MATCH (m:Message) RETURN min(m.timestamp) AS lo, max(m.timestamp) AS hi');
      oldest = range?.lo ?? null;
      newest = range?.hi ?? null;
    }
    let sessionMessages: Record<string, number> | null = null;
    if (options.sessions) {
      sessionMessages = {};
      const add = (rows: { s: string | null; n: number }[]): void => {
        for (const row of rows) if (row.s !== null) sessionMessages![row.s] = Math.max(sessionMessages![row.s] ?? 0, Number(row.n));
      };
      if (schema.tables.Message?.columns.some((c) => c.name === 'session_id')) {
        add(await store.query('MATCH (m:Message) WHERE m.session_id IS NOT NULL RETURN m.session_id AS s, count(*) AS n'));
      }
      if (schema.tables.PART_OF && schema.tables.Session) add(await store.query('MATCH (m:Message)-[:PART_OF]->(s:Session) RETURN s.id AS s, count(m) AS n'));
    }
    let archivedPerSession: Record<string, number> | null = null;
    let archiveReadError: string | null = null;
    if (options.archiveMessageFiles?.length) {
      archivedPerSession = {};
      try {
        for (const file of options.archiveMessageFiles) {
          const rows = await store.query<{ s: string | null; n: number }>(`LOAD FROM '${file.replace(/'/g, "''")}' RETURN session_id AS s, count(*) AS n`);
          for (const row of rows) if (row.s !== null) archivedPerSession[row.s] = (archivedPerSession[row.s] ?? 0) + Number(row.n);
        }
      } catch (error) {
        archivedPerSession = null;
        archiveReadError = (error as Error).message.split('\n')[0];
      }
    }
    return {
      path: dbPath,
      storageVersion,
      counts,
      schemaMissing: missingFromLocritSchema(schema),
      dimension: schemaDimension(schema),
      vectorIndexes: schema.indexes.filter((i) => /HNSW/i.test(i.type)).map((i) => i.name).sort(),
      embeddingsStored,
      messages: counts.Message ?? 0,
      oldestMessageAt: oldest ? wallClockToInstant(oldest).toISOString() : null,
      newestMessageAt: newest ? wallClockToInstant(newest).toISOString() : null,
      deepRead: Boolean(options.deep),
      sessionMessages,
      archivedPerSession,
      archiveReadError,
    };
  });
}

