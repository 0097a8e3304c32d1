/**
 * Owner, group and mode of the files a run writes. The Locrit application runs as its own user
 * and moves a Locrit's memory aside when its read-write open fails; cron runs this tool as root.
 * So every file that replaces or sits beside a database (rebuilt, restored, backups, WAL copies)
 * gets the database's owner, group and mode on its temporary name, before the rename makes it
 * visible; files holding message content (archives, quarantine archives) are never more open
 * than the database, and their folders give others no access when the database gives none.
 * Reports, JSON and Prometheus files are metrics and keep ordinary modes.
 *
 * Only root can give a file another owner. Any other user who does not own the database is
 * refused before anything changes (see preflightWrite), with the command to run instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseUnavailableError } from '../errors.js';

/** Owner, group and permission bits to give the files written for one database. */
export interface DatabaseOwnership {
  /** The file the ownership was read from (kuzu.db, else its WAL, else its folder). */
  from: string;
  uid: number;
  gid: number;
  /** Permission bits of a database file (0o600, 0o640...). */
  mode: number;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * The ownership to give files written for `dbPath`: that of kuzu.db, else of its WAL, else
 * (a Locrit whose database is missing) of its folder, with the folder's execute bits dropped.
 */
export function databaseOwnership(dbPath: string): DatabaseOwnership {
  for (const file of [dbPath, `${dbPath}.wal`]) {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (stat?.isFile()) return { from: file, uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o777 };
  }
  const folder = path.dirname(dbPath);
  const stat = fs.statSync(folder);
  return { from: folder, uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o666 };
}

/**
 * Gives `file` the owner, group and `mode`. As root the owner is set; otherwise the file is
 * already ours (preflightWrite refused any other case) and only the group may need setting.
 */
export function applyOwnership(file: string, owner: DatabaseOwnership, mode = owner.mode): void {
  const stat = fs.lstatSync(file);
  if (stat.uid !== owner.uid || stat.gid !== owner.gid) {
    // A user may give a file any group it belongs to; only root may give it another owner.
    if (isRoot()) fs.lchownSync(file, owner.uid, owner.gid);
    else if (stat.gid !== owner.gid) fs.lchownSync(file, stat.uid, owner.gid);
  }
  if ((stat.mode & 0o7777) !== mode && !stat.isSymbolicLink()) fs.chmodSync(file, mode);
}

/**
 * Makes `replacement` (a rebuilt, restored or copied database, or a backup of one) look like
 * the database it replaces or copies: same owner, group and mode, on it and on its WAL when it
 * has one. Call it on the temporary file before the rename that puts it in place, so that the
 * application never meets a file it cannot open. `like` is the database path, or an ownership
 * read earlier (before the original was moved away).
 */
export function writeLikeDatabase(replacement: string, like: string | DatabaseOwnership): DatabaseOwnership {
  const owner = typeof like === 'string' ? databaseOwnership(like) : like;
  applyOwnership(replacement, owner);
  if (fs.existsSync(`${replacement}.wal`)) applyOwnership(`${replacement}.wal`, owner);
  return owner;
}

/** Mode of a file holding message content: never more open than the database, always readable and writable by its owner. */
export function contentFileMode(owner: DatabaseOwnership): number {
  return 0o600 | (owner.mode & 0o044);
}

/** Mode of a folder holding message content: group and others get in only where the database lets them read. */
export function contentFolderMode(owner: DatabaseOwnership): number {
  return 0o700 | (owner.mode & 0o040 ? 0o050 : 0) | (owner.mode & 0o004 ? 0o005 : 0);
}

/** Gives a file holding message content (an archive chunk, a manifest) the database's owner and at most its mode. */
export function protectContentFile(file: string, owner: DatabaseOwnership): void {
  applyOwnership(file, owner, contentFileMode(owner));
}

/**
 * Creates a folder for message content (and any missing parent), giving each folder it creates
 * the database's owner and contentFolderMode. Folders that already exist are left as they are:
 * an archive or backup root may be shared with other data.
 */
export function makeContentFolder(folder: string, owner: DatabaseOwnership): void {
  const first = fs.mkdirSync(folder, { recursive: true });
  if (first === undefined) return;
  for (let dir = path.resolve(folder); ; dir = path.dirname(dir)) {
    applyOwnership(dir, owner, contentFolderMode(owner));
    if (dir === path.resolve(first) || dir === path.dirname(dir)) break;
  }
}

/** Every file and folder under `folder` (itself included) made content: files at most the database's mode, folders closed to others. */
export function protectContentTree(folder: string, owner: DatabaseOwnership): void {
  const walk = (dir: string): void => {
    applyOwnership(dir, owner, contentFolderMode(owner));
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) protectContentFile(full, owner);
    }
  };
  walk(folder);
}

