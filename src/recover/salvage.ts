/**
 * Longer than most files on purpose: one algorithm (batches, the split of a failed batch, the
 * crash budget, the per-table report) whose parts only make sense together.
 *
 * Salvage of a database Kuzu cannot read whole: table by table, in keyset batches on the
 * primary key, each read made by a child process (salvageWorker.ts) so that a native crash on
 * a damaged page loses only that attempt. A batch that fails is split in two until the single
 * unreadable row is found; that row is recorded as lost and the salvage goes on after it.
 * Rows are written to Parquet by Kuzu itself in a work folder; src/store/salvageQueries.ts loads them
 * into a fresh database.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorReport } from '../errors.js';
import { ForkedChild } from '../runner/child.js';
import { NODE_TABLES, REL_TABLES } from '../schema/locrit.js';
import { batchFile, missingFromLocritSchema, schemaDimension, type SalvagedFiles } from '../store/salvageQueries.js';
import type { DatabaseSchema } from '../store/schema.js';
import type { SalvageReply, SalvageRequest } from './salvageProtocol.js';
import type { TestKnobs } from '../testKnobs.js';

const WORKER = fileURLToPath(new URL('./salvageWorker.js', import.meta.url));
/** Rows per batch; a failed batch is halved until the unreadable row is found. */
export const SALVAGE_BATCH = 5000;
/** An attempt that takes longer than this is killed and counted as a crash. */
const ATTEMPT_TIMEOUT_MS = 60_000;
/** Memory a salvage child may use beyond its buffer pool before it is stopped (damaged pages can make Kuzu allocate without bound). */
const SALVAGE_MEMORY_HEADROOM_MB = 2048;
/** Crashes one table may cost before the salvage stops splitting its damaged ranges (~0.5 s each). */
const CRASH_BUDGET = 24;
/** Lost ids listed in the report per table (the count is always exact). */
const LOST_IDS_SHOWN = 20;

/** A failed attempt: `signal` when the child died of a native crash, `reason` from the error otherwise. */
type Attempt<T> = { ok: true; value: T } | { ok: false; crashed: boolean; message: string; signal?: string | null; reason?: string | null };

type Body<R> = R extends unknown ? Omit<R, 'id'> : never;

/** How long an attempt may take, how many crashes a table may cost, whether to log each request (set by tests: src/testKnobs.ts). */
interface SalvageLimits {
  attemptTimeoutMs: number;
  crashBudget: number;
  debug: boolean;
}

/** One child process with the database open; replaced by a fresh one after a crash. */
class SalvageChild {
  private child: ForkedChild<SalvageRequest | { type: 'exit' }, SalvageReply> | null = null;
  private nextId = 1;
  crashes = 0;
  attempts = 0;
  timeouts = 0;
  /** The last failed open, to tell damage from a failure of this tool. */
  openFailure: Attempt<never> | null = null;
  /** Failed attempts to open: a crash while opening is retried once, an error is final. */
  private openFailures = 0;
  /** Why the database could not be opened at all, once that is known. */
  openError: string | null = null;
  schema: DatabaseSchema | null = null;

  constructor(private readonly dbPath: string, private readonly bufferPoolMb: number, readonly limits: SalvageLimits) {}

  async call<T>(request: Body<SalvageRequest>): Promise<Attempt<T>> {
    if (!this.child) {
      const opened = await this.start();
      this.throwIfFatal();
      if (!opened.ok) return opened;
    }
    const attempt = await this.send<T>(request);
    this.throwIfFatal();
    return attempt;
  }

  /** Set when the child failed for a reason of its own, not Kuzu's. */
  fatal: string | null = null;

  private throwIfFatal(): void {
    if (this.fatal) throw new Error(this.fatal);
  }

  private async start(): Promise<Attempt<DatabaseSchema>> {
    if (this.limits.debug) process.stderr.write(`salvage: starting a child for ${this.dbPath}\n`);
    if (this.openError !== null) return { ok: false, crashed: false, message: this.openError };
    this.child = new ForkedChild(WORKER, { stderrTailChars: 2000 });
    const opened = await this.send<DatabaseSchema>({ type: 'open', dbPath: this.dbPath, bufferPoolMb: this.bufferPoolMb });
    if (!opened.ok) {
      // An error on open is final; a crash on open is given one more chance (it can come from
      // the state a damaged page left, not from the open itself).
      this.openFailures++;
      this.openFailure = opened;
      if (!opened.crashed || this.openFailures >= 2) this.openError = opened.message;
      this.stop();
      return opened;
    }
    this.schema = opened.value;
    return opened;
  }

