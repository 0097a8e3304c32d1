/**
 * 1: `stats --json` over many small Locrits (default jobs and --jobs 1) against a single
 *    process that opens each read-only, runs the same aggregates and closes, one after another.
 * 2: `stats --json` on one big Locrit against the same floor.
 * 7: `stats --json` over many Locrits that a live process holds open (each with a WAL that is
 *    not empty), against a floor that copies each database and its WAL and opens the copy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bigLocrit, locritSet, removeScratch, scratchCopy } from '../lib/fixtures.js';
import { BIN, cliEnv, compare, FLOORS, type Side } from '../lib/harness.js';
import type { Measured } from '../lib/measure.js';
import { figureFrom, type BenchOutcome } from '../lib/report.js';
import type { BenchContext } from './context.js';

/** The default `kuzu.buffer_pool_mb`; the floor opens with the same bound. */
const BUFFER_POOL_MB = 256;

interface FloorTotals {
  locrits: number;
  messages: number;
  messagesWithEmbedding: number;
  sessions: number;
  relRows: number;
  largest: number;
}

/** Checks that our JSON and the floor's totals agree, so both sides did the same work. */
function agreement(expected: { locrits: number; messages: number }): { ours: (m: Measured) => void; floor: (m: Measured) => void; last: { ours?: FloorTotals; floor?: FloorTotals } } {
  const last: { ours?: FloorTotals; floor?: FloorTotals } = {};
  return {
    last,
    ours: (m) => {
      const report = JSON.parse(m.stdout) as {
        total: { locrits: number; messages: number; messagesWithEmbedding: number; sessions: number; unavailable: number };
        locrits: { database: { relRows: Record<string, number>; largestSession: { messages: number } | null } | null }[];
      };
      if (report.total.unavailable > 0) throw new Error(`stats reported ${report.total.unavailable} unavailable Locrits`);
      last.ours = {
        locrits: report.total.locrits,
        messages: report.total.messages,
        messagesWithEmbedding: report.total.messagesWithEmbedding,
        sessions: report.total.sessions,
        relRows: report.locrits.reduce((sum, l) => sum + Object.values(l.database?.relRows ?? {}).reduce((a, b) => a + b, 0), 0),
        largest: Math.max(...report.locrits.map((l) => l.database?.largestSession?.messages ?? 0)),
      };
      if (last.ours.locrits !== expected.locrits || last.ours.messages !== expected.messages) throw new Error(`stats saw ${last.ours.locrits} Locrits / ${last.ours.messages} messages, expected ${expected.locrits} / ${expected.messages}`);
    },
    floor: (m) => {
      last.floor = JSON.parse(m.stdout) as FloorTotals;
      if (last.ours && JSON.stringify(last.ours) !== JSON.stringify(last.floor)) {
        throw new Error(`stats and its floor disagree: ours ${JSON.stringify(last.ours)}, floor ${JSON.stringify(last.floor)}`);
      }
    },
  };
}

function statsSide(label: string, dataDir: string, extra: string[], check: (m: Measured) => void): Side {
  return { label, spec: { command: process.execPath, args: [BIN, '--json', '-d', dataDir, ...extra, 'stats'], env: cliEnv(), cwd: os.tmpdir() }, check };
}

function floorSide(dbPaths: string[], check: (m: Measured) => void, copyTo: string | null = null): Side {
  return { label: 'floor', spec: { command: process.execPath, args: [path.join(FLOORS, 'stats.js'), String(BUFFER_POOL_MB), ...(copyTo ? ['--copy', copyTo] : []), ...dbPaths] }, check };
}

