/** What every kind of case reports, and the seeded randomness each case draws from. */
import { rng } from '../../src/fixtures/random.js';

export type KindName = 'damaged' | 'kills' | 'disk' | 'races' | 'input';
export const KINDS: KindName[] = ['damaged', 'input', 'kills', 'disk', 'races'];

export interface CaseResult {
  kind: KindName;
  /** Stable id: the same seed and id always give the same case (`--only <id>` reruns it). */
  id: string;
  /** What the case does, in words. */
  label: string;
  /** The group the table counts it under (damage type, command, ...). */
  group: string;
  passed: boolean;
  /** Why it failed, in words (empty when it passed). */
  failures: string[];
  durationMs: number;
  /** Damaged files: messages the undamaged file held, and how many recover brought back. */
  rows?: { expected: number; recovered: number; foreign: number; outcome: string };
  /** The case could not run here (no mount permission, ...): neither passed nor failed. */
  skipped?: string;
  notes?: string[];
  /** Kills: the run was still going when SIGKILL came (it had not finished on its own). */
  killed?: boolean;
}

/** A generator for one case, from the campaign seed and the case id only. */
export function caseRandom(seed: number, id: string): () => number {
  let h = seed >>> 0;
  for (const ch of id) h = (Math.imul(h ^ ch.charCodeAt(0), 0x01000193) + 0x9e3779b9) >>> 0;
  return rng(h);
}

export function intIn(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}