  private async send<T>(request: Body<SalvageRequest>): Promise<Attempt<T>> {
    const child = this.child!;
    const id = this.nextId++;
    this.attempts++;
    if (this.limits.debug) process.stderr.write(`salvage: ${JSON.stringify(request).slice(0, 200)}\n`);
    // Heap damage can also leave Kuzu spinning, deadlocked or allocating without bound instead
    // of crashing: give up on the attempt after a while, or past the buffer pool plus 2 GiB of
    // memory, and kill the child, which then counts as a crash.
    const limits = { timeoutMs: this.limits.attemptTimeoutMs, memoryLimitMb: this.bufferPoolMb + SALVAGE_MEMORY_HEADROOM_MB };
    const answer = await child.ask({ ...request, id } as SalvageRequest, (reply) => (reply.id === id ? reply : undefined), limits);
    if (answer.kind === 'reply') {
      const reply = answer.value;
      return reply.ok ? { ok: true, value: reply.value as T } : { ok: false, crashed: false, message: describe(reply.error), reason: reply.error.reason };
    }
    if (answer.timedOut) this.timeouts++;
    this.crashes++;
    this.child = null;
    const { signal, exitCode } = answer.death;
    const lines = child.stderrLines();
    const detail = lines.at(-1);
    if (!signal) {
      // Not a native crash: the child itself failed (a JS error, a module that cannot load).
      // Counting that as damage would throw rows away, so the whole salvage stops instead.
      this.fatal = `the salvage child exited with code ${exitCode}: ${lines.find((l) => /Error/.test(l)) ?? detail ?? 'no detail'}`;
    }
    return { ok: false, crashed: true, signal, message: `Kuzu ${signal ? `was killed by ${signal}` : `exited with code ${exitCode}`}${detail ? ` (${detail.slice(0, 160)})` : ''}` };
  }

  stop(): void {
    const child = this.child;
    this.child = null;
    // Closing a database after a damaged read can hang too: do not leave the child behind.
    child?.stop({ killAfterMs: 5000 });
  }

  /** Opens the database in a child, giving a crash on open one retry. Returns the schema or null. */
  async open(): Promise<DatabaseSchema | null> {
    while (!this.child && this.openError === null) {
      await this.start();
      this.throwIfFatal();
    }
    return this.schema;
  }
}

function describe(error: ErrorReport): string {
  return error.message.split('\n')[0].slice(0, 300);
}

export interface TableSalvage {
  table: string;
  kind: 'node' | 'rel';
  /** Rows the damaged database said the table holds (null when it could not even count them). */
  expected: number | null;
  /** Rows read back and written to the salvage files. */
  salvaged: number;
  /** Rows the new database holds for this table (filled in after the build). */
  recovered: number;
  /** expected - recovered when expected is known, else the rows known to be lost. */
  lost: number | null;
  /** Node tables: rows that could not be read whole, kept with their unreadable columns set to NULL. */
  partialRows: number;
  partialIds: string[];
  /** The columns set to NULL in those rows, and in how many rows each. */
  nulledColumns: string[];
  nulledByColumn: Record<string, number>;
  /** Node tables: ids whose row could not be read (first few; lostIdCount is exact). */
  lostIds: string[];
  lostIdCount: number;
  /** Relationship tables: relationships read whose endpoints did not both come back. */
  withoutEndpoints: number;
  /** The key after which nothing more could be listed, when the rest of the table is unreadable. */
  unreadableAfter: string | null;
  /** The table could not be read at all. */
  unreadable: boolean;
  crashes: number;
  notes: string[];
}

export interface SalvageResult {
  source: string;
  /** False when Kuzu could not open the file at all. */
  opened: boolean;
  openError: string | null;
  /** Whether the WAL beside the file was used (false: salvaged from the main file alone). */
  usedWal: boolean;
  dimension: number | null;
  /** What the damaged database's schema lacked compared with the Locrit schema. */
  schemaMissing: string[];
  /** Tables the damaged database had that are not part of the Locrit schema (not salvaged). */
  extraTables: string[];
  tables: TableSalvage[];
  files: SalvagedFiles;
  attempts: number;
  crashes: number;
  /** Nothing at all could be read. */
  nothingReadable: boolean;
}

