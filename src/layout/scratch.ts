/**
 * Private scratch space for copies of live databases (snapshots): `<tmpdir>/locrit-mem-<uid>/`
 * (mode 0700, refused if another user owns it), with one folder per run named after the pid
 * of the process that started the run. The run's folder is removed when the process exits, on
 * SIGINT, SIGTERM and SIGHUP, and a later run removes the folder of any run whose process is
 * gone (one killed with SIGKILL). Worker processes put their copies in their parent's run
 * folder (passed in LOCRIT_MEM_RUN_SCRATCH), so a worker killed mid-copy leaves nothing behind
 * once the parent ends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocritMemError, ExitCode } from '../errors.js';
import { processAlive } from './processes.js';

/** Set by a run for its worker processes: the run folder they put their copies in. */
export const RUN_SCRATCH_ENV = 'LOCRIT_MEM_RUN_SCRATCH';

const RUN_FOLDER = /^run-(\d+)$/;
const CLEANUP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

let ownRunFolder: string | null = null;

/** `<tmpdir>/locrit-mem-<uid>`: TMPDIR chooses the disk. */
export function scratchBase(tmpdir = os.tmpdir()): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(tmpdir, `locrit-mem-${uid}`);
}

/** Creates the base folder, or checks that the existing one is ours, a real folder, and private. */
function ensurePrivateFolder(folder: string): void {
  try {
    fs.mkdirSync(folder, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw scratchError(folder, error);
  }
  const stat = fs.lstatSync(folder);
  const uid = typeof process.getuid === 'function' ? process.getuid() : stat.uid;
  if (!stat.isDirectory() || stat.isSymbolicLink() || stat.uid !== uid) {
    throw new LocritMemError(
      `${folder} (where copies of live databases go) is not a private folder of this user`,
      ExitCode.unavailable,
      `remove ${folder}, or set TMPDIR to a folder only this user can write`,
    );
  }
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(folder, 0o700);
}

function scratchError(folder: string, error: unknown): LocritMemError {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return new LocritMemError(`cannot create ${folder} for copies of live databases (${code})`, ExitCode.unavailable, 'set TMPDIR to a writable folder');
}

/** Removes the run folders of processes that are gone (runs killed with SIGKILL). Returns what was removed. */
export function sweepStaleRuns(base = scratchBase()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(base);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = RUN_FOLDER.exec(name);
    if (!match || Number(match[1]) === process.pid || processAlive(Number(match[1]))) continue;
    fs.rmSync(path.join(base, name), { recursive: true, force: true });
    removed.push(path.join(base, name));
  }
  return removed;
}

/**
 * The folder this run's copies go in. In a worker, its parent's; otherwise `run-<pid>`, which
 * this process removes when it ends. The first call also sweeps what killed runs left.
 */
export function runScratchFolder(): string {
  const inherited = process.env[RUN_SCRATCH_ENV];
  if (inherited) {
    // Made by the parent; never made again here: if it is gone, so is the run (and nothing must be left behind).
    if (!fs.existsSync(inherited)) throw new LocritMemError(`${inherited} (this run's folder for copies) is gone: the run was stopped`, ExitCode.unavailable, 'run the command again');
    return inherited;
  }
  if (ownRunFolder && fs.existsSync(ownRunFolder)) return ownRunFolder;
  const base = scratchBase();
  ensurePrivateFolder(base);
  sweepStaleRuns(base);
  const folder = path.join(base, `run-${process.pid}`);
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  if (!ownRunFolder) registerCleanup(folder);
  ownRunFolder = folder;
  return folder;
}

/** The run folder to hand to worker processes (created on first use by whoever needs it). */
export function runScratchForWorkers(): string {
  return process.env[RUN_SCRATCH_ENV] ?? runScratchFolder();
}

/** Removes this process's run folder now (also done automatically at exit). */
export function removeRunScratch(): void {
  if (ownRunFolder) fs.rmSync(ownRunFolder, { recursive: true, force: true });
}

function registerCleanup(folder: string): void {
  const remove = (): void => {
    try {
      // A worker may still be adding a file inside: retry a non-empty folder a few times.
      fs.rmSync(folder, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
    } catch {
      // Exiting anyway; the next run sweeps it.
    }
  };
  process.once('exit', remove);
  for (const signal of CLEANUP_SIGNALS) {
    const onSignal = (): void => {
      // Another handler decides what the signal does (a run's first Ctrl-C lets the Locrits in
      // progress finish, reading copies in this folder; stats --watch stops): the folder goes at exit.
      if (process.listenerCount(signal) > 1) return;
      remove();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** A new private folder for one copy inside the run folder (mode 0700). */
export function makeScratchFolder(prefix: string): string {
  const run = runScratchFolder();
  try {
    return fs.mkdtempSync(path.join(run, `${prefix.replace(/[^\w-]/g, '_')}-`));
  } catch (error) {
    throw scratchError(run, error);
  }
}

/**
 * Work folders beside a database (`.locrit-mem-<purpose>-XXXXXX`: a salvage, a restore, a
 * WAL-less look), on the database's own file system so that a finished file is renamed into
 * place atomically. Only a run holding the Locrit's run lock makes them, so one found by the
 * next holder was left by a run that was killed: nothing in it is in use or needed.
 */
export const WORK_FOLDER_PATTERN = /^\.locrit-mem-[a-z-]+-/;

/** A new work folder beside `dbPath`. */
export function makeWorkFolder(dbPath: string, purpose: string): string {
  return fs.mkdtempSync(path.join(path.dirname(dbPath), `.locrit-mem-${purpose}-`));
}

/** The work folders beside `dbPath`, sorted. */
export function workFoldersOf(dbPath: string): string[] {
  const dir = path.dirname(dbPath);
  try {
    return fs.readdirSync(dir).filter((name) => WORK_FOLDER_PATTERN.test(name)).sort().map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

/** Removes the work folders killed runs left beside `dbPath` (call it holding the run lock). Returns what was removed. */
export function removeWorkFolders(dbPath: string): string[] {
  const removed: string[] = [];
  for (const folder of workFoldersOf(dbPath)) {
    // A salvage child of the killed run may still be writing inside for a moment: retry.
    fs.rmSync(folder, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    removed.push(folder);
  }
  return removed;
}
