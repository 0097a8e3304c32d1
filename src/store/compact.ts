/**
 * Compaction: Kuzu never shrinks its file after DELETE and has no VACUUM, so giving space back
 * means rebuilding. We EXPORT DATABASE (Parquet, written by Kuzu itself: no rows in the JS heap)
 * from a read-only open of the source, IMPORT DATABASE into a fresh temporary file beside it
 * (IMPORT only works on an empty database and does not roll back: hence a fresh file), verify
 * the copy table by table (row count and a digest of the primary keys, or of the (from, to)
 * pairs of a relationship table) and every vector index (exists, and a QUERY_VECTOR_INDEX with a
 * stored vector finds that vector), and only then swap it in with one rename, the old file
 * (and any WAL) moving to a backup. Interrupted at any point, the original file is untouched
 * or already replaced by a verified copy; leftovers are removed by the next run.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseUnavailableError, ExitCode, LocritMemError, NoSpaceError } from '../errors.js';
import { pruneBackups, swapIn } from '../layout/backup.js';
import { removeExisting } from '../layout/files.js';
import { databaseOwnership, protectContentTree } from '../layout/ownership.js';
import { withStore, type KuzuStore } from './kuzu.js';
import { locksOn, describeProcess } from './locks.js';
import { cypherString } from './cypher.js';
import { readSchema } from './schema.js';
import { vectorIndexBuildPoolMb } from './vectorIndexPool.js';
import { vectorIndexAnswers } from './vectorIndexCheck.js';
import { embeddingDimension } from '../schema/locrit.js';
import { explainBufferPoolError, primaryKeyOf } from './archiveIo.js';

export function compactionPaths(dbPath: string): { tmpDb: string; exportDir: string } {
  return { tmpDb: `${dbPath}.locrit-mem-compact.tmp`, exportDir: `${dbPath}.locrit-mem-compact.export` };
}

/** Removes what an interrupted compaction left behind. Returns the paths removed. */
export function removeCompactionLeftovers(dbPath: string): string[] {
  const { tmpDb, exportDir } = compactionPaths(dbPath);
  return removeExisting([tmpDb, `${tmpDb}.wal`, exportDir]);
}

/** Free bytes on the file system of `dir`, or `seen` when a test sets it (the free-bytes test knob). */
export function freeBytes(dir: string, seen: number | null = null): number {
  if (seen !== null) return seen;
  const stat = fs.statfsSync(dir);
  return Number(stat.bavail) * Number(stat.bsize);
}

/**
 * Free disk a rebuild needs beside the database: the export (at most about the live data) plus
 * the new file (likewise), each bounded by the current file, plus a margin.
 */
export function compactionNeedsBytes(dbBytes: number): number {
  return 2 * dbBytes + 16 * 1024 * 1024;
}

/** Refuses, before anything is changed, when the disk cannot hold a rebuild. */
export function checkFreeSpaceForCompaction(dbPath: string, freeBytesSeen: number | null = null): { needed: number; free: number } {
  const dbBytes = fs.statSync(dbPath).size;
  const needed = compactionNeedsBytes(dbBytes);
  const free = freeBytes(fs.realpathSync(dbPath).replace(/\/[^/]*$/, '') || '/', freeBytesSeen);
  if (free < needed) {
    throw new NoSpaceError(
      path.dirname(dbPath),
      free,
      `planning to compact ${dbPath}: a rebuild needs room for an export and a new file beside it`,
      needed,
      'free some disk (old backups, archives moved elsewhere), or rerun without compaction (`archive` without --compact, `emergency-cleanup --no-compact`): freed pages are then reused but the file does not shrink',
    );
  }
  return { needed, free };
}

export interface TableFingerprint {
  table: string;
  kind: 'NODE' | 'REL';
  rows: number;
  /** sha256 over the sorted primary keys (node) or sorted "from\tto" pairs (relationship). */
  digest: string;
}

