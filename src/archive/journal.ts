/**
 * The run journal: what makes archive + delete crash-safe. A small JSON file beside the
 * database, `kuzu.db.locrit-mem-journal.json`, exists from "the archive is complete" until the
 * run has ended (the archived messages deleted and the file compacted). The next run reads it:
 *  - the archive it names is complete and verifies: the run is FINISHED (the archived ids still
 *    in the database are deleted, in one transaction; deleting is idempotent), never archived again;
 *  - the archive is not complete (killed before the rename): the run is ROLLED BACK (the
 *    `.partial` folder is removed; nothing had been deleted).
 * Written through a temporary file, fsync and rename, so it is either whole or absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../layout/atomicFile.js';
import { DataSafetyError } from '../errors.js';

export interface RunJournal {
  runId: string;
  command: string;
  pid: number;
  startedAt: string;
  /** The final archive folder (complete once it exists with manifest.json), or null for --no-archive / strip only. */
  archive: string | null;
  /** The `.partial` folder the archive is built in. */
  partial: string | null;
  /** Messages the archive holds and their id digest (see src/archive/format.ts). */
  messages: number;
  idDigest: string | null;
}

export function journalPath(dbPath: string): string {
  return `${dbPath}.locrit-mem-journal.json`;
}

export function writeJournal(dbPath: string, journal: RunJournal): void {
  const file = journalPath(dbPath);
  writeFileAtomic(file, `${JSON.stringify(journal, null, 2)}\n`, `${file}.tmp`);
  syncDir(path.dirname(file));
}

export function readJournal(dbPath: string): RunJournal | null {
  fs.rmSync(`${journalPath(dbPath)}.tmp`, { force: true }); // a half-written journal was never in force
  try {
    return JSON.parse(fs.readFileSync(journalPath(dbPath), 'utf8')) as RunJournal;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DataSafetyError(`${journalPath(dbPath)} cannot be read: ${(error as Error).message}`, `inspect it: it says which archive an interrupted run was writing; remove it only once that archive's messages are all in the database or in a complete archive`);
  }
}

export function removeJournal(dbPath: string): void {
  fs.rmSync(journalPath(dbPath), { force: true });
  syncDir(path.dirname(dbPath));
}

/** Makes a rename or removal in `dir` durable. */
export function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems do not allow fsync on a directory; the rename is still atomic.
  }
}
