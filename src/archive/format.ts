/**
 * Longer than most files on purpose: the whole on-disk contract of an archive (layout,
 * manifest, chunking, verification) in one place, next to its documentation.
 *
 * The archive format: where archived messages go, what the files hold, and how to check
 * that an archive is complete. Written by `archive`, `emergency-cleanup` (and `validate --fix`
 * quarantine); read by `recover --from-archive` and `recover --list`. No Kuzu here: reading
 * Parquet needs Kuzu, so verifyArchive takes a ParquetReader (src/store/archiveIo.ts has the
 * Kuzu one, and `verifyArchiveWithKuzu(folder)` there does the whole check in one call).
 *
 * Format version 2 (version 1 was never released; readers refuse any version but 2).
 *
 * Layout (one folder per run and Locrit):
 *
 *   <archive.dir>/<locrit folder>/<UTC stamp>/          e.g. data/archive/bob/20261101T120000123Z/
 *     manifest.json          ArchiveManifest (below), written last; its `files` list is the source of truth
 *     messages-NNNNN.parquet every column of the archived Messages of chunk NNNNN, plain column names
 *                            (id, role, content, timestamp, session_id, metadata, content_embedding,
 *                            i.e. whatever columns the source Message table has; types in manifest)
 *     part_of-NNNNN.parquet  PART_OF rows of chunk NNNNN's messages:        from_id (Message), to_id (Session), position
 *     sent-NNNNN.parquet     SENT rows of chunk NNNNN's messages:           from_id (User), to_id (Message), weight
 *     responds_to-NNNNN.parquet  RESPONDS_TO rows with an archived message at EITHER end, once each:
 *                            in the chunk of from_id when that message is archived, else in the chunk of to_id;
 *                            from_id (Message), to_id (Message), delay_seconds
 *     mentions-NNNNN.parquet MENTIONS rows of chunk NNNNN's messages:       from_id (Message), to_id (Concept), confidence
 *
 * Chunks (what bounds memory): the archived messages, sorted by id, are cut into consecutive id
 * ranges of at most `chunking.maxMessagesPerChunk` messages (config `archive.batch_messages`),
 * numbered from 1 (NNNNN = 00001, 00002, ...), so that writing, checking, restoring or deleting
 * never holds more than one chunk's rows. Every chunk has one messages file and one file per
 * relationship table (possibly with 0 rows). An archive of ONE chunk names its files without
 * the suffix: messages.parquet, part_of.parquet, sent.parquet, responds_to.parquet,
 * mentions.parquet. Each manifest entry says its table and chunk; readers go by the manifest,
 * never by file names.
 *
 * Each messages file is sorted by id and chunk k's ids all sort before chunk k+1's, so the
 * messages files read in chunk order give every archived id once, in increasing order (the
 * verifier checks it). Relationship files are sorted by (from_id, to_id).
 * A relationship table's files are present when the source database has that table;
 * any other relationship table with Message at one end goes to `<table name lower-cased>[-NNNNN].parquet`.
 * Relationship columns are `from_id`, `to_id`, then the relationship's own properties, named as in Kuzu.
 * TIMESTAMP columns hold the application's local wall-clock time, as stored in Kuzu.
 *
 * Writing protocol (what makes a folder trustworthy): files are written into a temporary
 * sibling folder `<locrit folder>/.<UTC stamp>.partial/`, read back and checked, manifest.json
 * is written there last, then the folder is renamed to `<UTC stamp>/`. So a folder whose name
 * is a plain stamp and that holds manifest.json is complete; a `.partial` folder is an
 * interrupted run and is removed by the next run. The messages of a complete archive were
 * removed from the database only after the archive was complete (see src/archive/journal.ts).
 *
 * The id digest: sha256 over the archived message ids (of all chunks together) sorted by code
 * unit order (JS `<`, which is also Kuzu's STRING order for the ASCII ids the application
 * writes), each followed by "\n". It identifies the archived set without listing it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../layout/atomicFile.js';
import { contentFileMode, databaseOwnership, makeContentFolder } from '../layout/ownership.js';
import { ExitCode, LocritMemError } from '../errors.js';

export const ARCHIVE_FORMAT = 'locrit-mem-archive';
export const ARCHIVE_FORMAT_VERSION = 2;
export const MANIFEST_FILE = 'manifest.json';
/** The messages file of a one-chunk archive (several chunks: messages-00001.parquet, ...). */
export const MESSAGES_FILE = 'messages.parquet';
/** Default of `archive.batch_messages`: messages per chunk. */
export const DEFAULT_BATCH_MESSAGES = 12_500;

