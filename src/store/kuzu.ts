/**
 * The only module that imports the kuzu package. Everything else talks to Kuzu through
 * KuzuStore, which bounds the buffer pool, refuses files Kuzu would choke on, names the
 * holder of a lock, and closes results, then connections, then the database on every path
 * (closing in another order can crash Kuzu with SIGSEGV).
 */
import type * as KuzuModule from 'kuzu';
import path from 'node:path';
import { asNoSpace, DatabaseUnavailableError, ExitCode, LocritMemError, NoSpaceError, type LockHolder } from '../errors.js';
import { checkHeader } from './header.js';
import { describeProcess, locksOn, writeLockHolder } from './locks.js';

type Kuzu = typeof KuzuModule.default;
export type Row = Record<string, KuzuModule.KuzuValue>;
export type Params = Record<string, KuzuModule.KuzuValue>;

let kuzuModule: Kuzu | undefined;
/** Loaded lazily so that `--help` and `--version` never pay for the native module. */
export async function loadKuzu(): Promise<Kuzu> {
  kuzuModule ??= (await import('kuzu')).default;
  return kuzuModule;
}

/**
 * The address space Kuzu reserves for each open database. Its default is 8 TiB, and a process
 * could then hold only about ten databases before `Mmap ... failed` (fewer on a busy machine):
 * tests, merges and comparisons open several at once. 1 TiB is far beyond any Locrit's file.
 */
const MAX_DATABASE_BYTES = 2 ** 40;

export interface OpenOptions {
  readOnly: boolean;
  bufferPoolMb: number;
  threads?: number;
  /** Create the file when it does not exist (fixtures, rebuilds). Never for existing Locrits. */
  create?: boolean;
  /** Skip the automatic checkpoint (used to leave a WAL behind on purpose in fixtures). */
  autoCheckpoint?: boolean;
  /**
   * The file is a private copy in this run's scratch folder, which no other process opens: the
   * look for a holder is skipped (each read of /proc/locks waits about 10 ms for the kernel).
   */
  privateCopy?: boolean;
}

export class KuzuStore {
  private closed = false;
  /**
   * Prepared statements by query text. Kuzu 0.11 keeps every statement a connection prepares
   * until the connection closes (there is no call to release one), so preparing on every call
   * grows without bound in a long-lived process; reusing one per text bounds it by the number of
   * distinct texts. Reuse is safe: Kuzu binds a prepared statement again at each execute.
   */
  private readonly prepared = new Map<string, KuzuModule.PreparedStatement>();

  private constructor(
    readonly dbPath: string,
    private readonly db: KuzuModule.Database,
    private readonly conn: KuzuModule.Connection,
    readonly readOnly: boolean,
    /** Opened as a private copy that no other process opens or changes (see OpenOptions). */
    readonly privateCopy: boolean,
  ) {}

  static async open(dbPath: string, options: OpenOptions): Promise<KuzuStore> {
    if (!options.create) checkHeader(dbPath);
    if (!options.privateCopy) {
      const holder = await writeLockHolder(dbPath);
      if (holder) throw inUseError(dbPath, holder);
      if (!options.readOnly && locksOn(dbPath).length > 0) {
        const reader = locksOn(dbPath)[0];
        throw inUseError(dbPath, await describeProcess(reader.pid));
      }
    }
    const kuzu = await loadKuzu();
    let db: KuzuModule.Database | undefined;
    let conn: KuzuModule.Connection | undefined;
    try {
      db = new kuzu.Database(
        dbPath,
        options.bufferPoolMb * 1024 * 1024,
        true,
        options.readOnly,
        MAX_DATABASE_BYTES,
        options.autoCheckpoint ?? true,
      );
      await db.init();
      conn = new kuzu.Connection(db, options.threads ?? 1);
      await conn.init();
      return new KuzuStore(dbPath, db, conn, options.readOnly, options.privateCopy ?? false);
    } catch (error) {
      await conn?.close().catch(() => undefined);
      await db?.close().catch(() => undefined);
      throw await translateOpenError(dbPath, error);
    }
  }

  /** Runs one statement and returns all its rows; the result is closed before returning. */
  async query<T = Row>(cypher: string, params?: Params): Promise<T[]> {
    const result = await this.run(cypher, params);
    try {
      return (await result.getAll()) as unknown as T[];
    } finally {
      result.close();
    }
  }

  /** Runs a statement whose result is not needed (DDL, writes). */
  async execute(cypher: string, params?: Params): Promise<void> {
    const result = await this.run(cypher, params);
    result.close();
  }

