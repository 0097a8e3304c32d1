/**
 * `npm run bench [-- --only stats,startup] [--quick] [--runs N]`
 *
 * Runs each benchmark (our real CLI as a subprocess against a minimal kuzu "floor" script,
 * alternating, several rounds), prints medians, ratios and peak RSS of the process tree, and
 * on a full run rewrites the generated block of bench/RESULTS.md. Fixtures are cached in
 * bench/.data/ (see lib/fixtures.ts). Not part of `npm test`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { archive } from './benchmarks/archive.js';
import { compaction } from './benchmarks/compaction.js';
import type { BenchContext } from './benchmarks/context.js';
import { resetMerge, salvage } from './benchmarks/recover.js';
import { startup } from './benchmarks/startup.js';
import { statsBig, statsLive, statsMany } from './benchmarks/stats.js';
import { validateDeep } from './benchmarks/validate.js';
import { DATA, removeScratch, ROOT } from './lib/fixtures.js';
import { machine, textTable, writeResults, type BenchOutcome } from './lib/report.js';

interface Benchmark {
  id: string;
  names: string[];
  title: string;
  run: (ctx: BenchContext) => Promise<BenchOutcome>;
}

const BENCHMARKS: Benchmark[] = [
  { id: '6', names: ['startup'], title: 'start-up: --version and --help vs node -e 0', run: startup },
  { id: '1', names: ['stats'], title: 'stats --json over 100 Locrits of 2,000 messages', run: statsMany },
  { id: '7', names: ['stats-live'], title: 'stats --json over 100 Locrits held by a live process (WAL not empty)', run: statsLive },
  { id: '2', names: ['stats-big'], title: 'stats on one Locrit of 200,000 messages', run: statsBig },
  { id: '3', names: ['archive'], title: 'archive 100,000 of 200,000 messages', run: archive },
  { id: '4', names: ['compact', 'compaction'], title: 'compaction', run: compaction },
  { id: '5', names: ['validate'], title: 'validate --deep', run: validateDeep },
  { id: '8', names: ['merge'], title: 'recover: the reset merge, 2 x 50,000 messages', run: resetMerge },
  { id: '9', names: ['salvage'], title: 'recover: salvage of 50,000 messages with 3 damaged pages', run: salvage },
];

const USAGE = `Usage: npm run bench -- [--only <names>] [--quick] [--runs <n>] [--write]
  --only <names>  comma-separated benchmarks: ${BENCHMARKS.map((b) => `${b.names[0]} (${b.id})`).join(', ')}
  --quick         smaller fixtures and fewer rounds (a smoke run)
  --runs <n>      timed rounds per side, instead of each benchmark's default
  --write         write bench/RESULTS.md even for a partial or quick run
A full run (no --only, no --quick) rewrites the generated block of bench/RESULTS.md;
other runs write bench/.data/RESULTS-partial.md.`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { only: { type: 'string' }, quick: { type: 'boolean', default: false }, runs: { type: 'string' }, write: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`Error: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let selected = BENCHMARKS;
  if (values.only) {
    const wanted = values.only.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = wanted.filter((w) => !BENCHMARKS.some((b) => b.id === w || b.names.includes(w)));
    if (unknown.length > 0) {
      process.stderr.write(`Error: unknown benchmark(s) ${unknown.join(', ')}\n${USAGE}\n`);
      return 2;
    }
    selected = BENCHMARKS.filter((b) => wanted.includes(b.id) || b.names.some((n) => wanted.includes(n)));
  }
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  if (runs !== undefined && (!Number.isInteger(runs) || runs < 1)) {
    process.stderr.write(`Error: --runs must be a whole number >= 1, got '${values.runs}'\n`);
    return 2;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    process.stderr.write('Error: dist/ is missing\nTry: npx tsc -p . (npm install does it)\n');
    return 2;
  }
  // The CLI and the floors run from dist/: a source newer than its build (an edit not yet
  // compiled, or a build under way) would measure other code than the tree's, or fail oddly.
  const stale = staleBuilds(['src', 'bench']);
  if (stale.length > 0) {
    process.stderr.write(`Error: dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''})\nTry: npx tsc -p . and wait for it to finish\n`);
    return 2;
  }

  const m = machine();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  log(`locrit-mem benchmarks, ${m.date}: ${m.cores} cores, ${m.cpu}, ${m.memory}, node ${m.node}, kuzu ${m.kuzu}; load ${m.loadAtStart}`);
  const ctx: BenchContext = { quick: values.quick, runs, log };
  const started = performance.now();
  const outcomes: BenchOutcome[] = [];
  let failed = false;
  fs.mkdirSync(DATA, { recursive: true });
  for (const benchmark of selected) {
    log(`\n[${benchmark.id}] ${benchmark.title}`);
    const t0 = performance.now();
    try {
      outcomes.push(await benchmark.run(ctx));
    } catch (error) {
      failed = true;
      const message = (error as Error).message.split('\n').slice(0, 6).join(' | ');
      log(`  FAILED: ${message}`);
      outcomes.push({ id: benchmark.id, title: benchmark.title, figures: [], skipped: `failed: ${message}`, notes: [], seconds: (performance.now() - t0) / 1000 });
    } finally {
      removeScratch();
    }
    log(`  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const totalSeconds = (performance.now() - started) / 1000;
  process.stdout.write(`\n${textTable(outcomes)}\n\nTotal: ${totalSeconds.toFixed(0)} s\n`);
  const full = !values.only && !values.quick;
  const file = full || values.write ? path.join(ROOT, 'bench', 'RESULTS.md') : path.join(DATA, 'RESULTS-partial.md');
  writeResults(file, m, outcomes, { quick: values.quick, totalSeconds, argv: process.argv.slice(2) });
  log(`Figures written to ${path.relative(process.cwd(), file) || file}`);
  return failed ? 1 : 0;
}

process.exitCode = await main();

/** The .ts files under `folders` (relative to the root) whose compiled .js in dist/ is missing or older. */
function staleBuilds(folders: string[]): string[] {
  const stale: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, relative), { withFileTypes: true })) {
      const file = path.join(relative, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.')) walk(file);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const built = fs.statSync(path.join(ROOT, 'dist', file.replace(/\.ts$/, '.js')), { throwIfNoEntry: false });
        if (!built || built.mtimeMs < fs.statSync(path.join(ROOT, file)).mtimeMs) stale.push(file);
      }
    }
  };
  for (const folder of folders) walk(folder);
  return stale;
}