/** File name of `base` (messages, part_of, ...) for chunk `chunk` (1-based) of `chunks`. */
export function chunkFileName(base: string, chunk: number, chunks: number): string {
  return chunks === 1 ? `${base}.parquet` : `${base}-${String(chunk).padStart(5, '0')}.parquet`;
}

/** Relationship tables that touch Message, and the file each is archived to in a one-chunk archive. */
export const RELATIONSHIP_FILES = {
  PART_OF: 'part_of.parquet',
  SENT: 'sent.parquet',
  RESPONDS_TO: 'responds_to.parquet',
  MENTIONS: 'mentions.parquet',
} as const;
export type ArchivedRelationship = keyof typeof RELATIONSHIP_FILES;

/** Why messages were archived. Stable strings: they appear in manifests and JSON output. */
export type ArchiveRule =
  | 'age' // archive: older than archive_after_days, beyond the keep_count most recent
  | 'conversation-size' // archive: beyond the max_messages_per_conversation most recent of a session
  | 'emergency-count' // emergency-cleanup: the oldest fraction when over max_messages_per_locrit
  | 'emergency-size' // emergency-cleanup: age rule with emergency_days_old / emergency_keep_count when over max_db_size_mb
  | 'quarantine'; // validate --fix: invalid messages
export type ArchiveReason = 'archive' | 'emergency-cleanup' | 'validate-fix';

export interface ArchiveColumn {
  name: string;
  /** Kuzu type of the source column, e.g. STRING, TIMESTAMP, FLOAT[768]. */
  type: string;
}

export interface ArchiveFileEntry {
  /** File name inside the archive folder. */
  name: string;
  /** 'Message' or the relationship table name (PART_OF, SENT, RESPONDS_TO, MENTIONS, or any other table touching Message). */
  table: string;
  /** The chunk (1-based) the rows belong to: see "Chunks" above. */
  chunk: number;
  rows: number;
  bytes: number;
  sha256: string;
  columns: ArchiveColumn[];
}

export interface ArchiveRuleEntry {
  rule: ArchiveRule;
  /** The thresholds the rule ran with (e.g. days, keepCount, cutoff, fraction, maxPerConversation). */
  parameters: Record<string, string | number | boolean | null>;
  /** Messages this rule selected (a message selected by two rules counts in both; counts.messages is the union). */
  messages: number;
}

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  formatVersion: number;
  tool: { name: string; version: string };
  /** When the archive was completed (ISO 8601, UTC). */
  createdAt: string;
  /** Identifies the run; the run journal refers to it. */
  runId: string;
  reason: ArchiveReason;
  locrit: string;
  /** Absolute path of the kuzu.db the messages came from. */
  sourceDb: string;
  rules: ArchiveRuleEntry[];
  counts: {
    messages: number;
    messagesWithEmbedding: number;
    /** Rows per relationship table archived (keys as in Kuzu: PART_OF, SENT, RESPONDS_TO, MENTIONS). */
    relationships: Record<string, number>;
  };
  /** Stored (local wall-clock) timestamps of the oldest and newest archived message, "YYYY-MM-DD HH:MM:SS.ffffff". */
  timeRange: { oldest: string | null; newest: string | null };
  /** Embedding dimension of Message.content_embedding in the source, or null. */
  embeddingDimension: number | null;
  /** How the messages were cut into consecutive id ranges (see "Chunks" above). */
  chunking: { maxMessagesPerChunk: number; chunks: number };
  /** Every file of the archive: per chunk, one Message file and one file per relationship table. */
  files: ArchiveFileEntry[];
  idDigest: { algorithm: 'sha256'; of: 'sorted message ids, each followed by \\n'; count: number; value: string };
}

/** An archive that cannot be trusted or read. Exit 3, like a database that cannot be used. */
export class ArchiveError extends LocritMemError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.unavailable, hint);
  }
}

// ---------------------------------------------------------------- layout

/** `<archive root>/<locrit>`: every archive of one Locrit. */
export function locritArchiveDir(archiveRoot: string, locrit: string): string {
  return path.join(archiveRoot, locrit);
}