export async function statsMany(ctx: BenchContext): Promise<BenchOutcome> {
  const started = performance.now();
  const count = ctx.quick ? 20 : 100;
  const fixture = await locritSet(count, 2000, ctx.log);
  const notes: string[] = [];
  notes.push(`${count} Locrits of 2,000 messages (half with 768-float embeddings, vector indexes; 4 distinct databases copied under ${count} folder names), ${fixture.cached ? 'cached' : `generated in ${fixture.generatedSeconds.toFixed(1)} s`}.`);
  const dbPaths = Array.from({ length: count }, (_, i) => path.join(fixture.dataDir, `locrit_${String(i + 1).padStart(3, '0')}`, 'kuzu.db'));
  const runs = ctx.runs ?? 3;
  const figures = [];
  let warmups = 1; // the first comparison warms the page cache for both
  for (const [name, extra, goal] of [[`default jobs (${os.availableParallelism()})`, [], 1.0], ['--jobs 1', ['--jobs', '1'], 1.3]] as const) {
    ctx.log(`  stats --json ${extra.join(' ')} over ${count} Locrits, ${runs} rounds`);
    const check = agreement({ locrits: count, messages: count * 2000 });
    const c = await compare(name, statsSide('ours', fixture.dataDir, [...extra], check.ours), floorSide(dbPaths, check.floor), runs, ctx.log, warmups);
    warmups = 0;
    figures.push(figureFrom('1 stats', `${count} Locrits x 2k msgs, ${name}`, c, { ratio: goal }, `floor peak RSS ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB; ours up to ${c.ours.maxProcesses} processes`));
    notes.push(`${name}: ours ${c.ours.wallMs.map((w) => w.toFixed(0)).join(', ')} ms; floor ${c.floor.wallMs.map((w) => w.toFixed(0)).join(', ')} ms; ratio of medians ${c.ratio.toFixed(2)}; peak RSS tree ours ${(c.ours.medianPeakRss / 1e6).toFixed(0)} MB (sum of per-process high-water marks at most ${(c.ours.maxHwmSum / 1e6).toFixed(0)} MB), floor ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB.`);
  }
  return { id: '1', title: 'stats over many Locrits', figures, notes, seconds: (performance.now() - started) / 1000 };
}

export async function statsBig(ctx: BenchContext): Promise<BenchOutcome> {
  const started = performance.now();
  const fixture = await bigLocrit(ctx.quick ? 20_000 : 200_000, ctx.log);
  const notes = [`One Locrit of ${fixture.messages.toLocaleString('en')} messages, ${fixture.embedded.toLocaleString('en')} with 768-float embeddings, ${fixture.vectorIndexes ? 'vector indexes' : 'no vector index (see lib/fixtures.ts)'}; ${(fixture.dbBytes / 1e6).toFixed(0)} MB file; ${fixture.cached ? 'cached' : `generated in ${fixture.generatedSeconds.toFixed(1)} s`}.`];
  const runs = ctx.runs ?? (ctx.quick ? 3 : 5);
  ctx.log(`  stats --json on ${fixture.messages} messages, ${runs} rounds`);
  const check = agreement({ locrits: 1, messages: fixture.messages });
  const c = await compare('big', statsSide('ours', fixture.dataDir, [], check.ours), floorSide([fixture.dbPath], check.floor), runs, ctx.log);
  notes.push(`ours ${c.ours.wallMs.map((w) => w.toFixed(0)).join(', ')} ms; floor ${c.floor.wallMs.map((w) => w.toFixed(0)).join(', ')} ms; peak RSS tree ours ${(c.ours.medianPeakRss / 1e6).toFixed(0)} MB (max ${(c.ours.maxPeakRss / 1e6).toFixed(0)} MB, per-process high-water sum ${(c.ours.maxHwmSum / 1e6).toFixed(0)} MB), floor ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB.`);
  return {
    id: '2',
    title: 'stats on one big Locrit',
    figures: [figureFrom('2 stats-big', `${(fixture.messages / 1000).toFixed(0)}k msgs, half embedded`, c, { ratio: 1.3, rss: 300e6 }, `floor peak RSS ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB`)],
    notes,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Messages each live holder commits to its Locrit (left in the WAL: automatic checkpoint off). */
const LIVE_MESSAGES = 5;
/**
 * Locrits per holder process. Every open Kuzu 0.11 database reserves 8 TiB of address space
 * (its buffer pool's mmap, whatever the pool size), and a process has 128 TiB: the ninth to
 * fifteenth open in one process fail with "Mmap for size 8796093022208 failed".
 */
const LOCRITS_PER_HOLDER = 8;

/** Processes holding the databases open, as the application would; resolves when all are ready. */
async function holdAll(dbPaths: string[], holders: ChildProcess[]): Promise<void> {
  const script = fileURLToPath(new URL('../lib/liveHolders.js', import.meta.url));
  for (let i = 0; i < dbPaths.length; i += LOCRITS_PER_HOLDER) {
    const holder = spawn(process.execPath, [script, String(LIVE_MESSAGES), ...dbPaths.slice(i, i + LOCRITS_PER_HOLDER)], { stdio: ['ignore', 'pipe', 'pipe'] });
    holders.push(holder);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      holder.stderr!.on('data', (chunk) => (err += chunk));
      holder.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().startsWith('ready')) resolve();
      });
      holder.once('exit', (code) => reject(new Error(`a live holder exited with ${code}: ${err}`)));
    });
  }
}

