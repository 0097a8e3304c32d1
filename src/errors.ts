import fs from 'node:fs';
import path from 'node:path';

/**
 * Typed errors. Commands throw these; only src/cli/main.ts turns them into an exit code and
 * an `Error: ...` / `Try: ...` pair on stderr.
 */

/** Exit codes, the same for every subcommand (documented in the README). */
export const ExitCode = {
  ok: 0,
  /** A rule is broken or a limit exceeded where the command was asked to check. */
  findings: 1,
  /** Bad usage or configuration. */
  usage: 2,
  /** A database could not be used: in use, damaged, not a Kuzu file, unsupported version. */
  unavailable: 3,
  /** An unexpected failure: a bug in this tool, not a problem with the data. */
  internal: 4,
  /** Interrupted by the operator (Ctrl-C, SIGINT): 128 + 2, as shells report it. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The most serious of several exit codes (a run over many Locrits exits with it). */
export function worstExitCode(codes: Iterable<ExitCode>): ExitCode {
  let worst: ExitCode = ExitCode.ok;
  for (const code of codes) if (code > worst) worst = code;
  return worst;
}

export class LocritMemError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** One line telling the operator what to do next. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags, arguments or values. */
export class UsageError extends LocritMemError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

/** The operator interrupted the run (Ctrl-C at a prompt, or SIGINT while it worked). */
export class InterruptedError extends LocritMemError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.interrupted, hint);
  }
}

/** A configuration file that cannot be used. */
export class ConfigError extends LocritMemError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

/**
 * A check that guards messages failed: a count or a read-back did not match, so the run stopped
 * before deleting anything (or rolled its delete back). The message always says "nothing was deleted".
 */
export class DataSafetyError extends LocritMemError {
  constructor(message: string, hint = 'check the disk under archive.dir and rerun') {
    super(/nothing was deleted/.test(message) ? message : `${message}; nothing was deleted`, ExitCode.unavailable, hint);
  }
}

/** Why a database could not be used. Stable strings: they appear in JSON output. */
export type UnavailableReason =
  | 'missing'
  | 'not-kuzu'
  | 'unsupported-version'
  | 'in-use'
  | 'damaged'
  | 'busy' // another locrit-mem run is working on it, or the file kept changing while it was copied for reading
  | 'no-space' // no room to copy the database for reading
  | 'wrong-user' // this user could not give rewritten files the database's owner
  | 'symlink-outside' // the Locrit folder or kuzu.db is a symlink leading outside the data directory
  | 'replaced'; // kuzu.db was moved aside or replaced during a run (the application reset the Locrit)

export interface LockHolder {
  pid: number;
  command: string | null;
  rssBytes: number | null;
  cpuPercent: number | null;
}

export class DatabaseUnavailableError extends LocritMemError {
  constructor(
    message: string,
    readonly reason: UnavailableReason,
    hint?: string,
    readonly holder?: LockHolder,
  ) {
    super(message, ExitCode.unavailable, hint);
  }
}

/**
 * kuzu.db or its WAL is a FIFO, a socket or a device: opening it can block forever, and moving
 * it aside or rebuilding over it would be wrong. Nothing is done to such a file.
 */
export class NotRegularFileError extends DatabaseUnavailableError {}

/**
 * The disk ran out of space (ENOSPC or a quota from Node, a short write from Kuzu). Not damage:
 * every write goes through a temporary file or Kuzu's WAL, so the data is as it was, and the same
 * command works once space is freed. The message names the folder and what is free on its disk.
 */
export class NoSpaceError extends DatabaseUnavailableError {
  constructor(
    /** Empty when the failed write did not say where. */
    readonly folder: string,
    readonly freeBytes: number | null,
    doing?: string,
    readonly neededBytes?: number,
    hint = 'free space on that disk (old backups, archives moved elsewhere), then run the same command again: it finishes or rolls back what was left half-done',
  ) {
    const free = freeBytes === null ? 'free space unknown' : `${formatBytes(freeBytes)} free`;
    const needed = neededBytes === undefined ? '' : `, about ${formatBytes(neededBytes)} needed`;
    const disk = folder ? `the disk of ${folder} (${free}${needed})` : 'a disk (the failed write did not name its file)';
    super(
      `no space left on ${disk}${doing ? ` while ${doing}` : ''}`,
      'no-space',
      hint,
    );
  }
}

