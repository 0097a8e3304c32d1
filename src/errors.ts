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
