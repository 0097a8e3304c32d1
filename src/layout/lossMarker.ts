/**
 * A Locrit salvaged with losses stays flagged until the operator acknowledges it: `recover`
 * writes `kuzu.db.locrit-mem-losses.json` beside the database when it swaps in a salvage that
 * holds fewer messages than last known; `stats` and `validate` report it while it is there;
 * `recover <locrit> --acknowledge-loss` removes it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomicFile.js';

export const LOSS_MARKER = 'kuzu.db.locrit-mem-losses.json';

export interface LossMarker {
  /** When the salvage was swapped in (ISO). */
  at: string;
  /** Messages the new database holds. */
  messages: number;
  /** The last known count it fell short of, and where that count came from (null: unknown). */
  lastKnown: number | null;
  lastKnownFrom: string | null;
  /** Where the damaged original was kept. */
  damagedKeptAs: string | null;
}

export function lossMarkerPath(dbPath: string): string {
  return path.join(path.dirname(dbPath), LOSS_MARKER);
}

export function writeLossMarker(dbPath: string, marker: LossMarker): void {
  writeFileAtomic(lossMarkerPath(dbPath), `${JSON.stringify(marker, null, 2)}\n`);
}

/** The marker, or null when there is none; an unreadable marker still flags the Locrit. */
export function readLossMarker(dbPath: string): LossMarker | null {
  let text: string;
  try {
    text = fs.readFileSync(lossMarkerPath(dbPath), 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as LossMarker;
  } catch {
    return { at: '', messages: 0, lastKnown: null, lastKnownFrom: null, damagedKeptAs: null };
  }
}

/** Removes the marker; returns whether there was one. */
export function acknowledgeLoss(dbPath: string): LossMarker | null {
  const marker = readLossMarker(dbPath);
  if (marker) fs.rmSync(lossMarkerPath(dbPath), { force: true });
  return marker;
}

/** The marker in one line of a report, or null when there is none. */
export function describeLossMarker(marker: LossMarker | null): string | null {
  if (!marker) return null;
  return `salvaged${marker.at ? ` on ${marker.at}` : ''}: ${marker.messages} message(s)${marker.lastKnown !== null ? ` of ${marker.lastKnown} last known (${marker.lastKnownFrom})` : ''}${marker.damagedKeptAs ? `; the damaged file is kept as ${marker.damagedKeptAs}` : ''}`;
}