export interface SalvageOptions {
  /** Folder for the Parquet files (created by the caller, removed by the caller). */
  workDir: string;
  bufferPoolMb: number;
  batchSize?: number;
  /** The WAL beside the source: when opening with it fails, the main file is tried alone. */
  walPath?: string | null;
  onProgress?: (text: string) => void;
  /** The run's test knobs (salvage-timeout-ms, salvage-crash-budget, salvage-debug). */
  knobs?: TestKnobs;
}

/** Salvages every Locrit table of `dbPath` into Parquet files under options.workDir. */
export async function salvageDatabase(dbPath: string, options: SalvageOptions): Promise<SalvageResult> {
  const batchSize = options.batchSize ?? SALVAGE_BATCH;
  let usedWal = Boolean(options.walPath && fs.existsSync(options.walPath));
  const limits: SalvageLimits = {
    attemptTimeoutMs: options.knobs?.salvageTimeoutMs || ATTEMPT_TIMEOUT_MS,
    crashBudget: options.knobs?.salvageCrashBudget || CRASH_BUDGET,
    debug: options.knobs?.salvageDebug ?? false,
  };
  let child = new SalvageChild(dbPath, options.bufferPoolMb, limits);
  await child.open();
  if (child.schema === null && usedWal) {
    // The pair cannot be opened: perhaps only the WAL is bad (kuzu#5777). Try the main file alone,
    // through a hard link in the work folder so that the original and its WAL stay untouched.
    const alone = path.join(options.workDir, 'without-wal', 'kuzu.db');
    fs.mkdirSync(path.dirname(alone), { recursive: true });
    try {
      fs.linkSync(dbPath, alone);
    } catch {
      fs.copyFileSync(dbPath, alone);
    }
    const second = new SalvageChild(alone, options.bufferPoolMb, limits);
    await second.open();
    if (second.schema !== null) {
      child = second;
      usedWal = false;
    }
  }
  const files: SalvagedFiles = { nodes: {}, rels: {}, columns: {} };
  const schema = child.schema;
  const failure = child.openFailure;
  if (!schema && failure && !failure.ok && !failure.signal && failure.reason !== 'damaged' && failure.reason !== 'not-kuzu') {
    // Not damage (our own child failed to start, the file is in use, a full buffer pool...):
    // a rebuild from nothing would replace a file that may be fine.
    throw new Error(`the salvage could not start, and that does not show the file is damaged: ${failure.message}`);
  }
  if (!schema) {
    // Nothing can be read: every Locrit table is listed, with what it held unknown.
    const tables = [...NODE_TABLES.map((t) => emptyTable(t.name, 'node')), ...REL_TABLES.map((t) => emptyTable(t.name, 'rel'))];
    for (const table of tables) {
      table.unreadable = true;
      table.notes.push('the file cannot be opened');
    }
    return {
      source: dbPath, opened: false, openError: child.openError, usedWal: false, dimension: null, schemaMissing: [], extraTables: [], tables,
      files, attempts: child.attempts, crashes: child.crashes, nothingReadable: true,
    };
  }
  const dimension = schemaDimension(schema);
  const tables: TableSalvage[] = [];
  try {
    for (const def of NODE_TABLES) {
      const crashesBefore = child.crashes;
      const result = await beginTable(child, def.name, 'node', Boolean(schema.tables[def.name]), tables, options.onProgress);
      if (!result) continue;
      files.nodes[def.name] = [];
      await salvageNodeTable(child, def.name, schema, dimension ?? 1, batchSize, options.workDir, result, files);
      result.crashes = child.crashes - crashesBefore;
    }
    const salvagedNodes = Object.fromEntries(tables.map((t) => [t.table, t.salvaged]));
    for (const def of REL_TABLES) {
      const crashesBefore = child.crashes;
      const present = Boolean(schema.tables[def.name] && schema.tables[def.from] && schema.tables[def.to]);
      const result = await beginTable(child, def.name, 'rel', present, tables, options.onProgress);
      if (!result) continue;
      files.rels[def.name] = [];
      // Page by the endpoint table with more rows, so that a batch of keys holds few relationships.
      const side: 'from' | 'to' = (salvagedNodes[def.to] ?? 0) > (salvagedNodes[def.from] ?? 0) ? 'to' : 'from';
      const keyTable = side === 'from' ? def.from : def.to;
      let lostKeys = 0;
      let batch = 0;
      const budget = { crashesLeft: limits.crashBudget };
      const copyRels = async (after: string | null, keys: string[]): Promise<void> => {
        const file = batchFile(options.workDir, def.name, batch++);
        const copied = await child.call<number>({ type: 'rels', table: def.name, side, after, last: keys[keys.length - 1], file });
        if (copied.ok) {
          files.rels[def.name].push(file);
          result.salvaged += copied.value;
          return;
        }
        fs.rmSync(file, { force: true });
        if (copied.crashed) budget.crashesLeft--;
        if (keys.length === 1 || budget.crashesLeft <= 0) {
          lostKeys += keys.length;
          return;
        }
        const middle = Math.ceil(keys.length / 2);
        await copyRels(after, keys.slice(0, middle));
        await copyRels(keys[middle - 1], keys.slice(middle));
      };
      await walkKeys(child, keyTable, batchSize, result, copyRels);
      if (budget.crashesLeft <= 0) result.notes.push(`stopped splitting after ${limits.crashBudget} crashes (the rest lost)`);
      if (lostKeys) result.notes.push(`relationships of ${lostKeys} ${keyTable} row(s) could not be read`);
      result.crashes = child.crashes - crashesBefore;
    }
  } finally {
    child.stop();
  }
  const known = new Set([...NODE_TABLES, ...REL_TABLES].map((t) => t.name));
  return {
    source: dbPath,
    opened: true,
    openError: null,
    usedWal,
    dimension,
    schemaMissing: missingFromLocritSchema(schema),
    extraTables: Object.keys(schema.tables).filter((name) => !known.has(name)),
    tables,
    files,
    attempts: child.attempts,
    crashes: child.crashes,
    // Nothing read although the database had (or could not say it had) rows.
    nothingReadable: tables.every((t) => t.salvaged === 0) && tables.some((t) => t.expected !== 0),
  };
}

