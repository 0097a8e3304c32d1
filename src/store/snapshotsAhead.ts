/**
 * The parent's side of the read-only commands (`stats`, `validate` without --fix): each Locrit's
 * private copy is taken in the command's process, ahead of its worker (RunOptions.prefetch), so
 * that copying overlaps the worker's start and the previous Locrit's queries instead of adding
 * to them. The worker reads the copy and leaves it; this process removes it, in the background,
 * once the worker is done with it.
 */
import type { LocritTarget } from '../layout/locrits.js';
import type { Prefetch } from '../runner/pool.js';
import { takeSnapshot, type Snapshot } from './snapshot.js';
import { testPointFor, type TestKnobs } from '../testKnobs.js';

/** Copies taken ahead; `knobs`: the run's test knobs (the test point `copied`, in this process). */
export function snapshotsAhead(knobs: TestKnobs): Prefetch {
  return {
    async take(target: LocritTarget) {
      const { remove: _remove, removeInBackground, ...snapshot } = await takeSnapshot(target.dbPath);
      const value: Snapshot = snapshot;
      testPointFor(knobs, target.name)('copied');
      return { value, release: removeInBackground };
    },
  };
}

/** The copy the parent took for this Locrit, as it arrives over IPC, or undefined. */
export function preparedSnapshot(prepared: unknown, dbPath: string): Snapshot | undefined {
  if (typeof prepared !== 'object' || prepared === null) return undefined;
  const snapshot = prepared as Snapshot;
  return typeof snapshot.dbPath === 'string' && snapshot.livePath === dbPath ? snapshot : undefined;
}
