/**
 * 3: `archive` of the oldest half of a big Locrit (200,000 messages: 100,000 go) against a
 *    floor that COPYs the same rows and their relationships TO Parquet and deletes them.
 *    Every round works on a fresh copy of the cached fixture (copying is not timed). The same
 *    at 50,000 messages shows whether peak memory grows with the database's size.
 */
import fs from 'node:fs';
import path from 'node:path';
import { wallClockToInstant } from '../../src/policy/time.js';
import { bigLocrit, ordinaryLocrit, scratchCopy, type BigFixture, type DayCutoff } from '../lib/fixtures.js';
import { BIN, cliEnv, compare, FLOORS, type Comparison, type Side } from '../lib/harness.js';
import type { Measured } from '../lib/measure.js';
import { figureFrom, type BenchOutcome, type Figure } from '../lib/report.js';
import type { BenchContext } from './context.js';

/**
 * Buffer pool for archive and compaction, ours and floor alike: the default kuzu.buffer_pool_mb.
 * (Before the chunked export of 62f0e54, our archive of ~100,000 messages stopped at this size
 * with "the buffer pool is full", and peaked at 1.6 GB of RSS with 1 GiB; see RESULTS.md.)
 */
export const ARCHIVE_POOL_MB = 256;

/** `--days` that puts the cutoff at the stored wall-clock `cutoff`, measured from now. */
export function daysBefore(cutoff: string): string {
  const [date, time] = cutoff.split(' ');
  const wall = new Date(`${date}T${time}Z`);
  return String((Date.now() - wallClockToInstant(wall).getTime()) / 86_400_000);
}

/** A config file for a scratch folder: archives and backups stay inside it. */
export function scratchConfig(scratch: string): string {
  const file = path.join(scratch, 'locrit-mem.yaml');
  fs.writeFileSync(file, `kuzu:\n  buffer_pool_mb: ${ARCHIVE_POOL_MB}\narchive:\n  dir: ${path.join(scratch, 'archive')}\nbackup:\n  dir: ${path.join(scratch, 'backups')}\n`);
  fs.mkdirSync(path.join(scratch, 'backups'), { recursive: true });
  return file;
}

/** Our archive of the `count` oldest messages (critical ones included, no per-conversation cap). */
export function archiveSide(fixture: BigFixture, cutoff: DayCutoff, label: string, extra: string[] = [], check?: (m: Measured) => void): Side {
  const count = cutoff.count;
  return {
    label: 'ours',
    prepare: (round) => {
      const scratch = scratchCopy(fixture.dataDir, `${label}-ours-${round}`);
      const config = scratchConfig(scratch);
      return {
        command: process.execPath,
        args: [BIN, '-c', config, '-d', scratch, '--json', 'archive', '--days', daysBefore(cutoff.wall), '--keep', '0', '--max-per-conversation', '0', '--include-critical', ...extra],
        env: cliEnv(),
        cwd: scratch,
      };
    },
    check: (m) => {
      const report = JSON.parse(m.stdout) as { locrits: { archived: number; status: string; error?: unknown }[] };
      const locrit = report.locrits[0];
      if (locrit.archived !== count) throw new Error(`archive archived ${locrit.archived} messages, expected ${count} (status ${locrit.status})`);
      check?.(m);
    },
  };
}

function floorSide(fixture: BigFixture, cutoff: DayCutoff, label: string): Side {
  const count = cutoff.count;
  return {
    label: 'floor',
    prepare: (round) => {
      const scratch = scratchCopy(fixture.dataDir, `${label}-floor-${round}`);
      return {
        command: process.execPath,
        args: [path.join(FLOORS, 'archive.js'), path.join(scratch, fixture.name, 'kuzu.db'), path.join(scratch, 'archive'), cutoff.wall, String(ARCHIVE_POOL_MB)],
      };
    },
    check: (m) => {
      const { archived } = JSON.parse(m.stdout) as { archived: number };
      if (archived !== count) throw new Error(`floor archived ${archived} messages, expected ${count}`);
    },
  };
}

function describe(c: Comparison, fixture: BigFixture): string {
  return `${fixture.messages.toLocaleString('en')} messages (${(fixture.dbBytes / 1e6).toFixed(0)} MB file): ours ${c.ours.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')} s, floor ${c.floor.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')} s; ratio ${c.ratio.toFixed(2)}; peak RSS tree ours median ${(c.ours.medianPeakRss / 1e6).toFixed(0)} MB, max ${(c.ours.maxPeakRss / 1e6).toFixed(0)} MB (per-process high-water sum ${(c.ours.maxHwmSum / 1e6).toFixed(0)} MB, ${c.ours.maxProcesses} processes), floor ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB.`;
}

export async function archive(ctx: BenchContext): Promise<BenchOutcome> {
  const started = performance.now();
  const ordinary = await ordinaryLocrit(ctx.log);
  const big = await bigLocrit(ctx.quick ? 20_000 : 200_000, ctx.log);
  const small = await bigLocrit(ctx.quick ? 5_000 : 50_000, ctx.log);
  const notes: string[] = [];
  const figures: Figure[] = [];
  const results: { fixture: BigFixture; c: Comparison }[] = [];
  for (const [fixture, runs] of [[ordinary, ctx.runs ?? (ctx.quick ? 1 : 5)], [big, ctx.runs ?? (ctx.quick ? 1 : 2)], [small, ctx.runs ?? (ctx.quick ? 1 : 2)]] as const) {
    const cutoff = fixture.cutoffs.half;
    const count = cutoff.count;
    ctx.log(`  archive ${count} of ${fixture.messages} messages, ${runs} rounds (each on a fresh copy)`);
    const label = `archive${fixture.messages}`;
    const c = await compare(label, archiveSide(fixture, cutoff, label), floorSide(fixture, cutoff, label), runs, ctx.log, 0);
    results.push({ fixture, c });
    // The ordinary Locrit's goal is 2.0: there the fixed costs (processes, opens, the read-back) weigh most.
    const goal = fixture === ordinary ? 2.0 : 1.5;
    const size = fixture === ordinary ? `${fixture.messages.toLocaleString('en')} msgs, HNSW indexes` : `${(fixture.messages / 1000).toFixed(0)}k msgs`;
    figures.push(figureFrom('3 archive', `${count.toLocaleString('en')} of ${size}`, c, { ratio: goal, rss: 512e6 }, `floor peak RSS ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB`));
    notes.push(describe(c, fixture));
  }
  const [, b, s] = results;
  notes.push(`Peak RSS of ours at ${(s.fixture.messages / 1000).toFixed(0)}k vs ${(b.fixture.messages / 1000).toFixed(0)}k messages: ${(s.c.ours.medianPeakRss / 1e6).toFixed(0)} MB vs ${(b.c.ours.medianPeakRss / 1e6).toFixed(0)} MB (x${(b.c.ours.medianPeakRss / s.c.ours.medianPeakRss).toFixed(2)} for a x${(b.fixture.messages / s.fixture.messages).toFixed(0)} database).`);
  return { id: '3', title: 'archive', figures, notes, seconds: (performance.now() - started) / 1000 };
}