/**
 * Adds a table's report to `tables` with its row count from the damaged file, or, when the
 * table is absent from that file, notes so and returns null (nothing to salvage).
 */
async function beginTable(
  child: SalvageChild, table: string, kind: 'node' | 'rel', present: boolean, tables: TableSalvage[], onProgress?: (text: string) => void,
): Promise<TableSalvage | null> {
  onProgress?.(`salvaging ${table}`);
  const result = emptyTable(table, kind);
  tables.push(result);
  if (!present) {
    result.expected = 0;
    result.notes.push('table absent from the damaged database');
    return null;
  }
  const counted = await child.call<number>({ type: 'count', table, kind: kind === 'node' ? 'NODE' : 'REL' });
  result.expected = counted.ok ? counted.value : null;
  if (!counted.ok) result.notes.push(`could not count rows: ${counted.message}`);
  return result;
}

function emptyTable(table: string, kind: 'node' | 'rel'): TableSalvage {
  return { table, kind, expected: null, salvaged: 0, recovered: 0, lost: null, partialRows: 0, partialIds: [], nulledColumns: [], nulledByColumn: {}, lostIds: [], lostIdCount: 0, withoutEndpoints: 0, unreadableAfter: null, unreadable: false, crashes: 0, notes: [] };
}

/**
 * Walks the primary keys of `keyTable` in batches (keyset pagination: `id > after ORDER BY id
 * LIMIT n`) and hands each batch to `onBatch`. When the keys themselves cannot be listed, the
 * listing batch is halved; if a single key cannot be listed, the rest of the table is unreadable.
 */
async function walkKeys(
  child: SalvageChild,
  keyTable: string,
  batchSize: number,
  result: TableSalvage,
  onBatch: (after: string | null, keys: string[]) => Promise<void>,
): Promise<void> {
  let after: string | null = null;
  let limit = batchSize;
  for (;;) {
    const listed: Attempt<string[]> = await child.call<string[]>({ type: 'ids', table: keyTable, after, limit });
    if (!listed.ok) {
      if (limit > 1) {
        limit = Math.ceil(limit / 2);
        continue;
      }
      result.unreadableAfter = after ?? '';
      if (after === null) result.unreadable = true;
      result.notes.push(`${keyTable} keys cannot be listed ${after === null ? 'at all' : `after '${after}'`}: ${listed.message}`);
      return;
    }
    const keys: string[] = listed.value;
    if (keys.length === 0) return;
    await onBatch(after, keys);
    after = keys[keys.length - 1];
    if (keys.length < limit) return;
    limit = Math.min(batchSize, limit * 2);
  }
}

