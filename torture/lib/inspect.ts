/** What is on disk after a run: row counts and ids (read in a child process), file hashes, archives. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTool } from './proc.js';

const PROBE = fileURLToPath(new URL('./probe.js', import.meta.url));
/** Some damaged files make Kuzu allocate without bound; the probe is stopped well before the machine runs out. */
const PROBE_MEMORY_LIMIT_MB = 3072;

export interface DbContents {
  /** Why the database could not be read (null when it was read). */
  error: string | null;
  tables: Record<string, number>;
  ids: string[];
}

export async function readDb(dbPath: string, timeoutMs = 120_000): Promise<DbContents> {
  const run = await runTool(['db', dbPath], { cwd: path.dirname(dbPath), timeoutMs, script: PROBE, memoryLimitMb: PROBE_MEMORY_LIMIT_MB });
  if (run.outOfMemoryMb) return { error: `Kuzu used ${run.outOfMemoryMb} MiB reading it and was stopped (a damaged file)`, tables: {}, ids: [] };
  if (run.timedOut) return { error: 'the read did not finish in time', tables: {}, ids: [] };
  if (run.signal) return { error: `Kuzu died of ${run.signal} while reading it`, tables: {}, ids: [] };
  try {
    const parsed = JSON.parse(run.stdout) as { error?: string; tables?: Record<string, number>; ids?: string[] };
    if (parsed.error) return { error: parsed.error, tables: {}, ids: [] };
    return { error: null, tables: parsed.tables ?? {}, ids: parsed.ids ?? [] };
  } catch {
    return { error: `the probe printed no result (${run.stderr.trim().split('\n').pop() ?? ''})`, tables: {}, ids: [] };
  }
}

export interface ArchivedIds {
  error: string | null;
  complete: { folder: string; ids: string[] }[];
  partial: number;
}

export async function readArchives(archiveRoot: string, locrit: string, timeoutMs = 120_000): Promise<ArchivedIds> {
  const run = await runTool(['archives', archiveRoot, locrit], { cwd: archiveRoot.length > 0 ? path.dirname(archiveRoot) : '.', timeoutMs, script: PROBE });
  try {
    const parsed = JSON.parse(run.stdout) as { error?: string; complete?: { folder: string; ids: string[] }[]; partial?: number };
    if (parsed.error) return { error: parsed.error, complete: [], partial: 0 };
    return { error: null, complete: parsed.complete ?? [], partial: parsed.partial ?? 0 };
  } catch {
    return { error: `the probe printed no result (${run.signal ?? run.stderr.trim().split('\n').pop() ?? ''})`, complete: [], partial: 0 };
  }
}

export function sha256(file: string): string | null {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return null;
  }
}

/** sha256 of every regular file under `dir` (relative path -> hash). */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out[path.relative(dir, full)] = sha256(full) ?? '';
    }
  };
  walk(dir);
  return out;
}

/**
 * Ids that are not exactly once in the database plus the complete archives: `missing` from all of
 * them, or `duplicated` (in two places, or twice in the archives).
 */
export function idAccounting(expected: Iterable<string>, inDb: string[], archives: { ids: string[] }[]): { missing: string[]; duplicated: string[] } {
  const seen = new Map<string, number>();
  for (const id of inDb) seen.set(id, (seen.get(id) ?? 0) + 1);
  for (const archive of archives) for (const id of archive.ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  const missing: string[] = [];
  for (const id of expected) if (!seen.has(id)) missing.push(id);
  const duplicated = [...seen.entries()].filter(([, n]) => n > 1).map(([id]) => id);
  return { missing, duplicated };
}
