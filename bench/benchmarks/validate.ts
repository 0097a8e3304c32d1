/**
 * 5: `validate --deep` on the big Locrit (every integrity rule, then every column of every row
 *    of every table) against a floor that reads every column once (one hashing aggregate per
 *    table). Reports rows per second of both.
 */
import os from 'node:os';
import path from 'node:path';
import { bigLocrit } from '../lib/fixtures.js';
import { BIN, cliEnv, compare, FLOORS } from '../lib/harness.js';
import { figureFrom, type BenchOutcome } from '../lib/report.js';
import type { BenchContext } from './context.js';

const BUFFER_POOL_MB = 256;

export async function validateDeep(ctx: BenchContext): Promise<BenchOutcome> {
  const started = performance.now();
  const fixture = await bigLocrit(ctx.quick ? 20_000 : 200_000, ctx.log);
  const runs = ctx.runs ?? (ctx.quick ? 1 : 2);
  let oursRows = 0;
  let floorRows = 0;
  ctx.log(`  validate --deep on ${fixture.messages} messages, ${runs} rounds`);
  const c = await compare(
    'validate',
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
  const oursRate = oursRows / (c.ours.medianMs / 1000);
  const floorRate = floorRows / (c.floor.medianMs / 1000);
  const rate = (r: number): string => `${(r / 1000).toFixed(0)}k rows/s`;
  return {
    id: '5',
    title: 'validate --deep',
    figures: [figureFrom('5 validate --deep', `${(fixture.messages / 1000).toFixed(0)}k msgs, ${oursRows.toLocaleString('en')} rows`, c, {}, `ours ${rate(oursRate)}, floor ${rate(floorRate)}; floor RSS ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB`)],
    notes: [
      `Rows read (every table, node and relationship): ours ${oursRows.toLocaleString('en')}, floor ${floorRows.toLocaleString('en')}.`,
      `ours ${c.ours.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')} s (${rate(oursRate)}, all integrity rules plus the deep scan), floor ${c.floor.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')} s (${rate(floorRate)}); ratio ${c.ratio.toFixed(2)}; peak RSS tree ours ${(c.ours.medianPeakRss / 1e6).toFixed(0)} MB, floor ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB.`,
    ],
    seconds: (performance.now() - started) / 1000,
  };
}
