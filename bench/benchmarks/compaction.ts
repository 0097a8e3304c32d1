/**
 * 4: compaction. Ours: `archive --compact` of the first day's messages (a few hundred), so the
 *    run is almost all rebuild: EXPORT DATABASE, IMPORT DATABASE into a fresh file, verification
 *    of every table (row count, key digest) and of every vector index, swap. Floor: the same
 *    small archive (COPY TO Parquet + delete), then EXPORT DATABASE + IMPORT DATABASE + rename.
 *    Fixture with vector indexes: rebuilding them is the bulk of the work.
 */
import path from 'node:path';
import { bigLocrit, scratchCopy, type BigFixture } from '../lib/fixtures.js';
import { compare, FLOORS, type Side } from '../lib/harness.js';
import { figureFrom, type BenchOutcome, type Figure } from '../lib/report.js';
import { ARCHIVE_POOL_MB, archiveSide } from './archive.js';
import type { BenchContext } from './context.js';

function floorSide(fixture: BigFixture, label: string): Side {
  const cutoff = fixture.cutoffs.first;
  return {
    label: 'floor',
    prepare: (round) => {
      const scratch = scratchCopy(fixture.dataDir, `${label}-floor-${round}`);
      return {
        command: process.execPath,
        args: [path.join(FLOORS, 'archive.js'), path.join(scratch, fixture.name, 'kuzu.db'), path.join(scratch, 'archive'), cutoff.wall, String(ARCHIVE_POOL_MB), '--compact'],
      };
    },
    check: (m) => {
      const { archived } = JSON.parse(m.stdout) as { archived: number };
      if (archived !== cutoff.count) throw new Error(`floor archived ${archived} messages, expected ${cutoff.count}`);
    },
  };
}

export async function compaction(ctx: BenchContext): Promise<BenchOutcome> {
  const started = performance.now();
  const cases: [BigFixture, number][] = [[await bigLocrit(ctx.quick ? 5_000 : 10_000, ctx.log, { vectorIndexes: true }), ctx.runs ?? (ctx.quick ? 1 : 2)]];
  // The 200,000-message Locrit itself is not compacted here: with its Message index (100,000
  // vectors), one rebuild is several minutes of HNSW construction, ours and floor alike, which
  // does not fit the 15-minute budget of a bench run (see bench/RESULTS.md).
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const [fixture, runs] of cases) {
    const label = `compact${fixture.messages}${fixture.vectorIndexes ? 'i' : ''}`;
    const what = `${(fixture.messages / 1000).toFixed(0)}k msgs${fixture.vectorIndexes ? ', HNSW indexes' : ', no vector index'}`;
    ctx.log(`  archive --compact (${fixture.cutoffs.first.count} messages of day one) on ${what}, ${runs} rounds (each on a fresh copy)`);
    let after = { before: 0, after: 0 };
    const ours = archiveSide(fixture, fixture.cutoffs.first, label, ['--compact'], (m) => {
      const report = JSON.parse(m.stdout) as { locrits: { compaction: { beforeBytes: number; afterBytes: number; swapped: boolean } | null }[] };
      const compacted = report.locrits[0].compaction;
      if (!compacted?.swapped) throw new Error(`archive --compact did not compact: ${JSON.stringify(compacted)}`);
      after = { before: compacted.beforeBytes, after: compacted.afterBytes };
    });
    const c = await compare(label, ours, floorSide(fixture, label), runs, ctx.log, 0);
    figures.push(figureFrom('4 compaction', what, c, { ratio: 1.2 }, `file ${(after.before / 1e6).toFixed(0)} -> ${(after.after / 1e6).toFixed(0)} MB; floor RSS ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB`));
    notes.push(`${what}: ours ${c.ours.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')} s, floor ${c.floor.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')} s; ratio ${c.ratio.toFixed(2)}; peak RSS tree ours ${(c.ours.medianPeakRss / 1e6).toFixed(0)} MB, floor ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB.`);
  }
  return { id: '4', title: 'compaction', figures, notes, seconds: (performance.now() - started) / 1000 };
}
