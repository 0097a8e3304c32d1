import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** One Locrit's database, as found on disk. */
export interface LocritTarget {
  /** The folder name, which is how the tool names a Locrit everywhere. */
  name: string;
  /** The folder holding kuzu.db. */
  dir: string;
  /** Absolute path of kuzu.db (it may be missing, e.g. after a crash moved it aside). */
  dbPath: string;
}

export const DB_FILE = 'kuzu.db';

/**
 * The application's folder name for a Locrit: its display name lower-cased, with every
 * character that is not a letter, digit, `_` or `-` turned into `_` ("Bob Technique" -> `bob_technique`).
 */
export function folderName(displayName: string): string {
  return displayName.toLowerCase().replace(/[^\p{L}\p{N}_-]/gu, '_');
}

function targetFromDir(dir: string): LocritTarget {
  const abs = path.resolve(dir);
  return { name: path.basename(abs), dir: abs, dbPath: path.join(abs, DB_FILE) };
}

/** Every folder under the data directory that holds a kuzu.db (or the WAL of one), sorted by name. */
export function listLocrits(dataDir: string): LocritTarget[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dataDir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`data directory ${dataDir} does not exist`, 'pass the folder that holds <locrit>/kuzu.db with --data-dir, or set memory.base_path');
    if (code === 'ENOTDIR') throw new UsageError(`data directory ${dataDir} is not a folder`, 'pass the folder that holds <locrit>/kuzu.db with --data-dir');
    throw new UsageError(`data directory ${dataDir} cannot be read (${code})`, 'check its permissions');
  }
  return entries
    .filter((entry) => entry.isDirectory() && (fs.existsSync(path.join(dataDir, entry.name, DB_FILE)) || fs.existsSync(path.join(dataDir, entry.name, `${DB_FILE}.wal`))))
    .map((entry) => targetFromDir(path.join(dataDir, entry.name)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Turns command-line arguments into Locrit targets. An argument is a folder name, a display
 * name, or a path to a kuzu.db file or its folder. No argument means every Locrit in the data directory.
 */
export function resolveTargets(args: string[], dataDir: string, cwd = process.cwd()): LocritTarget[] {
  if (args.length === 0) return listLocrits(dataDir);
  const targets: LocritTarget[] = [];
  const seen = new Set<string>();
  for (const arg of args) {
    const target = resolveOne(arg, dataDir, cwd);
    if (!seen.has(target.dbPath)) {
      seen.add(target.dbPath);
      targets.push(target);
    }
  }
  return targets;
}

function resolveOne(arg: string, dataDir: string, cwd: string): LocritTarget {
  const looksLikePath = arg.includes('/') || arg.endsWith('.db') || arg === '.' || arg === '..';
  const asPath = path.resolve(cwd, arg);
  if (looksLikePath) {
    const stat = fs.statSync(asPath, { throwIfNoEntry: false });
    if (stat?.isFile()) {
      return { name: path.basename(path.dirname(asPath)), dir: path.dirname(asPath), dbPath: asPath };
    }
    if (stat?.isDirectory()) {
      if (fs.existsSync(path.join(asPath, DB_FILE)) || fs.existsSync(path.join(asPath, `${DB_FILE}.wal`))) return targetFromDir(asPath);
      throw new UsageError(`${asPath} holds no ${DB_FILE}`, 'name a Locrit folder or a kuzu.db file');
    }
    throw new UsageError(`${asPath} does not exist`, 'name a Locrit folder, a display name, or a kuzu.db file');
  }
  for (const candidate of [arg, folderName(arg)]) {
    const dir = path.join(dataDir, candidate);
    if (fs.existsSync(path.join(dir, DB_FILE)) || fs.existsSync(path.join(dir, `${DB_FILE}.wal`))) return targetFromDir(dir);
  }
  let known: string[] = [];
  try {
    known = listLocrits(dataDir).map((t) => t.name);
  } catch {
    // The data directory itself is missing: say so rather than listing nothing.
    listLocrits(dataDir);
  }
  throw new UsageError(
    `unknown Locrit '${arg}' in ${dataDir}` + (known.length ? `; known: ${known.join(', ')}` : '; it holds no Locrit'),
    known.length ? `use one of the names above, or run without arguments for all of them` : 'check --data-dir or memory.base_path',
  );
}