/** A user's name from /etc/passwd, or `#<uid>` (the form `sudo -u` accepts for a user without one). */
export function userName(uid: number): string {
  return nameIn('/etc/passwd', uid);
}

/** A group's name from /etc/group, or `#<gid>`. */
export function groupName(gid: number): string {
  return nameIn('/etc/group', gid);
}

/** The name of `id` in /etc/passwd or /etc/group (lines `name:x:id:...`), or `#<id>`. */
function nameIn(file: string, id: number): string {
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields.length > 2 && Number(fields[2]) === id && fields[0]) return fields[0];
    }
  } catch {
    // No such file (a minimal container): the numeric form still works with sudo.
  }
  return `#${id}`;
}

/** Whether this process can give files the owner and group (root, or the owner in that group). */
export function canWriteAs(owner: DatabaseOwnership): boolean {
  if (isRoot()) return true;
  const uid = process.getuid?.();
  if (uid === undefined) return true; // not POSIX: there are no owners to keep
  if (uid !== owner.uid) return false;
  return process.getegid?.() === owner.gid || (process.getgroups?.() ?? []).includes(owner.gid);
}

/**
 * Where a symlinked Locrit folder or kuzu.db leads outside the data directory (the folder that
 * holds the Locrit folder), or null. Such a database is read, never written through: a rewrite
 * would land in a place the operator did not point this tool at.
 */
export function symlinkOutside(dbPath: string, dataDir = path.dirname(path.dirname(path.resolve(dbPath)))): string | null {
  const root = fs.realpathSync(dataDir);
  const inside = (target: string): boolean => target === root || target.startsWith(`${root}${path.sep}`);
  const folder = path.dirname(path.resolve(dbPath));
  for (const link of [folder, path.resolve(dbPath)]) {
    const stat = fs.lstatSync(link, { throwIfNoEntry: false });
    if (!stat?.isSymbolicLink()) continue;
    let target: string;
    try {
      target = fs.realpathSync(link);
    } catch {
      return `${link} is a symlink to ${fs.readlinkSync(link)}, which does not exist`;
    }
    if (!inside(target)) return `${link} is a symlink to ${target}, outside the data directory ${root}`;
  }
  return null;
}

/**
 * Run before a command changes anything of a Locrit. Refuses a database reached through a
 * symlink leading outside the data directory, and a run by a user that could not give the files
 * it writes the database's owner (only root can chown), naming the user to run as.
 */
export function preflightWrite(dbPath: string, command: string, dataDir?: string): DatabaseOwnership {
  const outside = symlinkOutside(dbPath, dataDir);
  if (outside) {
    throw new DatabaseUnavailableError(
      `${outside}; locrit-mem does not write through it (read-only commands such as stats and validate still read it)`,
      'symlink-outside',
      'point --data-dir at the real folder, or replace the symlink with the folder it leads to',
    );
  }
  const owner = databaseOwnership(dbPath);
  if (!canWriteAs(owner)) {
    const me = process.getuid?.() ?? -1;
    const user = userName(owner.uid);
    const needsGroup = me === owner.uid;
    throw new DatabaseUnavailableError(
      needsGroup
        ? `${owner.from} belongs to group ${groupName(owner.gid)}, which this user (${userName(me)}) is not in: the files 'locrit-mem ${command}' rewrites could not keep that group, so nothing was changed`
        : `${owner.from} belongs to ${user} (uid ${owner.uid}), and this run is ${userName(me)} (uid ${me}): the files 'locrit-mem ${command}' rewrites could not keep that owner, and the application could then no longer open them; nothing was changed`,
      'wrong-user',
      needsGroup ? `run it as root, or as ${user} with that group: sudo -u ${user} -g ${groupName(owner.gid)} locrit-mem ${command} ...` : `run it as the database's owner: sudo -u ${user} locrit-mem ${command} ...`,
    );
  }
  return owner;
}

