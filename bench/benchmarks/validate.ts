/**
 * 5: `validate --deep` (every integrity rule, then every column of every row of every table)
 *    against a floor that reads every column once (one hashing aggregate per table), on a
 *    Locrit of ordinary size (6,000 messages, goal 2.5: fixed costs weigh most there) and on the
 *    big one (200,000 messages, goal 2.0). Reports rows per second of both.
 */
import os from 'node:os';
import path from 'node:path';
import { bigLocrit, ordinaryLocrit, type BigFixture } from '../lib/fixtures.js';
import { BIN, cliEnv, compare, FLOORS, type Comparison } from '../lib/harness.js';
import { figureFrom, type BenchOutcome, type Figure } from '../lib/report.js';
import type { BenchContext } from './context.js';

const BUFFER_POOL_MB = 256;

/** Goal on a Locrit of ordinary size, fixed costs of the process and the open included. */
const ORDINARY_GOAL = 2.5;

async function compareDeep(fixture: BigFixture, runs: number, ctx: BenchContext): Promise<{ c: Comparison; oursRows: number; floorRows: number }> {
  let oursRows = 0;
  let floorRows = 0;
  ctx.log(`  validate --deep on ${fixture.messages} messages, ${runs} rounds`);
  const c = await compare(
    `validate${fixture.messages}`,
    {
      label: 'ours',
      spec: { command: process.execPath, args: [BIN, '--json', '-d', fixture.dataDir, 'validate', '--deep'], env: cliEnv(), cwd: os.tmpdir() },
      // 1 = findings: the fixture has no vector index (a warning) and is over the default limits.
      okCodes: [0, 1],
      check: (m) => {
        const report = JSON.parse(m.stdout) as { locrits: { deep: { rowsRead: number; error: string | null }[] | null }[] };
        const deep = report.locrits[0].deep;
        if (!deep) throw new Error('validate --deep reported no deep scan');
        const failed = deep.filter((t) => t.error);
        if (failed.length > 0) throw new Error(`deep scan errors: ${JSON.stringify(failed)}`);
        oursRows = deep.reduce((sum, t) => sum + t.rowsRead, 0);
      },
    },
    {
      label: 'floor',
      spec: { command: process.execPath, args: [path.join(FLOORS, 'validate.js'), fixture.dbPath, String(BUFFER_POOL_MB)] },
      check: (m) => {
        floorRows = (JSON.parse(m.stdout) as { rows: number }).rows;
      },
    },
    runs,
    ctx.log,
    0, // read-only and the fixture is already in the page cache from the earlier benchmarks
  );
  return { c, oursRows, floorRows };
}

export async function validateDeep(ctx: BenchContext): Promise<BenchOutcome> {
  const started = performance.now();
  const rate = (r: number): string => `${(r / 1000).toFixed(0)}k rows/s`;
  const figures: Figure[] = [];
  const notes: string[] = [];
  const ordinary = await ordinaryLocrit(ctx.log);
  const fixture = await bigLocrit(ctx.quick ? 20_000 : 200_000, ctx.log);
  for (const [f, runs, goal] of [[ordinary, ctx.runs ?? (ctx.quick ? 1 : 5), ORDINARY_GOAL], [fixture, ctx.runs ?? (ctx.quick ? 1 : 2), 2.0]] as const) {
    const { c, oursRows, floorRows } = await compareDeep(f, runs, ctx);
    const oursRate = oursRows / (c.ours.medianMs / 1000);
    const floorRate = floorRows / (c.floor.medianMs / 1000);
    const size = f.messages >= 10_000 ? `${(f.messages / 1000).toFixed(0)}k msgs` : `${f.messages.toLocaleString('en')} msgs, HNSW indexes`;
    figures.push(figureFrom('5 validate --deep', `${size}, ${oursRows.toLocaleString('en')} rows`, c, { ratio: goal }, `ours ${rate(oursRate)}, floor ${rate(floorRate)}; floor RSS ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB`));
    notes.push(
      `${f.messages.toLocaleString('en')} messages: rows read (every table, node and relationship) ours ${oursRows.toLocaleString('en')}, floor ${floorRows.toLocaleString('en')}; ` +
        `ours ${c.ours.wallMs.map((w) => (w / 1000).toFixed(2)).join(', ')} s (${rate(oursRate)}, all integrity rules plus the deep scan), floor ${c.floor.wallMs.map((w) => (w / 1000).toFixed(2)).join(', ')} s (${rate(floorRate)}); ratio ${c.ratio.toFixed(2)}; peak RSS tree ours ${(c.ours.medianPeakRss / 1e6).toFixed(0)} MB, floor ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB.`,
    );
  }
  return { id: '5', title: 'validate --deep', figures, notes, seconds: (performance.now() - started) / 1000 };
}
