/**
 * 8: the reset merge. A Locrit the application reset (a backup of 50,000 messages beside a
 *    fresh kuzu.db of 50,000 more): ours = `recover <locrit>`, which finds the reset and merges
 *    the backup back; floor = a script copying both files into a fresh database
 *    (bench/floors/merge.ts).
 * 9: salvage. A Locrit of 50,000 messages with 3 damaged pages: ours = `recover <locrit>
 *    --accept-loss`; floor = a script reading each table whole in a child process and loading
 *    what could be read into a fresh database (bench/floors/salvage.ts). Figures: rows per second
 *    and the share of the rows recovered, both sides.
 * Every round works on a fresh copy of the cached fixture (copying is not timed).
 */
import path from 'node:path';
import { damagedLocrit, resetLocrit, scratchCopy, type DamagedFixture, type ResetFixture } from '../lib/fixtures.js';
import { BIN, cliEnv, compare, FLOORS, type Side } from '../lib/harness.js';
import { figureFrom, type BenchOutcome } from '../lib/report.js';
import { ARCHIVE_POOL_MB, scratchConfig } from './archive.js';
import type { BenchContext } from './context.js';

/** Pages overwritten in the salvage fixture (see damagedLocrit). */
const DAMAGED_PAGES = [1790, 1850, 4010];
/**
 * The floors' buffer pool. Building the HNSW index over Message needs the whole embedding
 * column in the pool, NULL rows included (768 floats x 100,000 rows = 293 MiB): the merge floor
 * failed with 384 MiB and passed with 448 MiB. Ours starts from the configured 256 MiB and
 * sizes the pool of its build itself.
 */
const FLOOR_POOL_MB = 512;

function oursRecover(dataDir: string, name: string, label: string, extra: string[]): Side['prepare'] {
  return (round) => {
    const scratch = scratchCopy(dataDir, `${label}-ours-${round}`);
    const config = scratchConfig(scratch);
    return { command: process.execPath, args: [BIN, '-c', config, '-d', scratch, '--json', 'recover', name, '--conversations-dir', path.join(scratch, 'no-conversations'), ...extra], env: cliEnv(), cwd: scratch };
  };
}

interface RecoverReport {
  locrits: { problem: string; outcome: string; merge: { messagesAfter: number | null } | null; salvage: { totals: { recovered: number } } | null; error: { message: string } | null }[];
}

export async function resetMerge(ctx: BenchContext): Promise<BenchOutcome> {
  const started = performance.now();
  const messages = ctx.quick ? 5_000 : 50_000;
  const fixture: ResetFixture = await resetLocrit(messages, 0.02, ctx.log);
  const runs = ctx.runs ?? (ctx.quick ? 1 : 2);
  const label = `merge${messages}`;
  ctx.log(`  recover: merge a backup of ${messages} messages into a kuzu.db of ${messages} (${fixture.embeddedEach} embedded in each), ${runs} rounds (each on a fresh copy)`);
  const ours: Side = {
    label: 'ours',
    prepare: oursRecover(fixture.dataDir, fixture.name, label, []),
    check: (m) => {
      const locrit = (JSON.parse(m.stdout) as RecoverReport).locrits[0];
      if (locrit.outcome !== 'merged' || locrit.merge?.messagesAfter !== fixture.expected.messages) {
        throw new Error(`recover did not merge the reset (problem ${locrit.problem}, outcome ${locrit.outcome}, messages after ${locrit.merge?.messagesAfter}, expected ${fixture.expected.messages}): ${locrit.error?.message ?? ''}`);
      }
    },
  };
  const floor: Side = {
    label: 'floor',
    prepare: (round) => {
      const scratch = scratchCopy(fixture.dataDir, `${label}-floor-${round}`);
      const dir = path.join(scratch, fixture.name);
      return { command: process.execPath, args: [path.join(FLOORS, 'merge.js'), path.join(dir, 'kuzu.db'), path.join(dir, path.basename(fixture.backupPath)), path.join(scratch, 'work'), fixture.name, String(FLOOR_POOL_MB)] };
    },
    check: (m) => {
      const { messages: merged } = JSON.parse(m.stdout) as { messages: number };
      if (merged !== fixture.expected.messages) throw new Error(`floor merged ${merged} messages, expected ${fixture.expected.messages}`);
    },
  };
  const c = await compare(label, ours, floor, runs, ctx.log, 0);
  const what = `2 x ${(messages / 1000).toFixed(0)}k msgs, ${((fixture.embeddedEach / messages) * 100).toFixed(0)} % embedded`;
  return {
    id: '8',
    title: 'reset merge',
    figures: [figureFrom('8 merge', what, c, { ratio: 1.5 }, `floor peak RSS ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB (pool ${FLOOR_POOL_MB} MiB)`)],
    notes: [
      `A backup of ${messages.toLocaleString('en')} messages (${(fixture.backupBytes / 1e6).toFixed(0)} MB) and a fresh kuzu.db of ${messages.toLocaleString('en')} more (${(fixture.dbBytes / 1e6).toFixed(0)} MB), ${fixture.embeddedEach.toLocaleString('en')} with 768-float embeddings in each: most messages have none, as when the application's embedding service fails or embeddings are off; the merge rebuilds the HNSW index over every vector of both files (merging 2 x 10,000 half-embedded messages took 77 s, 65 of them in that build), which a bench run could not afford at half embedded. Merged: ${fixture.expected.messages.toLocaleString('en')} messages.`,
      `ours ${c.ours.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')} s, floor ${c.floor.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')} s; ratio ${c.ratio.toFixed(2)}; peak RSS tree ours ${(c.ours.medianPeakRss / 1e6).toFixed(0)} MB (${c.ours.maxProcesses} processes), floor ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB.`,
    ],
    seconds: (performance.now() - started) / 1000,
  };
}