/**
 * Kuzu creates `kuzu.db.wal` afresh (owner: this process, mode from the umask) on the first
 * write of a read-write open, and removes it when it closes cleanly. A run killed in between
 * leaves a WAL the application's user may not be able to open; this gives it the database's
 * owner and mode. Returns whether anything was changed.
 */
export function repairWalOwnership(dbPath: string): boolean {
  const wal = `${dbPath}.wal`;
  const walStat = fs.statSync(wal, { throwIfNoEntry: false });
  const dbStat = fs.statSync(dbPath, { throwIfNoEntry: false });
  if (!walStat?.isFile() || !dbStat?.isFile()) return false;
  if (walStat.uid === dbStat.uid && walStat.gid === dbStat.gid && (walStat.mode & 0o777) === (dbStat.mode & 0o777)) return false;
  if (!isRoot() && walStat.uid !== process.getuid?.()) return false;
  applyOwnership(wal, databaseOwnership(dbPath));
  return true;
}

/** A user of this host by name or numeric uid, with its primary group, from /etc/passwd (a bare number needs no entry). */
export function lookupUser(nameOrUid: string): { uid: number; gid: number; name: string } | null {
  let lines: string[] = [];
  try {
    lines = fs.readFileSync('/etc/passwd', 'utf8').split('\n');
  } catch {
    // No passwd file: only numeric uids can be resolved.
  }
  for (const line of lines) {
    const [name, , uid, gid] = line.split(':');
    if (name && (name === nameOrUid || uid === nameOrUid)) return { uid: Number(uid), gid: Number(gid), name };
  }
  return /^\d+$/.test(nameOrUid) ? { uid: Number(nameOrUid), gid: Number(nameOrUid), name: `#${nameOrUid}` } : null;
}

/** Owner, group and permission bits of a file, or null when it is absent. */
export function fileMode(file: string): { uid: number; gid: number; mode: number } | null {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat ? { uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777 } : null;
}

/**
 * Files under `folder` that every local user can read: readable by others, with every folder on
 * the way (from the file system root) open to others. Relative paths, sorted.
 */
export function readableByOthers(folder: string): string[] {
  const real = fs.realpathSync.native(folder);
  for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return [];
    if (dir === path.dirname(dir)) break;
  }
  const found: string[] = [];
  const walk = (dir: string): void => {
    if ((fs.statSync(dir).mode & 0o001) === 0) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && fs.statSync(full).mode & 0o004) found.push(path.relative(real, full));
    }
  };
  walk(real);
  return found.sort();
}

/**
 * What the `validate` permission rules look at for one Locrit: the application's user (given,
 * or else the owner of the Locrit's folder, which the application created), kuzu.db and its
 * WAL, and the archive files of this Locrit every local user can read. Null when the folder is gone.
 */
export function permissionFacts(dbPath: string, archiveDir: string, appUser: { uid: number; gid: number; name: string } | null) {
  const folder = fileMode(path.dirname(dbPath));
  if (!folder) return null;
  return {
    appUser: appUser ? { ...appUser, from: 'run.app_user' as const } : { uid: folder.uid, gid: folder.gid, name: userName(folder.uid), from: 'folder' as const },
    db: fileMode(dbPath),
    wal: fileMode(`${dbPath}.wal`),
    archiveReadableByOthers: fs.existsSync(archiveDir) ? readableByOthers(archiveDir) : [],
  };
}