export async function statsLive(ctx: BenchContext): Promise<BenchOutcome> {
  const started = performance.now();
  const count = ctx.quick ? 20 : 100;
  const fixture = await locritSet(count, 2000, ctx.log);
  const dataDir = scratchCopy(fixture.dataDir, 'stats-live');
  const floorCopies = path.join(path.dirname(dataDir), 'stats-live-floor');
  fs.mkdirSync(floorCopies, { recursive: true });
  const dbPaths = Array.from({ length: count }, (_, i) => path.join(dataDir, `locrit_${String(i + 1).padStart(3, '0')}`, 'kuzu.db'));
  const holders: ChildProcess[] = [];
  try {
    await holdAll(dbPaths, holders);
    const walBytes = dbPaths.reduce((sum, p) => sum + (fs.statSync(`${p}.wal`, { throwIfNoEntry: false })?.size ?? 0), 0);
    if (dbPaths.some((p) => !fs.existsSync(`${p}.wal`))) throw new Error('a held Locrit has no WAL');
    const notes = [
      `${count} Locrits of 2,000 messages (as in 1), all held open read-write by live processes (8 Locrits each) that committed ${LIVE_MESSAGES} messages to each with automatic checkpoints off: every Locrit has a WAL (${(walBytes / 1e6).toFixed(1)} MB in all). Floor: one process that copies each kuzu.db and WAL, opens the copy read-only, runs the same aggregates, removes the copy.`,
    ];
    const runs = ctx.runs ?? 3;
    const figures = [];
    let warmups = 1;
    for (const [name, extra, goal] of [[`default jobs (${os.availableParallelism()})`, [], 1.0], ['--jobs 1', ['--jobs', '1'], 1.3]] as const) {
      ctx.log(`  stats --json ${extra.join(' ')} over ${count} held Locrits, ${runs} rounds`);
      const check = agreement({ locrits: count, messages: count * (2000 + LIVE_MESSAGES) });
      const c = await compare(name, statsSide('ours', dataDir, [...extra], check.ours), floorSide(dbPaths, check.floor, floorCopies), runs, ctx.log, warmups);
      warmups = 0;
      figures.push(figureFrom('7 stats-live', `${count} held Locrits x 2k msgs + WAL, ${name}`, c, { ratio: goal }, `floor peak RSS ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB; ours up to ${c.ours.maxProcesses} processes`));
      notes.push(`${name}: ours ${c.ours.wallMs.map((w) => w.toFixed(0)).join(', ')} ms; floor ${c.floor.wallMs.map((w) => w.toFixed(0)).join(', ')} ms; ratio of medians ${c.ratio.toFixed(2)}; peak RSS tree ours ${(c.ours.medianPeakRss / 1e6).toFixed(0)} MB, floor ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB.`);
    }
    return { id: '7', title: 'stats over many Locrits held by a live process', figures, notes, seconds: (performance.now() - started) / 1000 };
  } finally {
    for (const holder of holders) {
      holder.kill('SIGTERM');
      await new Promise((resolve) => (holder.exitCode !== null || holder.signalCode !== null ? resolve(null) : holder.once('exit', resolve)));
    }
    removeScratch();
  }
}
