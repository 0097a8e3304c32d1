/**
 * What earlier deletes left for a compaction to give back. Kuzu reuses freed pages and never
 * returns them, so a run that deletes without compacting (no --compact, or stopped before its
 * compaction ended) notes it in `kuzu.db.locrit-mem-compact-owed.json`; a later `--compact`
 * run then rebuilds the file even with nothing new to archive, and removes the note.
 */
import fs from 'node:fs';
import path from 'node:path';
import { asNoSpace } from '../errors.js';
import { writeFileAtomic } from '../layout/atomicFile.js';

export interface CompactionOwed {
  /** Estimated bytes a compaction gives back (data of the rows deleted since the last compaction). */
  bytes: number;
  /** When the first of those deletes happened. */
  since: string;
}

export function compactionOwedPath(dbPath: string): string {
  return `${dbPath}.locrit-mem-compact-owed.json`;
}

export function readCompactionOwed(dbPath: string): CompactionOwed | null {
  try {
    const owed = JSON.parse(fs.readFileSync(compactionOwedPath(dbPath), 'utf8')) as CompactionOwed;
    return typeof owed.bytes === 'number' && typeof owed.since === 'string' ? owed : null;
  } catch {
    return null;
  }
}

/** Adds `bytes` to what a compaction owes (written through a temporary file and a rename). */
export function oweCompaction(dbPath: string, bytes: number, at = new Date()): CompactionOwed {
  const earlier = readCompactionOwed(dbPath);
  const owed: CompactionOwed = { bytes: (earlier?.bytes ?? 0) + bytes, since: earlier?.since ?? at.toISOString() };
  const file = compactionOwedPath(dbPath);
  try {
    writeFileAtomic(file, JSON.stringify(owed), `${file}.tmp`);
  } catch (error) {
    throw asNoSpace(error, path.dirname(file), `noting in ${file} the space a compaction would give back`);
  }
  return owed;
}

export function clearCompactionOwed(dbPath: string): void {
  fs.rmSync(compactionOwedPath(dbPath), { force: true });
}
