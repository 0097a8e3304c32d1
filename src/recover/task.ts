/**
 * The Kuzu work of `recover`, run in worker processes (src/runner/) so that a native crash on a
 * damaged file fails only that step: inspect a file, replay a WAL, build a fresh database from
 * salvaged files, put archived messages back. One worker task per step, each with its payload
 * and result (the entries of TaskTable below).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LocritTarget } from '../layout/locrits.js';
import { assertSameDatabase, type DatabaseIdentity } from '../layout/sameDatabase.js';
import type { TaskContext } from '../runner/protocol.js';
import type { ArchiveRestoreCounts, ArchiveToRestore } from '../store/archiveRestore.js';
import { inspectDatabase, type Inspection } from '../store/inspect.js';
import { withStore } from '../store/kuzu.js';
import { withSnapshot } from '../store/snapshot.js';
import { replayWal } from '../store/replay.js';
import { buildFromSalvage, type BuildResult, type SalvagedFiles, type TableCounts } from '../store/salvageQueries.js';
import type { StoreSettings } from '../store/settings.js';

/** path null: the target's own kuzu.db. Archived messages files are given per Locrit name. */
export interface InspectPayload {
  path: string | null;
  store: StoreSettings;
  deep?: boolean;
  sessions?: boolean;
  archiveMessageFilesByLocrit?: Record<string, string[]>;
}

export interface ReplayPayload {
  path: string;
  store: StoreSettings;
}

export interface BuildPayload {
  path: string;
  store: StoreSettings;
  folder: string;
  dimension: number;
  files: SalvagedFiles;
}

export interface RestoreArchivePayload {
  path: string;
  store: StoreSettings;
  archive: ArchiveToRestore;
  /** kuzu.db as the run found it under its lock: the restore commits only if it is still that file. */
  identity: DatabaseIdentity;
}

declare module '../runner/protocol.js' {
  interface TaskTable {
    'recover-inspect': { payload: InspectPayload; result: Inspection };
    'recover-replay': { payload: ReplayPayload; result: TableCounts };
    'recover-build': { payload: BuildPayload; result: BuildResult };
    'recover-restore-archive': { payload: RestoreArchivePayload; result: ArchiveRestoreCounts };
  }
}

export async function inspectTask(target: LocritTarget, payload: InspectPayload, task: TaskContext): Promise<Inspection> {
  const options = { ...payload.store, deep: payload.deep, sessions: payload.sessions, archiveMessageFiles: payload.archiveMessageFilesByLocrit?.[target.name] };
  const reading = payload.deep ? 'reading every table' : 'reading';
  if (payload.path !== null && path.resolve(payload.path) !== path.resolve(target.dbPath)) {
    task.progress(reading);
    return inspectDatabase(payload.path, options);
  }
  // The Locrit's own file: the application may open it at any moment, and a read-only open of
  // ours would make that open fail (and the application reset the Locrit). Read a private copy.
  task.progress('copying');
  return withSnapshot(target.dbPath, async (snapshot) => {
    task.progress(reading);
    return { ...(await inspectDatabase(snapshot.dbPath, options)), path: target.dbPath, snapshotAt: snapshot.takenAt };
  });
}

export async function replayTask(_target: LocritTarget, payload: ReplayPayload, task: TaskContext): Promise<TableCounts> {
  task.progress('replaying the WAL');
  return replayWal(payload.path, payload.store);
}

export async function buildTask(_target: LocritTarget, payload: BuildPayload, task: TaskContext): Promise<BuildResult> {
  task.progress('building a fresh database');
  fs.rmSync(payload.path, { force: true });
  fs.rmSync(`${payload.path}.wal`, { force: true });
  return withStore(payload.path, { readOnly: false, bufferPoolMb: payload.store.bufferPoolMb, threads: payload.store.threads, create: true }, (store) =>
    buildFromSalvage(store, payload.folder, payload.dimension, payload.files),
  );
}

export async function restoreArchiveTask(target: LocritTarget, payload: RestoreArchivePayload, task: TaskContext): Promise<ArchiveRestoreCounts> {
  task.progress('putting archived messages back');
  // Loaded only here: no other recover step needs it.
  const { restoreArchiveInto } = await import('../store/archiveRestore.js');
  // The application may have reset the Locrit while the messages went in: commit into the file the run opened, or not at all.
  return restoreArchiveInto(payload.path, payload.archive, payload.store, () => {
    task.testPoint('restoring');
    assertSameDatabase(payload.identity, 'committing the restored messages', target.name);
  });
}
