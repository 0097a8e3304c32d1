/**
 * Merging a reset Locrit back together: the current database and the backups that hold
 * messages found nowhere else become one new database with the Locrit schema and its vector
 * indexes, the current file winning where an id holds different values. Messages a complete
 * archive holds were removed on purpose and stay out. The new file is built beside kuzu.db,
 * checked (every id of every source present, every relationship whose ends exist present, the
 * indexes answer), and swapped in with one rename, the replaced file kept as our backup.
 * Sources are only read (backups in child processes, the current file from a copy), so a kill
 * at any moment leaves the old state or the merged one; leftovers go at the next run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseUnavailableError, ExitCode, LocritMemError, UsageError } from '../errors.js';
import { swapIn } from '../layout/backup.js';
import { databaseOwnership, makeContentFolder } from '../layout/ownership.js';
import { removeExisting, utcStamp } from '../layout/files.js';
import type { WalOwnership } from '../layout/walOwner.js';
import { NODE_TABLES } from '../schema/locrit.js';
import { IdSet, type ReadSettings } from '../store/idSets.js';
import { describeProcess, locksOn } from '../store/locks.js';
import { buildMergedDatabase, type Conflict, type MergeBuild, type MergeInput, type SourceTables } from '../store/mergeQueries.js';
import type { TableCounts } from '../store/salvageQueries.js';
import { listArchives, messageFilesOf } from '../archive/format.js';
import { filesOfLocrit, inTurns, READERS_AT_ONCE, runSourceChild, scanResets, type ResetScan } from './resets.js';

export interface MergeOptions {
  folder: string;
  /** Backups to merge; null: every backup the scan finds holding messages found nowhere else. */
  backups: string[] | null;
  archiveRoot: string | null;
  backupDir: string | null;
  settings: ReadSettings;
  /**
   * A scan made just before (the diagnosis'), reused when the Locrit's files are still exactly
   * the ones it read; otherwise the merge scans again.
   */
  scan?: ResetScan;
  progress?: (phase: string) => void;
  /** Called after the merged copy is verified, just before the swap (the kill test hook). */
  beforeSwap?: () => void;
}

export interface MergeSourceReport {
  path: string;
  role: 'current' | 'backup';
  walUsed: string | null;
  messages: number;
  /** Messages this source added to the merged database (0 for a source the others already cover). */
  messagesAdded: number;
  /** Of this source's messages, those left out because a complete archive holds them. */
  archivedLeftOut: number;
  rowsAdded: TableCounts;
  nulledColumns: string[];
}

export interface MergeReport {
  outcome: 'merged' | 'nothing-to-merge';
  scan: ResetScan;
  sources: MergeSourceReport[];
  messagesBefore: number;
  messagesAfter: number;
  counts: TableCounts;
  conflicts: Conflict[];
  conflictCount: number;
  vectorIndexes: { name: string; table: string; present: boolean; answered: boolean | null }[];
  /** The file that was kuzu.db, kept as our backup (null when nothing was swapped). */
  keptCurrentAs: string | null;
  /** Where a WAL written by another database file was moved (null when there was none). */
  foreignWalMovedTo: string | null;
  durationMs: number;
}

export function mergePaths(dbPath: string): { tmpDb: string; workDir: string } {
  return { tmpDb: `${dbPath}.locrit-mem-merge.tmp`, workDir: `${dbPath}.locrit-mem-merge.work` };
}

/** Removes what an interrupted merge left behind; returns the paths removed. */
export function removeMergeLeftovers(dbPath: string): string[] {
  const { tmpDb, workDir } = mergePaths(dbPath);
  return removeExisting([tmpDb, `${tmpDb}.wal`, workDir]);
}

/**
 * Moves a WAL that another database file wrote away from kuzu.db, so that no open replays it
 * into this file: to `<owner backup>.wal` when its owner is known (Kuzu then reads the pair
 * together, as it was), else to `kuzu.db.wal.locrit-mem-foreign_<UTC stamp>`. Returns the new path.
 */
