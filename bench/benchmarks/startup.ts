/**
 * 6: start-up of `locrit-mem --version` and `--help` against bare `node -e 0`. Both must not
 * load Kuzu: checked on every run of the verification pass with the kuzu probe.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, cliEnv, compare } from '../lib/harness.js';
import { measure } from '../lib/measure.js';
import { kuzuProbe } from '../lib/kuzuProbe.js';
import { figureFrom, type BenchOutcome } from '../lib/report.js';
import type { BenchContext } from './context.js';

export async function startup(ctx: BenchContext): Promise<BenchOutcome> {
  const started = performance.now();
  const runs = ctx.runs ?? (ctx.quick ? 5 : 15);
  const notes: string[] = [];
  const figures = [];
  const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'locrit-bench-probe-'));
  try {
    for (const flag of ['--version', '--help']) {
      const probe = kuzuProbe(probeDir);
      const probed = await measure({ command: process.execPath, args: [BIN, flag], env: { ...cliEnv(), ...probe.env } });
      const lines = probe.read();
      const loaded = lines.filter((l) => l.kuzu.length > 0);
      if (probed.code !== 0 || lines.length === 0) throw new Error(`probe run of ${flag} failed (exit ${probed.code}, ${lines.length} probe lines)`);
      if (loaded.length > 0) throw new Error(`locrit-mem ${flag} loaded Kuzu: ${JSON.stringify(loaded)}`);
      notes.push(`${flag}: kuzu probe (require.cache and /proc/self/maps of every process at exit): ${lines.length} process(es), none loaded Kuzu.`);
      ctx.log(`  locrit-mem ${flag} vs node -e 0, ${runs} rounds`);
      const c = await compare(
        flag,
        { label: 'ours', spec: { command: process.execPath, args: [BIN, flag], env: cliEnv() } },
        { label: 'node -e 0', spec: { command: process.execPath, args: ['-e', '0'] } },
        runs,
        () => undefined,
        2,
      );
      figures.push(figureFrom('6 startup', `locrit-mem ${flag} vs node -e 0`, c, { ratio: 1.5 }, `peak RSS ours ${(c.ours.medianPeakRss / 1e6).toFixed(0)} MB, node ${(c.floor.medianPeakRss / 1e6).toFixed(0)} MB`));
      notes.push(`${flag}: ours ${c.ours.wallMs.map((w) => w.toFixed(0)).join(', ')} ms; node -e 0 ${c.floor.wallMs.map((w) => w.toFixed(0)).join(', ')} ms.`);
    }
  } finally {
    fs.rmSync(probeDir, { recursive: true, force: true });
  }
  return { id: '6', title: 'start-up', figures, notes, seconds: (performance.now() - started) / 1000 };
}