export interface VectorIndexCheck {
  table: string;
  name: string;
  present: boolean;
  /** A query with a stored vector returned that vector's row (null when the table holds no vector). */
  answered: boolean | null;
}

export interface CompactionResult {
  beforeBytes: number;
  afterBytes: number;
  /** Message embeddings set to NULL during the rebuild (--strip-embeddings). */
  embeddingsStripped: number;
  /** The old file, kept as a backup (null when the rebuild was not swapped in). */
  backup: string | null;
  /** Size of the rebuilt copy. */
  rebuiltBytes: number;
  /** false when the rebuilt file was not smaller and nothing was stripped: the original is kept as it is. */
  swapped: boolean;
  prunedBackups: string[];
  tables: TableFingerprint[];
  vectorIndexes: VectorIndexCheck[];
}

/**
 * Row count and a digest of the keys of every table. The keys cross as ONE result row per table
 * holding a list (the Node binding costs 20-40 us per result row, well under 1 us per list
 * element: on a Locrit of 3,000 messages, source and copy together, 0.77 s of CPU as rows, 0.06 s
 * as lists) and are sorted here, in code-unit order, the same way on both sides.
 */
async function fingerprints(store: KuzuStore): Promise<TableFingerprint[]> {
  const schema = await readSchema(store);
  const out: TableFingerprint[] = [];
  const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  for (const table of Object.values(schema.tables).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const hash = crypto.createHash('sha256');
    let lines: string[];
    if (table.kind === 'NODE') {
      const key = primaryKeyOf(table);
      const [row] = await store.query<{ keys: (string | null)[] | null }>(`MATCH (n:\`${table.name}\`) RETURN collect(CAST(n.\`${key}\` AS STRING)) AS keys`);
      lines = (row?.keys ?? []).map((k) => `${String(k)}\n`);
    } else {
      const fromKey = primaryKeyOf(schema.tables[table.from!]);
      const toKey = primaryKeyOf(schema.tables[table.to!]);
      const [row] = await store.query<{ pairs: [string | null, string | null][] | null }>(
        `MATCH (a:\`${table.from}\`)-[r:\`${table.name}\`]->(b:\`${table.to}\`) RETURN collect([CAST(a.\`${fromKey}\` AS STRING), CAST(b.\`${toKey}\` AS STRING)]) AS pairs`,
      );
      lines = (row?.pairs ?? []).map(([f, t]) => `${String(f)}\t${String(t)}\n`);
    }
    for (const line of lines.sort(byCodeUnit)) hash.update(line);
    out.push({ table: table.name, kind: table.kind, rows: lines.length, digest: hash.digest('hex') });
  }
  return out;
}

interface IndexInfoRow {
  table: string;
  name: string;
  column: string;
}

/** The pool IMPORT DATABASE needs to rebuild `indexes` over the source's rows (see vectorIndexPool.ts). */
async function importPoolMb(store: KuzuStore, tables: TableFingerprint[], indexes: IndexInfoRow[], configuredMb: number): Promise<number> {
  if (indexes.length === 0) return configuredMb;
  const schema = await readSchema(store);
  let poolMb = configuredMb;
  for (const index of indexes) {
    const type = schema.tables[index.table]?.columns.find((c) => c.name === index.column)?.type;
    const dimension = type ? embeddingDimension(type) : null;
    const rows = tables.find((t) => t.table === index.table)?.rows ?? 0;
    if (dimension !== null) poolMb = Math.max(poolMb, vectorIndexBuildPoolMb(configuredMb, rows, dimension));
  }
  return poolMb;
}