export function moveForeignWal(dbPath: string, wal: WalOwnership, at = new Date()): string {
  const paired = wal.ownerBackup ? `${wal.ownerBackup}.wal` : null;
  const target = paired && !fs.existsSync(paired) ? paired : path.join(path.dirname(dbPath), `kuzu.db.wal.locrit-mem-foreign_${utcStamp(at)}`);
  fs.renameSync(wal.wal, target);
  return target;
}

async function refuseIfHeld(dbPath: string, when: string): Promise<void> {
  const lock = locksOn(dbPath)[0];
  if (!lock) return;
  const who = await describeProcess(lock.pid);
  throw new DatabaseUnavailableError(`${dbPath} is in use by pid ${who.pid}${who.command ? ` (${who.command.slice(0, 80)})` : ''}${when}`, 'in-use', 'stop the Locrit application first, or rerun with --wait <seconds>', who);
}

function identity(file: string): string {
  const stat = fs.statSync(file);
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

export async function mergeLocrit(dbPath: string, options: MergeOptions): Promise<MergeReport> {
  const started = Date.now();
  removeMergeLeftovers(dbPath);
  await refuseIfHeld(dbPath, '');
  if (!fs.existsSync(dbPath)) throw new DatabaseUnavailableError(`${dbPath} does not exist`, 'missing', 'run `locrit-mem recover` to restore it from a backup');
  options.progress?.('merge: comparing backups');
  const reusable = options.scan && options.scan.dbPath === dbPath && options.scan.filesSeen === filesOfLocrit(dbPath, options.backupDir) ? options.scan : null;
  const scan = reusable ?? (await scanResets(dbPath, { archiveRoot: options.archiveRoot, folder: options.folder, backupDir: options.backupDir, settings: options.settings, checkWalContent: true }));
  const chosen = options.backups ? options.backups.map((b) => path.resolve(b)) : scan.resets.map((r) => r.path);
  for (const backup of chosen) {
    if (!fs.statSync(backup, { throwIfNoEntry: false })?.isFile()) throw new UsageError(`--merge-backup ${backup}: no such file`, 'name a kuzu.db.backup_* or kuzu.db.locrit-mem-* file (see `locrit-mem recover --list`)');
    if (path.resolve(backup) === path.resolve(dbPath)) throw new UsageError(`--merge-backup ${backup} is the database itself`, 'name one of its backups');
  }
  const report: MergeReport = {
    outcome: 'nothing-to-merge', scan, sources: [], messagesBefore: scan.current.messages ?? 0, messagesAfter: scan.current.messages ?? 0,
    counts: {}, conflicts: [], conflictCount: 0, vectorIndexes: [], keptCurrentAs: null, foreignWalMovedTo: null, durationMs: 0,
  };
  if (chosen.length === 0) {
    report.durationMs = Date.now() - started;
    return report;
  }
  const before = identity(dbPath);
  const { tmpDb, workDir } = mergePaths(dbPath);
  // Message content passes through it: closed to others, like the database.
  makeContentFolder(workDir, databaseOwnership(dbPath));
  try {
    // The current file first (it wins), then the backups, newest first.
    const ordered = [...chosen].sort((a, b) => createdAt(scan, b).localeCompare(createdAt(scan, a)));
    const wal = scan.wal;
    const sources: SourceFile[] = [
      // Copied before it is opened: opening kuzu.db itself, even read-only, takes a lock that makes the application's open fail.
      { path: dbPath, wal: wal?.verdict === 'own' ? wal.wal : null, copy: true, role: 'current' },
      ...ordered.map((backup): SourceFile => {
        const pairedWal = wal?.verdict === 'foreign' && wal.ownerBackup === backup ? wal.wal : fs.existsSync(`${backup}.wal`) ? `${backup}.wal` : null;
        return { path: backup, wal: pairedWal, copy: pairedWal !== null, role: 'backup' };
      }),
    ];
    const built = await buildFromSources(tmpDb, workDir, sources, { folder: options.folder, archiveRoot: options.archiveRoot, settings: options.settings, progress: options.progress, dimension: null });
    const build = built.build;
    report.sources = built.sources;
    report.counts = build.counts;
    report.conflicts = build.conflicts;
    report.conflictCount = build.conflictCount;
    report.vectorIndexes = build.vectorIndexes;
    if (build.problems.length) {
      throw new LocritMemError(`the merged database failed its check (${build.problems.join('; ')}); ${dbPath} was left as it was`, ExitCode.unavailable, 'report this; the backups are untouched');
    }
    const addedFromBackups = report.sources.slice(1).reduce((sum, s) => sum + Object.values(s.rowsAdded).reduce((a, b) => a + b, 0), 0);
    report.messagesAfter = build.counts.Message ?? 0;
    report.messagesBefore = built.sources[0].messages;
    if (addedFromBackups === 0) {
      report.messagesAfter = report.messagesBefore;
      return report;
    }
    options.beforeSwap?.();
    await refuseIfHeld(dbPath, ' (opened during the merge); the merged copy was not swapped in');
    if (identity(dbPath) !== before) {
      throw new DatabaseUnavailableError(`${dbPath} changed during the merge; the merged copy was not swapped in`, 'in-use', 'stop the Locrit application and rerun');
    }
    options.progress?.('merge: swapping');
    // A WAL another file wrote must not go with the replaced file either: it would replay into that backup.
    if (wal?.verdict === 'foreign' && fs.existsSync(wal.wal)) report.foreignWalMovedTo = moveForeignWal(dbPath, wal);
    report.keptCurrentAs = swapIn(dbPath, tmpDb, 'merge', options.backupDir).dbBackup;
    report.outcome = 'merged';
    return report;
  } finally {
    removeMergeLeftovers(dbPath);
    report.durationMs = Date.now() - started;
  }
}

export interface SourceFile {
  path: string;
  /** A WAL to read with it (its own, or the one a reset left beside kuzu.db). */
  wal: string | null;
  /** Read from a copy (a file the application may open, or a pair with a WAL). */
  copy: boolean;
  role: 'current' | 'backup';
}

export interface BuildOptions {
  folder: string;
  archiveRoot: string | null;
  settings: ReadSettings;
  progress?: (phase: string) => void;
  /** The embedding dimension; null: the first source's. */
  dimension: number | null;
}

/**
 * Builds at `tmpDb` one database from `sources`, the first winning on conflicting values;
 * messages a complete archive holds are left out of every source but the first. Each source is
 * read in a child process, two at a time. Throws when a source cannot be read; the check's
 * problems are in the result.
 */
export async function buildFromSources(tmpDb: string, workDir: string, sources: SourceFile[], options: BuildOptions): Promise<{ build: MergeBuild; sources: MergeSourceReport[]; dimension: number }> {
  const read = (i: number, dimension: number | null): Promise<SourceTables> => {
    const source = sources[i];
    options.progress?.(i === 0 && source.role === 'current' ? 'merge: reading the current database' : `merge: reading ${path.basename(source.path)}`);
    return source.copy ? exportFromCopy(source.path, source.wal, workDir, i, dimension, options.settings) : exportInPlace(source.path, workDir, i, dimension, options.settings);
  };
  // Read with the dimension asked for, or each with its own; the first source's then decides.
  const exported = await inTurns(sources.length, READERS_AT_ONCE, (i) => read(i, options.dimension));
  const dimension = options.dimension ?? exported[0].dimension ?? 768;
  const inputs: MergeInput[] = [];
  const reports: MergeSourceReport[] = [];
  for (const [i, source] of sources.entries()) {
    // A source of another dimension is read again, its embedding columns cast to (or left NULL in) the merged one.
    const tables = (options.dimension ?? exported[i].dimension ?? 768) === dimension ? exported[i] : await read(i, dimension);
    reports.push(sourceReport(source.path, source.role, source.wal, tables));
    inputs.push({ label: source.path, tables });
  }
  await leaveOutArchived(inputs.slice(1), reports.slice(1), options, workDir);
  options.progress?.('merge: building the merged database');
  const build = await buildMergedDatabase(tmpDb, inputs, options.folder, dimension, options.settings);
  for (const source of reports) {
    source.rowsAdded = build.added[source.path] ?? {};
    source.messagesAdded = source.rowsAdded.Message ?? 0;
  }
  return { build, sources: reports, dimension };
}

function createdAt(scan: ResetScan, backup: string): string {
  const found = scan.backups.find((b) => b.path === backup);
  return found?.createdAt ?? (fs.statSync(backup, { throwIfNoEntry: false })?.mtime.toISOString() ?? '');
}

function sourceReport(file: string, role: 'current' | 'backup', walUsed: string | null, tables: SourceTables): MergeSourceReport {
  return { path: file, role, walUsed, messages: tables.counts.Message ?? 0, messagesAdded: 0, archivedLeftOut: 0, rowsAdded: {}, nulledColumns: tables.nulledColumns };
}

async function exportFromCopy(file: string, wal: string | null, workDir: string, index: number, dimension: number | null, settings: ReadSettings): Promise<SourceTables> {
  // Copied before it is opened: opening kuzu.db itself, even read-only, takes a lock that makes the application's open fail.
  const copy = path.join(workDir, `source-${index}.kuzu`);
  fs.copyFileSync(file, copy);
  if (wal) fs.copyFileSync(wal, `${copy}.wal`);
  try {
    return await exportInPlace(copy, workDir, index, dimension, settings, file);
  } finally {
    fs.rmSync(copy, { force: true });
    fs.rmSync(`${copy}.wal`, { force: true });
  }
}

async function exportInPlace(file: string, workDir: string, index: number, dimension: number | null, settings: ReadSettings, shownAs = file): Promise<SourceTables> {
  const dir = path.join(workDir, `source-${index}`);
  const args = ['tables', file, dir, String(Math.min(settings.bufferPoolMb, 512))];
  if (dimension !== null) args.push(String(dimension));
  const outcome = await runSourceChild<SourceTables>(args, file);
  if ('error' in outcome) {
    throw new DatabaseUnavailableError(`${outcome.error.message.split(file).join(shownAs)}; nothing was merged`, 'damaged', 'leave this backup out (name the others with --merge-backup), or salvage it first');
  }
  return outcome;
}

/** Drops from the backups' Message files the messages a complete archive holds. */
async function leaveOutArchived(inputs: MergeInput[], reports: MergeSourceReport[], options: { archiveRoot: string | null; folder: string; settings: ReadSettings }, workDir: string): Promise<void> {
  if (!options.archiveRoot) return;
  const files: string[] = [];
  for (const archive of listArchives(options.archiveRoot, options.folder).complete) {
    try {
      files.push(...messageFilesOf(archive));
    } catch {
      // An archive whose manifest cannot be read does not count as holding anything.
    }
  }
  if (files.length === 0) return;
  const archived = await IdSet.create(path.join(workDir, 'archived'), options.settings);
  try {
    for (const file of files) await archived.fill(file);
    const columns = NODE_TABLES.find((t) => t.name === 'Message')!.columns.map((c) => c.name);
    for (const [i, input] of inputs.entries()) {
      const held = input.tables.counts.Message ?? 0;
      if (held === 0) continue;
      const file = path.join(input.tables.dir, 'Message.parquet');
      const kept = path.join(input.tables.dir, 'Message.kept.parquet');
      const rows = await archived.filterOut(file, kept, columns);
      fs.renameSync(kept, file);
      input.tables.counts.Message = rows;
      if (rows < held) input.trimmed = [...(input.trimmed ?? []), 'Message'];
      reports[i].archivedLeftOut = held - rows;
    }
  } finally {
    await archived.close();
  }
}
