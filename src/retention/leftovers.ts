/**
 * What an interrupted run leaves behind: a compaction's temporary copy and export folder, the
 * journal of an archive run that did not end, a partial archive folder, a run lock whose process
 * is gone, a recover work folder. `stats`, `validate` and `recover --dry-run` report them with
 * their size and the command that clears them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listArchives } from '../archive/format.js';
import { journalPath } from '../archive/journal.js';
import { runLockPath } from '../layout/runLock.js';
import { compactionPaths } from '../store/compact.js';
import { processAlive } from '../layout/processes.js';
import { WORK_FOLDER_PATTERN } from '../layout/scratch.js';

export interface Leftover {
  /** compaction: a rebuild's temporary files; journal: an archive run that did not end; partial-archive: an archive folder
   *  never completed; stale-lock: a run lock whose process is gone; recover-work: a recover run's work folder. */
  kind: 'compaction' | 'journal' | 'partial-archive' | 'stale-lock' | 'recover-work';
  path: string;
  bytes: number;
  /** The command that clears it (an `archive` run finishes or rolls back what an archive run left). */
  clearedBy: string;
}

function treeBytes(p: string): number {
  const stat = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  let sum = 0;
  for (const name of fs.readdirSync(p)) sum += treeBytes(path.join(p, name));
  return sum;
}

/** A lock file is stale when its process is gone (a live one belongs to a run in progress: not a leftover). */
function staleLock(file: string): boolean {
  try {
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: number };
    return !(typeof holder.pid === 'number' && processAlive(holder.pid));
  } catch {
    return fs.existsSync(file); // half-written by a run killed at that moment
  }
}

const quote = (word: string): string => (/^[\w@%+=:,./-]+$/u.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

export function findLeftovers(dbPath: string, locrit: string, archiveRoot: string): Leftover[] {
  const archiveRun = `locrit-mem archive ${quote(locrit)}`;
  const out: Leftover[] = [];
  const add = (kind: Leftover['kind'], file: string, clearedBy: string): void => {
    if (fs.existsSync(file)) out.push({ kind, path: file, bytes: treeBytes(file), clearedBy });
  };
  const lock = runLockPath(dbPath);
  // A run in progress holds its lock: its files are not leftovers yet.
  if (fs.existsSync(lock) && !staleLock(lock)) return out;
  const { tmpDb, exportDir } = compactionPaths(dbPath);
  for (const file of [tmpDb, `${tmpDb}.wal`, exportDir]) add('compaction', file, archiveRun);
  add('journal', journalPath(dbPath), archiveRun);
  for (const folder of listArchives(archiveRoot, locrit).partial) add('partial-archive', folder, archiveRun);
  add('stale-lock', lock, archiveRun);
  const dir = path.dirname(dbPath);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    names = [];
  }
  for (const name of names.sort()) {
    // Removed by the next run that takes the Locrit's run lock (any changing command).
    if (WORK_FOLDER_PATTERN.test(name)) add('recover-work', path.join(dir, name), `locrit-mem recover ${quote(locrit)}`);
  }
  return out;
}