async function vectorIndexes(store: KuzuStore): Promise<IndexInfoRow[]> {
  const rows = await store.query<Record<string, unknown>>('CALL show_indexes() RETURN *');
  return rows
    .filter((r) => String(r.index_type).toUpperCase() === 'HNSW')
    .map((r) => ({ table: String(r.table_name), name: String(r.index_name), column: ((r.property_names as string[]) ?? [])[0] }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}


/**
 * Low-priority embeddings (--strip-embeddings) dropped while rebuilding. Kuzu refuses to SET a column that has an HNSW index ("Cannot set
 * property vec ... Try delete and then insert"), and after DROP_VECTOR_INDEX + reopen the same
 * SET crashed the process with SIGSEGV here: so embeddings are stripped in the exported
 * Message.parquet (rewritten by Kuzu with the embedding set to NULL where `where` holds) before
 * IMPORT, which then builds the index over the embeddings that remain.
 */
export interface StripInRebuild {
  /** Condition over the Message columns, written with bare column names (e.g. `role = 'system'`). */
  where: (column: (name: string) => string) => string;
  params: Record<string, string | number | boolean>;
}

export interface CompactOptions {
  bufferPoolMb: number;
  threads: number;
  backupDir: string | null;
  keep: number;
  progress?: (phase: string) => void;
  /** Called after the copy is verified, just before the swap (the SIGKILL test hook). */
  beforeSwap?: () => void;
  strip?: StripInRebuild;
  /** The free disk space to assume (the free-bytes test knob), or null to measure it. */
  freeBytesSeen?: number | null;
}

/** Rewrites the exported Message.parquet with stripped embeddings; returns how many were stripped. */
async function stripExportedMessages(store: KuzuStore, exportDir: string, strip: StripInRebuild): Promise<number> {
  const file = `${exportDir}/Message.parquet`;
  if (!fs.existsSync(file)) return 0;
  const [first] = await store.query<Record<string, unknown>>(`LOAD FROM ${cypherString(file)} RETURN * LIMIT 1`);
  if (!first) return 0;
  const names = Object.keys(first);
  // EXPORT DATABASE names the columns `<variable>.<column>` (a.id, a.role, ...): find each by its column name.
  const column = (name: string): string => {
    const found = names.find((n) => n === name || n.endsWith(`.${name}`));
    if (!found) throw new Error(`the exported Message table has no column ${name}`);
    return `\`${found}\``;
  };
  const embedding = column('content_embedding');
  const condition = `(${embedding} IS NOT NULL AND ${strip.where(column)})`;
  const stripped = Number(await store.scalar(`LOAD FROM ${cypherString(file)} WHERE ${condition} RETURN count(*)`, strip.params));
  if (stripped === 0) return 0;
  const returns = names.map((n) => (`\`${n}\`` === embedding ? `CASE WHEN ${condition} THEN NULL ELSE ${embedding} END AS ${embedding}` : `\`${n}\` AS \`${n}\``));
  const rewritten = `${exportDir}/Message.stripped.parquet`;
  const cypher = `COPY (LOAD FROM ${cypherString(file)} RETURN ${returns.join(', ')} ORDER BY ${column('id')}) TO ${cypherString(rewritten)}`;
  await store.execute(cypher, Object.keys(strip.params).length ? strip.params : undefined);
  fs.renameSync(rewritten, file);
  return stripped;
}

export async function compactDatabase(dbPath: string, options: CompactOptions): Promise<CompactionResult> {
  removeCompactionLeftovers(dbPath);
  checkFreeSpaceForCompaction(dbPath, options.freeBytesSeen ?? null);
  const { tmpDb, exportDir } = compactionPaths(dbPath);
  const store = { bufferPoolMb: options.bufferPoolMb, threads: options.threads };
  try {
    options.progress?.('compacting: exporting');
    const source = await withStore(dbPath, { readOnly: true, ...store }, async (s) => {
      await s.execute(`EXPORT DATABASE ${cypherString(exportDir)} (format='parquet')`);
      // Kuzu refuses an existing folder, so the export (every message) is closed afterwards.
      protectContentTree(exportDir, databaseOwnership(dbPath));
      const embeddings = Number(await s.scalar('MATCH (m:Message) RETURN count(m.content_embedding)').catch(() => 0));
      const stripped = options.strip ? (options.progress?.('compacting: stripping embeddings'), await stripExportedMessages(s, exportDir, options.strip)) : 0;
      const tables = await fingerprints(s);
      const indexes = await vectorIndexes(s);
      return { tables, indexes, embeddings, stripped, rebuildPoolMb: await importPoolMb(s, tables, indexes, options.bufferPoolMb) };
    });
    options.progress?.('compacting: rebuilding');
    const rebuilt = await withStore(tmpDb, { readOnly: false, create: true, ...store, bufferPoolMb: source.rebuildPoolMb }, async (s) => {
      await s.execute(`IMPORT DATABASE ${cypherString(exportDir)}`);
      options.progress?.('compacting: verifying');
      const tables = await fingerprints(s);
      const present = await vectorIndexes(s);
      const checks: VectorIndexCheck[] = [];
      const schema = await readSchema(s);
      for (const index of source.indexes) {
        const found = present.find((p) => p.name === index.name && p.table === index.table);
        checks.push({ table: index.table, name: index.name, present: Boolean(found), answered: found ? await vectorIndexAnswers(s, found.table, found.name, found.column, primaryKeyOf(schema.tables[found.table])) : false });
      }
      const embeddings = Number(await s.scalar('MATCH (m:Message) RETURN count(m.content_embedding)').catch(() => 0));
      return { tables, checks, embeddings };
    });
    const problems: string[] = [];
    for (const before of source.tables) {
      const after = rebuilt.tables.find((t) => t.table === before.table);
      if (!after) problems.push(`table ${before.table} is missing`);
      else if (after.rows !== before.rows) problems.push(`${before.table}: ${after.rows} rows instead of ${before.rows}`);
      else if (after.digest !== before.digest) problems.push(`${before.table}: the set of ids differs`);
    }
    if (rebuilt.embeddings !== source.embeddings - source.stripped) {
      problems.push(`Message holds ${rebuilt.embeddings} embeddings instead of ${source.embeddings - source.stripped}`);
    }
    for (const check of rebuilt.checks) {
      if (!check.present) problems.push(`vector index ${check.name} is missing`);
      else if (check.answered === false) problems.push(`vector index ${check.name} does not answer QUERY_VECTOR_INDEX`);
    }
    if (problems.length) {
      throw new LocritMemError(`compaction of ${dbPath} failed its verification (${problems.join('; ')}); the database was left as it was`, ExitCode.unavailable, 'report this; meanwhile run without compaction (`archive` without --compact, `emergency-cleanup --no-compact`)');
    }
    options.beforeSwap?.();
    const holder = locksOn(dbPath)[0];
    if (holder) {
      const who = await describeProcess(holder.pid);
      throw new DatabaseUnavailableError(`${dbPath} was opened by pid ${who.pid} during compaction; the compacted copy was not swapped in`, 'in-use', 'stop the Locrit application and rerun', who);
    }
    const beforeBytes = fs.statSync(dbPath).size;
    const rebuiltBytes = fs.statSync(tmpDb).size;
    if (rebuiltBytes >= beforeBytes && source.stripped === 0) {
      // Nothing to give back (the file was already compact): keep the original, make no backup.
      return { beforeBytes, afterBytes: beforeBytes, rebuiltBytes, embeddingsStripped: 0, backup: null, swapped: false, prunedBackups: [], tables: rebuilt.tables, vectorIndexes: rebuilt.checks };
    }
    options.progress?.('compacting: swapping');
    const { dbBackup } = swapIn(dbPath, tmpDb, 'compact', options.backupDir);
    fs.rmSync(exportDir, { recursive: true, force: true });
    const prunedBackups = pruneBackups(dbPath, options.keep, options.backupDir);
    return { beforeBytes, afterBytes: fs.statSync(dbPath).size, rebuiltBytes, embeddingsStripped: source.stripped, backup: dbBackup, swapped: true, prunedBackups, tables: rebuilt.tables, vectorIndexes: rebuilt.checks };
  } catch (error) {
    throw explainBufferPoolError(error, `compacting ${dbPath}`, 'the database was left as it was');
  } finally {
    removeCompactionLeftovers(dbPath);
  }
}
