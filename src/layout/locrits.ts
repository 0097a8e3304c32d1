import fs from 'node:fs';
import path from 'node:path';
import { configNote, KUZU_MEMORY_SERVICE, type ConfigNote, type LocritRegistry, type RegisteredLocrit } from '../config/registry.js';
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
 * The application's folder name for a Locrit, as its Python derives it:
 * `re.sub(r'[^\w\-_]', '_', name.lower())` ("Bob Technique" -> `bob_technique`). Python's
 * Unicode `\w` is exactly the letters (L*) and numbers (Nd, Nl, No) plus `_`: combining marks
 * are replaced ("E" + U+0301 -> `e_`), digits of every script kept. JavaScript's toLowerCase
 * follows the same full Unicode mapping as Python's str.lower(), final sigma and 'İ' -> 'i' +
 * U+0307 included. Compared code point by code point against Python 3.11 (Unicode 14): equal
 * for every assigned character. A letter added to Unicode after the application's Python
 * version is `_` there and kept here.
 */
export function folderName(displayName: string): string {
  return displayName.toLowerCase().replace(/[^\p{L}\p{N}_-]/gu, '_');
}

function targetFromDir(dir: string): LocritTarget {
  const abs = path.resolve(dir);
  return { name: path.basename(abs), dir: abs, dbPath: path.join(abs, DB_FILE) };
}

/**
 * Refuses a Locrit of the data directory whose folder or kuzu.db is a symlink to somewhere
 * outside it: backups, rebuilds and archives would then be written where the operator did not
 * point the tool. A path given explicitly on the command line is used as it is.
 */
function refuseEscape(target: LocritTarget, dataDir: string): LocritTarget {
  let realData: string;
  let real: string;
  try {
    realData = fs.realpathSync(dataDir);
    real = fs.realpathSync(fs.existsSync(target.dbPath) ? target.dbPath : target.dir);
  } catch {
    return target;
  }
  if (real === realData || real.startsWith(realData + path.sep)) return target;
  throw new UsageError(
    `Locrit '${target.name}' in ${dataDir} is a symlink to ${real}, outside the data directory`,
    `pass the real path (${real}) if that is the database you mean, or remove the symlink`,
  );
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
    .map((entry) => refuseEscape(targetFromDir(path.join(dataDir, entry.name)), dataDir))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Turns command-line arguments into Locrit targets. An argument is a folder name, a display
 * name, or a path to a kuzu.db file or its folder. No argument means every Locrit in the data directory.
 */
export function resolveTargets(args: string[], dataDir: string, cwd = process.cwd(), registry: LocritRegistry | null = null): LocritTarget[] {
  if (args.length === 0) return listLocrits(dataDir);
  const targets: LocritTarget[] = [];
  const seen = new Set<string>();
  for (const arg of args) {
    const target = resolveOne(arg, dataDir, cwd, registry);
    if (!seen.has(target.dbPath)) {
      seen.add(target.dbPath);
      targets.push(target);
    }
  }
  return targets;
}

function resolveOne(arg: string, dataDir: string, cwd: string, registry: LocritRegistry | null): LocritTarget {
  // A registered display name wins over path syntax: the application allows "R2/D2".
  const registered = registry?.instances.find((entry) => entry.displayName === arg) ?? null;
  if (registered && hasDatabase(path.join(dataDir, folderName(arg)))) return refuseEscape(targetFromDir(path.join(dataDir, folderName(arg))), dataDir);
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
    if (hasDatabase(dir)) return refuseEscape(targetFromDir(dir), dataDir);
  }
  let known: string[] = [];
  try {
    known = listLocrits(dataDir).map((t) => t.name);
  } catch {
    // The data directory itself is missing: say so rather than listing nothing.
    listLocrits(dataDir);
  }
  const entry = registered ?? registry?.instances.find((e) => folderName(e.displayName) === folderName(arg)) ?? null;
  if (entry) {
    throw new UsageError(
      `Locrit '${entry.displayName}' is in locrits.instances (memory service ${entry.memoryService ?? 'not named'}) but has no database in ${path.join(dataDir, folderName(entry.displayName))}`,
      (entry.memoryService === KUZU_MEMORY_SERVICE
        ? 'it has stored nothing in Kuzu yet; '
        : entry.memoryService !== null
          ? `${entry.memoryService} keeps nothing in ${DB_FILE}; `
          : '') + 'run without arguments for the Locrits that have a database',
    );
  }
  throw new UsageError(
    `unknown Locrit '${arg}' in ${dataDir}` + (known.length ? `; known: ${known.join(', ')}` : '; it holds no Locrit'),
    known.length ? `use one of the names above, or run without arguments for all of them` : 'check --data-dir or memory.base_path',
  );
}