/**
 * One node table. A batch that fails is first diagnosed by column (id + one column at a time):
 * the rows are then kept with the columns that read, and each failing column is salvaged
 * separately by halving its key range, so one damaged column page costs a few crashes instead
 * of one per row. Rows whose every column fails are split down to single ids and given up.
 */
async function salvageNodeTable(
  child: SalvageChild, table: string, schema: DatabaseSchema, dimension: number, batchSize: number, workDir: string, result: TableSalvage, files: SalvagedFiles,
): Promise<void> {
  const def = NODE_TABLES.find((t) => t.name === table)!;
  const columns = (schema.tables[table]?.columns ?? []).map((c) => c.name).filter((c) => c !== 'id' && def.columns.some((d) => d.name === c));
  const knownBad = new Set<string>();
  const partial = new Map<string, Set<string>>(); // id -> columns left NULL
  const budget = { crashesLeft: child.limits.crashBudget };
  let batch = 0;
  files.columns[table] ??= [];
  const read = async (after: string | null, keys: string[], only: string[] | null, keep: boolean): Promise<Attempt<number>> => {
    const file = batchFile(workDir, keep ? table : `${table}.probe`, batch++);
    const copied = await child.call<number>({ type: 'nodes', table, dimension, after, last: keys[keys.length - 1], file, only });
    if (!copied.ok && copied.crashed) budget.crashesLeft--;
    if (copied.ok && keep) return copied;
    fs.rmSync(file, { force: true });
    return copied;
  };
  const keepFile = (): string => batchFile(workDir, table, batch - 1);
  const salvageColumn = async (after: string | null, keys: string[], column: string): Promise<void> => {
    const attempt = await read(after, keys, ['id', column], true);
    if (attempt.ok) {
      files.columns[table].push({ column, file: keepFile() });
      return;
    }
    if (keys.length === 1 || budget.crashesLeft <= 0) {
      for (const key of keys) partial.set(key, new Set([...(partial.get(key) ?? []), column]));
      return;
    }
    const middle = Math.ceil(keys.length / 2);
    await salvageColumn(after, keys.slice(0, middle), column);
    await salvageColumn(keys[middle - 1], keys.slice(middle), column);
  };
  const copyRange = async (after: string | null, keys: string[]): Promise<void> => {
    const whole = await read(after, keys, null, true);
    if (whole.ok) {
      files.nodes[table].push(keepFile());
      result.salvaged += whole.value;
      return;
    }
    if (budget.crashesLeft > 0) {
      for (const column of columns) {
        if (knownBad.has(column)) continue;
        const probe = await read(after, keys, ['id', column], false);
        if (!probe.ok) knownBad.add(column);
      }
    }
    if (knownBad.size > 0 && knownBad.size < columns.length + 1) {
      const reduced = await read(after, keys, ['id', ...columns.filter((c) => !knownBad.has(c))], true);
      if (reduced.ok) {
        files.nodes[table].push(keepFile());
        result.salvaged += reduced.value;
        for (const column of knownBad) await salvageColumn(after, keys, column);
        return;
      }
    }
    if (keys.length === 1 || budget.crashesLeft <= 0) {
      result.lostIdCount += keys.length;
      for (const key of keys) if (result.lostIds.length < LOST_IDS_SHOWN) result.lostIds.push(key);
      return;
    }
    const middle = Math.ceil(keys.length / 2);
    await copyRange(after, keys.slice(0, middle));
    await copyRange(keys[middle - 1], keys.slice(middle));
  };
  await walkKeys(child, table, batchSize, result, copyRange);
  result.partialRows = partial.size;
  result.partialIds = [...partial.keys()].slice(0, LOST_IDS_SHOWN);
  const nulled = new Map<string, number>();
  for (const set of partial.values()) for (const column of set) nulled.set(column, (nulled.get(column) ?? 0) + 1);
  result.nulledColumns = [...nulled.keys()].sort();
  result.nulledByColumn = Object.fromEntries([...nulled.entries()].sort());
  if (budget.crashesLeft <= 0) {
    result.notes.push(`stopped splitting after ${child.limits.crashBudget} crashes (the rest ${result.lostIdCount ? 'lost or ' : ''}left NULL)`);
  }
}
