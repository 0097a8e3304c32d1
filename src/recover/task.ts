/**
 * The Kuzu work of `recover`, run in worker processes (src/runner/) so that a native crash on a
 * damaged file fails only that step: inspect a file, replay a WAL, build a fresh database from
 * salvaged files, put archived messages back.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LocritTarget } from '../layout/locrits.js';
import type { TaskContext } from '../runner/protocol.js';
import { inspectDatabase, type Inspection } from '../store/inspect.js';
import { withStore } from '../store/kuzu.js';
import { withSnapshot } from '../store/snapshot.js';
import { replayWal } from '../store/replay.js';
import { buildFromSalvage, type BuildResult, type SalvagedFiles, type TableCounts } from '../store/salvageQueries.js';
import type { StoreSettings } from '../store/settings.js';

export type RecoverTaskPayload =
  /** path null: the target's own kuzu.db. Archived messages files are given per Locrit name. */
  | { op: 'inspect'; path: string | null; store: StoreSettings; deep?: boolean; sessions?: boolean; archiveMessageFilesByLocrit?: Record<string, string[]> }
  | { op: 'replay'; path: string; store: StoreSettings }
  | { op: 'build'; path: string; store: StoreSettings; folder: string; dimension: number; files: SalvagedFiles }
  | { op: 'restore-archive'; path: string; store: StoreSettings; archive: import('../store/archiveRestore.js').ArchiveToRestore };

export type RecoverTaskResult = Inspection | TableCounts | BuildResult | import('../store/archiveRestore.js').ArchiveRestoreCounts;

export async function recoverTask(target: LocritTarget, payload: RecoverTaskPayload, task: TaskContext): Promise<RecoverTaskResult> {
  switch (payload.op) {
    case 'inspect':
    {
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
        return { ...(await inspectDatabase(snapshot.dbPath, options)), path: target.dbPath };
      });
    }
    case 'replay':
      task.progress('replaying the WAL');
      return replayWal(payload.path, payload.store);
    case 'build':
      task.progress('building a fresh database');
      fs.rmSync(payload.path, { force: true });
      fs.rmSync(`${payload.path}.wal`, { force: true });
      return withStore(payload.path, { readOnly: false, bufferPoolMb: payload.store.bufferPoolMb, threads: payload.store.threads, create: true }, (store) =>
        buildFromSalvage(store, payload.folder, payload.dimension, payload.files),
      );
    case 'restore-archive': {
      task.progress('putting archived messages back');
      const { restoreArchiveInto } = await import('../store/archiveRestore.js');
      return restoreArchiveInto(payload.path, payload.archive, payload.store);
    }
  }
}