/** `4.0 KiB`, `38.4 MiB`: what an operator compares with `df -h`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Bytes this user may still write on the disk of `folder` (or of its nearest existing parent); null if unknown. */
export function freeBytesOn(folder: string): number | null {
  for (let dir = path.resolve(folder); ; dir = path.dirname(dir)) {
    try {
      const stat = fs.statfsSync(dir);
      return Number(stat.bavail) * Number(stat.bsize);
    } catch {
      if (dir === path.dirname(dir)) return null;
    }
  }
}

/** Below this, a write that failed for no stated reason failed for want of space. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/** True when the disk of `folder` is (nearly) full. */
export function diskNearlyFull(folder: string): boolean {
  const free = freeBytesOn(folder);
  return free !== null && free < NEARLY_FULL_BYTES;
}

/**
 * The file a failed write was writing, when the error says: Node's `dest`/`path`, or Kuzu's
 * `Cannot write to file. path: <file> ...`.
 */
function failedWritePath(error: unknown): string | null {
  const errno = error as NodeJS.ErrnoException & { dest?: string };
  if (typeof errno?.dest === 'string') return errno.dest;
  if (typeof errno?.path === 'string') return errno.path;
  const message = error instanceof Error ? error.message : String(error);
  return /path: (\S+)/.exec(message)?.[1] ?? null;
}

/**
 * Whether `error` is a write that failed for want of space. Node says ENOSPC (EDQUOT for a
 * quota); Kuzu 0.11 says `Cannot write to file ... numBytesToWrite: N numBytesWritten: M. Error:
 * Success` (a short write, errno unset) or names the errno: a short or failed write to a disk
 * that is now nearly full is one too.
 */
export function isNoSpace(error: unknown): boolean {
  if (error instanceof NoSpaceError) return true;
  if (error instanceof LocritMemError) return false;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  const message = error instanceof Error ? error.message : String(error);
  if (/ENOSPC|No space left on device|Disk quota exceeded/i.test(message)) return true;
  if (!/Cannot write to file/i.test(message)) return false;
  const toWrite = /numBytesToWrite: (\d+)/.exec(message);
  const written = /numBytesWritten: (\d+)/.exec(message);
  if (toWrite && written && Number(written[1]) < Number(toWrite[1])) return true;
  const file = failedWritePath(error);
  return file !== null && diskNearlyFull(path.dirname(file));
}

/**
 * A NoSpaceError for a failed write, naming the folder it wrote in (from the error, else
 * `folder`), or `error` unchanged when it is not about space.
 */
export function asNoSpace(error: unknown, folder?: string, doing?: string): unknown {
  if (error instanceof NoSpaceError || !isNoSpace(error)) return error;
  const file = failedWritePath(error);
  let where = file !== null ? path.dirname(path.resolve(file)) : folder ?? null;
  // A run's own work folder (`.locrit-mem-<purpose>-XXXXXX`) is gone once the run has failed: name the folder it sat in.
  while (where !== null && path.basename(where).startsWith('.locrit-mem-')) where = path.dirname(where);
  if (where === null) return new NoSpaceError('', null, doing);
  return new NoSpaceError(where, freeBytesOn(where), doing);
}

/** Refuses, before a copy or a write of known size, when the disk of `folder` cannot hold it. */
export function checkFreeSpace(folder: string, neededBytes: number, doing: string): void {
  const free = freeBytesOn(folder);
  if (free !== null && free < neededBytes) throw new NoSpaceError(folder, free, doing, neededBytes);
}

/** A plain, structured-clone-safe copy of an error, to cross a process boundary or go into JSON. */
export interface ErrorReport {
  kind: string;
  message: string;
  hint: string | null;
  exitCode: ExitCode;
  reason: UnavailableReason | null;
  holder: LockHolder | null;
}

export function toErrorReport(error: unknown): ErrorReport {
  // A full disk anywhere (Node or Kuzu) is the operator's to fix, never a bug or damage.
  error = asNoSpace(error);
  if (error instanceof LocritMemError) {
    return {
      kind: error.name,
      message: error.message,
      hint: error.hint ?? null,
      exitCode: error.exitCode,
      reason: error instanceof DatabaseUnavailableError ? error.reason : null,
      holder: error instanceof DatabaseUnavailableError ? (error.holder ?? null) : null,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'InternalError', message, hint: null, exitCode: ExitCode.internal, reason: null, holder: null };
}