  /** Calls `onRow` for each row without building an array (the result is still materialised by Kuzu). */
  async each(cypher: string, params: Params | undefined, onRow: (row: Row) => void | Promise<void>): Promise<number> {
    const result = await this.run(cypher, params);
    let count = 0;
    try {
      while (result.hasNext()) {
        const row = await result.getNext();
        if (row === null) break;
        await onRow(row);
        count++;
      }
      return count;
    } finally {
      result.close();
    }
  }

  /** The first column of the first row, or null. */
  async scalar<T = KuzuModule.KuzuValue>(cypher: string, params?: Params): Promise<T | null> {
    const rows = await this.query(cypher, params);
    if (rows.length === 0) return null;
    const first = Object.values(rows[0])[0];
    return (first ?? null) as T | null;
  }

  private async run(cypher: string, params?: Params): Promise<KuzuModule.QueryResult> {
    if (this.closed) throw new Error('KuzuStore used after close');
    let result: KuzuModule.QueryResult | KuzuModule.QueryResult[];
    if (params && Object.keys(params).length > 0) {
      for (const [name, value] of Object.entries(params)) {
        // Kuzu binds a JS Date as DATE, silently dropping the time of day. Refuse it.
        if (value instanceof Date) throw new Error(`query parameter $${name} is a Date: pass the wall-clock text (formatWallClock) and CAST($${name} AS TIMESTAMP)`);
      }
      result = await this.conn.execute(await this.prepare(cypher), params);
    } else {
      result = await this.conn.query(cypher);
    }
    if (Array.isArray(result)) {
      // Several statements: keep the last result, close the others.
      for (const extra of result.slice(0, -1)) extra.close();
      return result[result.length - 1];
    }
    return result;
  }

  private async prepare(cypher: string): Promise<KuzuModule.PreparedStatement> {
    const cached = this.prepared.get(cypher);
    if (cached) return cached;
    const statement = await this.conn.prepare(cypher);
    // A failure is not kept: it may depend on the schema, which a later statement can change.
    if (!statement.isSuccess()) throw new Error(statement.getErrorMessage());
    this.prepared.set(cypher, statement);
    return statement;
  }

  /** How many distinct statements this store has prepared (each is kept until close). */
  get preparedStatements(): number {
    return this.prepared.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.prepared.clear();
    await this.conn.close();
    await this.db.close();
  }
}

/** Opens, runs `work`, and always closes in the safe order. */
export async function withStore<T>(dbPath: string, options: OpenOptions, work: (store: KuzuStore) => Promise<T>): Promise<T> {
  const store = await KuzuStore.open(dbPath, options);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function inUseError(dbPath: string, holder: LockHolder): DatabaseUnavailableError {
  const who = holder.command ? `pid ${holder.pid} (${truncate(holder.command, 80)})` : `pid ${holder.pid}`;
  return new DatabaseUnavailableError(
    `${dbPath} is in use by ${who}`,
    'in-use',
    // Only recover can wait for the holder to let go; other commands are simply run again.
    'stop the Locrit application (or that process) first, then run the command again',
    holder,
  );
}

async function translateOpenError(dbPath: string, error: unknown): Promise<LocritMemError> {
  if (error instanceof LocritMemError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/Could not set lock/i.test(message)) {
    const lock = locksOn(dbPath)[0];
    if (lock) return inUseError(dbPath, await describeProcess(lock.pid));
    return new DatabaseUnavailableError(`${dbPath} is locked by another process`, 'in-use', 'stop the Locrit application first');
  }
  if (/Buffer manager exception|Mmap for size|out of memory|Unable to allocate memory/i.test(message)) {
    // The machine could not give Kuzu the memory (or the address space) it reserves: no sign of damage.
    return new LocritMemError(`${dbPath}: Kuzu could not reserve memory to open it (${firstLine(message)})`, ExitCode.unavailable, 'retry when the machine has more free memory, or lower kuzu.buffer_pool_mb');
  }
  // An open that replays a WAL or checkpoints writes: a full disk then is not damage.
  const space = asNoSpace(error, path.dirname(dbPath), `opening ${dbPath}`);
  if (space instanceof NoSpaceError) return space;
  if (/Reading past the end of the file/i.test(message)) {
    return new DatabaseUnavailableError(`${dbPath} is damaged: it is shorter than its own header says (truncated)`, 'damaged', 'run `locrit-mem recover` to salvage it');
  }
  return new DatabaseUnavailableError(`${dbPath} is damaged: Kuzu cannot open it (${firstLine(message)})`, 'damaged', 'run `locrit-mem recover` to diagnose and salvage it');
}

function firstLine(text: string): string {
  return text.split('\n')[0].slice(0, 300);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