export async function salvage(ctx: BenchContext): Promise<BenchOutcome> {
  const started = performance.now();
  const messages = 50_000;
  const fixture: DamagedFixture = await damagedLocrit(messages, DAMAGED_PAGES, ctx.log);
  const rowsBefore = Object.values(fixture.rowsBefore).reduce((a, b) => a + b, 0);
  const runs = ctx.runs ?? 1;
  const label = `salvage${messages}`;
  ctx.log(`  recover --accept-loss: salvage ${messages} messages (${rowsBefore} rows) with pages ${DAMAGED_PAGES.join(', ')} damaged, ${runs} round(s)`);
  let oursRows = 0;
  let floorRows = 0;
  const ours: Side = {
    label: 'ours',
    prepare: oursRecover(fixture.dataDir, fixture.name, label, ['--accept-loss']),
    okCodes: [0, 1],
    check: (m) => {
      const locrit = (JSON.parse(m.stdout) as RecoverReport).locrits[0];
      if (locrit.outcome !== 'salvaged' || !locrit.salvage) throw new Error(`recover did not salvage (problem ${locrit.problem}, outcome ${locrit.outcome}): ${locrit.error?.message ?? ''}`);
      oursRows = locrit.salvage.totals.recovered;
    },
  };
  const floor: Side = {
    label: 'floor',
    prepare: (round) => {
      const scratch = scratchCopy(fixture.dataDir, `${label}-floor-${round}`);
      return { command: process.execPath, args: [path.join(FLOORS, 'salvage.js'), path.join(scratch, fixture.name, 'kuzu.db'), path.join(scratch, 'work'), fixture.name, String(ARCHIVE_POOL_MB)] };
    },
    check: (m) => {
      floorRows = (JSON.parse(m.stdout) as { recovered: number }).recovered;
    },
  };
  const c = await compare(label, ours, floor, runs, ctx.log, 0);
  const rate = (rows: number, ms: number): string => `${Math.round(rows / (ms / 1000)).toLocaleString('en')} rows/s`;
  const share = (rows: number): string => `${((rows / rowsBefore) * 100).toFixed(1)} %`;
  return {
    id: '9',
    title: 'salvage',
    figures: [figureFrom('9 salvage', `${(messages / 1000).toFixed(0)}k msgs, 3 damaged pages`, c, {}, `recovered ours ${oursRows.toLocaleString('en')} of ${rowsBefore.toLocaleString('en')} rows (${share(oursRows)}, ${rate(oursRows, c.ours.medianMs)}), floor ${floorRows.toLocaleString('en')} (${share(floorRows)}, ${rate(floorRows, c.floor.medianMs)})`)],
    notes: [
      `${messages.toLocaleString('en')} messages, ${rowsBefore.toLocaleString('en')} rows in all tables (${(fixture.dbBytes / 1e6).toFixed(0)} MB), 4 KiB pages ${DAMAGED_PAGES.join(', ')} overwritten (one of them holds Message keys, so no message can be listed).`,
      `ours ${c.ours.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')} s, floor ${c.floor.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')} s; recovered ours ${oursRows.toLocaleString('en')} rows (${share(oursRows)}), floor ${floorRows.toLocaleString('en')} (${share(floorRows)}); peak RSS tree ours ${(c.ours.medianPeakRss / 1e6).toFixed(0)} MB, floor ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB.`,
    ],
    seconds: (performance.now() - started) / 1000,
  };
}