/** What the application's registry says about the Locrit kept in one folder. */
export interface LocritIdentity {
  /** Its display name ("Bob Technique"), or null when the registry does not name this folder. */
  displayName: string | null;
  /** `active` in the registry, or null. */
  active: boolean | null;
  /** Its memory service (`kuzu_graph` is Kuzu), or null when unknown. */
  memoryService: string | null;
}

/** Registered Locrits by the folder the application keeps their memory in. */
export function registeredFolders(registry: LocritRegistry): Map<string, RegisteredLocrit[]> {
  const byFolder = new Map<string, RegisteredLocrit[]>();
  for (const entry of registry.instances) {
    const folder = folderName(entry.displayName);
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), entry]);
  }
  return byFolder;
}

export function identify(registry: LocritRegistry | null, folder: string): LocritIdentity {
  const entry = registry ? registeredFolders(registry).get(folder)?.[0] : undefined;
  return entry ? { displayName: entry.displayName, active: entry.active, memoryService: entry.memoryService } : { displayName: null, active: null, memoryService: null };
}

function hasDatabase(dir: string): boolean {
  return fs.existsSync(path.join(dir, DB_FILE)) || fs.existsSync(path.join(dir, `${DB_FILE}.wal`));
}

/**
 * Registry against disk, at info level: a Locrit on Kuzu with no database yet, a database no
 * registered Locrit owns (renamed or deleted: its memory is orphaned), a database of a Locrit
 * that now uses another memory service, and two Locrits whose names give the same folder.
 */
export function registryFindings(registry: LocritRegistry, dataDir: string): ConfigNote[] {
  const notes: ConfigNote[] = [];
  const byFolder = registeredFolders(registry);
  let onDisk: LocritTarget[] = [];
  try {
    onDisk = listLocrits(dataDir);
  } catch {
    // A missing data directory is reported by the command itself, with its own hint.
  }
  const withDatabase = new Set(onDisk.map((t) => t.name));
  for (const [folder, entries] of [...byFolder].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const first = entries[0];
    if (entries.length > 1) {
      const names = entries.map((e) => `'${e.displayName}'`).join(' and ');
      notes.push(configNote('shared-folder', `${names} all keep their memory in ${folder}/: the application opens one database for them`, folder, first.displayName));
    }
    const service = first.memoryService;
    if (service === KUZU_MEMORY_SERVICE && !withDatabase.has(folder)) {
      notes.push(configNote('never-started', `'${first.displayName}' uses ${KUZU_MEMORY_SERVICE} and has no database yet (${path.join(dataDir, folder, DB_FILE)}): not used since it was put on Kuzu`, folder, first.displayName));
    }
    if (service !== null && service !== KUZU_MEMORY_SERVICE && withDatabase.has(folder)) {
      notes.push(configNote('other-memory-service', `'${first.displayName}' now uses ${service}: its Kuzu database ${folder}/${DB_FILE} is left over from before the switch`, folder, first.displayName));
    }
  }
  for (const target of onDisk) {
    if (byFolder.has(target.name)) continue;
    notes.push(configNote('orphaned', `${target.name}/${DB_FILE} belongs to no Locrit in locrits.instances (renamed or deleted?): its memory is orphaned`, target.name));
  }
  return notes;
}