/** Folder name of a complete archive: the UTC stamp of the run, e.g. 20261101T120000123Z. */
export const ARCHIVE_FOLDER_PATTERN = /^\d{8}T\d{6}\d{3}Z(?:-\d+)?$/;
/** Temporary folder of a run in progress or interrupted: `.<stamp>.partial`. */
export const PARTIAL_FOLDER_PATTERN = /^\.(\d{8}T\d{6}\d{3}Z(?:-\d+)?)\.partial$/;

export function partialFolderName(stamp: string): string {
  return `.${stamp}.partial`;
}

export interface ArchiveListing {
  /** Complete archives (name matches, manifest.json present), oldest first. */
  complete: string[];
  /** `.partial` folders left by interrupted runs. */
  partial: string[];
}

/** The archive folders of one Locrit. Only names and the presence of manifest.json are checked. */
export function listArchives(archiveRoot: string, locrit: string): ArchiveListing {
  const dir = locritArchiveDir(archiveRoot, locrit);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return { complete: [], partial: [] };
  }
  const complete: string[] = [];
  const partial: string[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    if (PARTIAL_FOLDER_PATTERN.test(name)) partial.push(full);
    else if (ARCHIVE_FOLDER_PATTERN.test(name) && fs.existsSync(path.join(full, MANIFEST_FILE))) complete.push(full);
  }
  return { complete, partial };
}

// ---------------------------------------------------------------- id digest

/** Incremental id digest: feed ids in sorted order (checked), read `value` at the end. Memory stays flat. */
export class IdDigest {
  private readonly hash = crypto.createHash('sha256');
  /** The last id fed, or null. */
  last: string | null = null;
  count = 0;

