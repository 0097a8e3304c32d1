/**
 * The comparison loop: our command and its floor run in the same session, alternately
 * (ours first on odd rounds, the floor first on even rounds, so that neither always gets the
 * warmer cache or the quieter moment), and each side is summarised by its median.
 */
import path from 'node:path';
import { measure, type Measured, type RunSpec } from './measure.js';
import { ROOT } from './fixtures.js';

/** The CLI under test; LOCRIT_BENCH_BIN points at another build (e.g. an older commit, for before/after figures). */
export const BIN = process.env.LOCRIT_BENCH_BIN || path.join(ROOT, 'bin', 'locrit-mem.js');
export const FLOORS = path.join(ROOT, 'dist', 'bench', 'floors');

export interface Side {
  label: string;
  /** Untimed preparation before each run (e.g. a fresh copy of the database for a destructive run). */
  prepare?: (round: number) => RunSpec;
  spec?: RunSpec;
  /** Exit codes that count as success (default: 0 only). */
  okCodes?: number[];
  /** Throws when the run did not do the expected work. */
  check?: (result: Measured) => void;
}

export interface SideSummary {
  label: string;
  runs: number;
  wallMs: number[];
  medianMs: number;
  minMs: number;
  /** Median over the runs of the sampled peak RSS of the whole process tree. */
  medianPeakRss: number;
  /** Largest sampled tree peak over all runs. */
  maxPeakRss: number;
  /** Largest sum of per-process high-water marks over all runs (upper bound). */
  maxHwmSum: number;
  maxProcesses: number;
  last: Measured;
}

export interface Comparison {
  name: string;
  ours: SideSummary;
  floor: SideSummary;
  /** ours median / floor median. */
  ratio: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function runSide(side: Side, round: number): Promise<Measured> {
  const spec = side.prepare ? side.prepare(round) : side.spec!;
  const result = await measure(spec);
  if (!(side.okCodes ?? [0]).includes(result.code ?? -1)) {
    throw new Error(`${side.label} failed (exit ${result.code ?? result.signal}): ${[spec.command, ...spec.args].join(' ')}\n${result.stderr.slice(-2000)}`);
  }
  side.check?.(result);
  return result;
}

function summarise(label: string, results: Measured[]): SideSummary {
  const wall = results.map((r) => r.wallMs);
  return {
    label,
    runs: results.length,
    wallMs: wall,
    medianMs: median(wall),
    minMs: Math.min(...wall),
    medianPeakRss: median(results.map((r) => r.peakTreeRss)),
    maxPeakRss: Math.max(...results.map((r) => r.peakTreeRss)),
    maxHwmSum: Math.max(...results.map((r) => r.hwmSumRss)),
    maxProcesses: Math.max(...results.map((r) => r.peakProcesses)),
    last: results[results.length - 1],
  };
}

/** `runs` timed rounds of each side, alternating, after `warmups` untimed rounds of each. */
export async function compare(name: string, ours: Side, floor: Side, runs: number, log: (line: string) => void, warmups = 1): Promise<Comparison> {
  for (let w = 0; w < warmups; w++) {
    await runSide(ours, -1 - w);
    await runSide(floor, -1 - w);
  }
  const oursResults: Measured[] = [];
  const floorResults: Measured[] = [];
  for (let round = 0; round < runs; round++) {
    const order: [Side, Measured[]][] = round % 2 === 0 ? [[ours, oursResults], [floor, floorResults]] : [[floor, floorResults], [ours, oursResults]];
    for (const [side, into] of order) into.push(await runSide(side, round));
    log(`    round ${round + 1}/${runs}: ours ${fmtMs(oursResults[oursResults.length - 1].wallMs)}, floor ${fmtMs(floorResults[floorResults.length - 1].wallMs)}`);
  }
  const o = summarise(ours.label, oursResults);
  const f = summarise(floor.label, floorResults);
  return { name, ours: o, floor: f, ratio: o.medianMs / f.medianMs };
}

/** Only our side, several times (for figures without a floor, e.g. RSS at two sizes). */
export async function repeat(side: Side, runs: number): Promise<SideSummary> {
  const results: Measured[] = [];
  for (let round = 0; round < runs; round++) results.push(await runSide(side, round));
  return summarise(side.label, results);
}

export function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

export function fmtMb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

/** Environment for our CLI: no colour, no config file from the caller's environment. */
export function cliEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NO_COLOR: '1', LOCRIT_MEM_CONFIG: '' };
}