  add(id: string): void {
    if (this.last !== null && !(this.last < id)) {
      throw new Error(`ids must be fed in strictly increasing order: '${this.last}' then '${id}'`);
    }
    this.last = id;
    this.hash.update(`${id}\n`);
    this.count++;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** The digest of a set of ids held in memory (small sets, tests). */
export function idDigestOf(ids: Iterable<string>): string {
  const digest = new IdDigest();
  for (const id of [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) digest.add(id);
  return digest.digest();
}

export function sha256OfFile(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.alloc(1 << 20);
  try {
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

// ---------------------------------------------------------------- reading and checking

/**
 * Reads and checks the shape of a manifest. `location` is an archive folder or its manifest.json.
 * Throws ArchiveError (exit 3) naming the file when it is missing, not JSON, or not an archive manifest.
 */
export function readManifest(location: string): { folder: string; manifest: ArchiveManifest } {
  const file = path.basename(location) === MANIFEST_FILE ? location : path.join(location, MANIFEST_FILE);
  const folder = path.dirname(file);
  let text: string;
  try {
    // A FIFO would block the read forever.
    if (!fs.statSync(file).isFile()) throw new ArchiveError(`${file} is not a regular file`, 'pass an archive folder written by `locrit-mem archive`');
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof ArchiveError) throw error;
    throw new ArchiveError(`${file} does not exist: ${folder} is not a complete archive`, 'pass an archive folder that holds manifest.json (see `locrit-mem recover --list`)');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ArchiveError(`${file} is not valid JSON`, 'the archive is damaged; use another archive');
  }
  const m = value as Partial<ArchiveManifest>;
  if (m?.format !== ARCHIVE_FORMAT) throw new ArchiveError(`${file} is not a locrit-mem archive manifest`, 'pass a folder written by `locrit-mem archive`');
  if (m.formatVersion !== ARCHIVE_FORMAT_VERSION) {
    const newer = typeof m.formatVersion === 'number' && m.formatVersion > ARCHIVE_FORMAT_VERSION;
    throw new ArchiveError(
      `${file} has archive format version ${String(m.formatVersion)}; this locrit-mem reads version ${ARCHIVE_FORMAT_VERSION} only`,
      newer ? 'use a newer locrit-mem' : 'it was written by an unreleased development build of locrit-mem; read it with that build',
    );
  }
  const damaged = 'the archive is damaged; use another archive';
  if (!Array.isArray(m.files) || !m.counts || !m.idDigest || typeof m.idDigest.value !== 'string') {
    throw new ArchiveError(`${file} lacks files, counts or idDigest`, damaged);
  }
  const chunks = m.chunking?.chunks;
  if (!Number.isInteger(chunks) || (chunks as number) < 1 || !Number.isInteger(m.chunking?.maxMessagesPerChunk)) {
    throw new ArchiveError(`${file} lacks a valid chunking (chunks and maxMessagesPerChunk)`, damaged);
  }
  const seen = new Set<string>();
  let lastMessageChunk = 0;
  for (const entry of m.files) {
    if (typeof entry?.name !== 'string' || entry.name.includes('/') || entry.name.includes('\\') || entry.name.startsWith('.')) {
      throw new ArchiveError(`${file} names an invalid file ${JSON.stringify(entry?.name)}`, damaged);
    }
    if (!Number.isInteger(entry.chunk) || entry.chunk < 1 || entry.chunk > (chunks as number) || typeof entry.table !== 'string') {
      throw new ArchiveError(`${file}: ${entry.name} has no valid table and chunk (1 to ${String(chunks)})`, damaged);
    }
    const key = `${entry.table}\u0000${entry.chunk}`;
    if (seen.has(key) || seen.has(`file\u0000${entry.name}`)) throw new ArchiveError(`${file} lists ${entry.table} chunk ${entry.chunk} or file ${entry.name} twice`, damaged);
    seen.add(key);
    seen.add(`file\u0000${entry.name}`);
    if (entry.table === 'Message') {
      if (entry.chunk !== lastMessageChunk + 1) throw new ArchiveError(`${file}: the Message files are not listed in chunk order 1, 2, ... (${entry.name} is chunk ${entry.chunk})`, damaged);
      lastMessageChunk = entry.chunk;
    }
  }
  if (lastMessageChunk !== chunks) throw new ArchiveError(`${file} lists ${lastMessageChunk} Message file(s) for ${String(chunks)} chunk(s)`, damaged);
  return { folder, manifest: m as ArchiveManifest };
}

/** The Message entries of a manifest, in chunk order (= id order). */
export function messageEntries(manifest: ArchiveManifest): ArchiveFileEntry[] {
  return manifest.files.filter((f) => f.table === 'Message').sort((a, b) => a.chunk - b.chunk);
}

/** Absolute paths of the messages files of an archive folder, in chunk order. Throws ArchiveError for a bad manifest. */
export function messageFilesOf(location: string): string[] {
  const { folder, manifest } = readManifest(location);
  return messageEntries(manifest).map((f) => path.join(folder, f.name));
}

/** Reads Parquet files for verifyArchive; src/store/archiveIo.ts implements it with Kuzu. */
export interface ParquetReader {
  /** Rows of a file; reading `columns` too, so that a damaged page in any column shows up. */
  rowCount(file: string, columns?: string[]): Promise<number>;
  /** Calls onId for every `id` of a messages file, sorted ascending (code unit order). */
  sortedIds(file: string, onId: (id: string) => void): Promise<void>;
}

export interface ArchiveCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ArchiveVerification {
  folder: string;
  ok: boolean;
  manifest: ArchiveManifest | null;
  /** Every check made, failed ones with what was expected and found. */
  checks: ArchiveCheck[];
  /** Whether Parquet contents (row counts, id digest) were read, not only hashed. */
  contentsChecked: boolean;
}

/**
 * Checks an archive: manifest shape, every listed file present with its size and sha256, no
 * listed file missing; with a reader, also each file's row count and the id digest of
 * messages.parquet. Never throws for a bad archive: `ok` is false and `checks` say why.
 */
export async function verifyArchive(location: string, reader?: ParquetReader): Promise<ArchiveVerification> {
  const checks: ArchiveCheck[] = [];
  let folder = path.basename(location) === MANIFEST_FILE ? path.dirname(location) : location;
  let manifest: ArchiveManifest;
  try {
    ({ folder, manifest } = readManifest(location));
  } catch (error) {
    checks.push({ name: MANIFEST_FILE, ok: false, detail: (error as Error).message });
    return { folder, ok: false, manifest: null, checks, contentsChecked: false };
  }
  const messageFiles = messageEntries(manifest);
  if (messageFiles.length === 0) checks.push({ name: MESSAGES_FILE, ok: false, detail: 'the manifest lists no messages file' });
  // Counts the manifest states must add up over the chunk files (no Parquet read needed).
  const messageRows = messageFiles.reduce((sum, f) => sum + f.rows, 0);
  if (messageRows !== manifest.counts.messages) {
    checks.push({ name: 'message count', ok: false, detail: `the messages files list ${messageRows} rows, manifest counts ${manifest.counts.messages}` });
  }
  const relRows: Record<string, number> = {};
  for (const f of manifest.files) if (f.table !== 'Message') relRows[f.table] = (relRows[f.table] ?? 0) + f.rows;
  for (const table of new Set([...Object.keys(relRows), ...Object.keys(manifest.counts.relationships ?? {})])) {
    const listed = relRows[table] ?? 0;
    const counted = manifest.counts.relationships?.[table] ?? 0;
    if (listed !== counted) checks.push({ name: `${table} count`, ok: false, detail: `the ${table} files list ${listed} rows, manifest counts ${counted}` });
  }
  for (const entry of manifest.files) {
    const file = path.join(folder, entry.name);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat) {
      checks.push({ name: entry.name, ok: false, detail: 'missing' });
      continue;
    }
    if (stat.size !== entry.bytes) {
      checks.push({ name: entry.name, ok: false, detail: `size ${stat.size} bytes, manifest says ${entry.bytes}` });
      continue;
    }
    const sha = sha256OfFile(file);
    checks.push({ name: entry.name, ok: sha === entry.sha256, detail: sha === entry.sha256 ? 'sha256 matches' : `sha256 ${sha}, manifest says ${entry.sha256}` });
    if (!reader || sha !== entry.sha256) continue;
    try {
      const rows = await reader.rowCount(file, entry.columns.map((c) => c.name));
      checks.push({ name: `${entry.name} rows`, ok: rows === entry.rows, detail: `${rows} rows, manifest says ${entry.rows}` });
    } catch (error) {
      checks.push({ name: `${entry.name} rows`, ok: false, detail: `cannot be read: ${(error as Error).message}` });
    }
  }
  if (reader && messageFiles.length > 0 && checks.every((c) => c.ok)) {
    // One digest over all the messages files in chunk order: each file's ids come sorted, and
    // IdDigest refuses an id that does not follow the previous one, so this also proves that
    // chunk k's ids all sort before chunk k+1's (consecutive, disjoint id ranges).
    const digest = new IdDigest();
    let failed = false;
    for (const [i, entry] of messageFiles.entries()) {
      let first = true;
      try {
        await reader.sortedIds(path.join(folder, entry.name), (id) => {
          if (first && digest.last !== null && !(digest.last < id)) {
            throw new Error(`its first id '${id}' does not follow the last id '${digest.last}' of ${messageFiles[i - 1].name}: chunks must be consecutive id ranges`);
          }
          first = false;
          digest.add(id);
        });
      } catch (error) {
        checks.push({ name: 'id digest', ok: false, detail: `${entry.name}: ${(error as Error).message}` });
        failed = true;
        break;
      }
    }
    if (!failed) {
      const value = digest.digest();
      const ok = value === manifest.idDigest.value && digest.count === manifest.idDigest.count;
      checks.push({ name: 'id digest', ok, detail: ok ? `${digest.count} ids match` : `${digest.count} ids with digest ${value}, manifest says ${manifest.idDigest.count} with ${manifest.idDigest.value}` });
      const countOk = digest.count === manifest.counts.messages;
      if (!countOk) checks.push({ name: 'message count', ok: false, detail: `${digest.count} ids, manifest counts ${manifest.counts.messages}` });
    }
  }
  return { folder, ok: checks.every((c) => c.ok), manifest, checks, contentsChecked: Boolean(reader) };
}

/**
 * Writes manifest.json through a temporary name and a rename, then flushes it. It is as closed
 * as the archive folder it describes (owner and group of the folder, no more access than it gives).
 */
export function writeManifest(folder: string, manifest: ArchiveManifest): void {
  const file = path.join(folder, MANIFEST_FILE);
  const stat = fs.statSync(folder);
  const like = { from: folder, uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o666 };
  writeFileAtomic(file, `${JSON.stringify(manifest, null, 2)}\n`, `${file}.tmp`, { ...like, mode: contentFileMode(like) });
}

/**
 * Creates `<archive root>/<locrit>` for the archives of the database at `dbPath`. The root is an
 * ordinary folder (it may be shared); the Locrit's folder, when created here, gets the database's
 * owner and gives others no access when the database gives none.
 */
export function makeLocritArchiveDir(archiveRoot: string, locrit: string, dbPath: string): string {
  fs.mkdirSync(archiveRoot, { recursive: true });
  const dir = locritArchiveDir(archiveRoot, locrit);
  makeContentFolder(dir, databaseOwnership(dbPath));
  return dir;
}
