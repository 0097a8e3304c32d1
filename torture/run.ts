/**
 * `npm run torture [-- --seed N] [--cases N | --cases kind=N,...] [--kinds a,b] [--jobs N] [--only id,...] [--keep]`
 *
 * Damaged files, kills, full disks, races and bad input against the built CLI, as real
 * processes. Prints a table and writes torture/TORTURE.md (a partial run writes
 * torture/.data/TORTURE-partial.md). Not part of `npm test`; test/torture/sample.test.ts runs a
 * few cases of each kind there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CASES, runCampaign } from './campaign.js';
import { KINDS, type KindName } from './lib/cases.js';
import { ROOT } from './lib/proc.js';
import { cpuSeconds, markdownReport, terminalReport } from './lib/report.js';

export const DEFAULT_SEED = 20261129;

const USAGE = `Usage: npm run torture -- [options]
  --seed <n>           seed of every random choice (default ${DEFAULT_SEED}); the same seed gives the same cases
  --cases <n|k=n,...>  cases per kind: one number for every kind, or per kind (default ${Object.entries(DEFAULT_CASES).map(([k, n]) => `${k}=${n}`).join(',')})
  --kinds <list>       kinds to run, comma-separated: ${KINDS.join(', ')} (default: all)
  --jobs <n>           cases run at the same time (default 2)
  --only <ids>         run only these case ids (from a previous report), e.g. damaged-17,kills-3
  --keep               keep the work folder (fixtures, and the folders of failed cases)
  --out <file>         write the report here (default torture/TORTURE.md for a full default run)`;

function fail(message: string): never {
  process.stderr.write(`Error: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function wholeNumber(text: string, what: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) fail(`${what} must be a whole number >= ${min}, got '${text}'`);
  return Number(text);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        seed: { type: 'string' }, cases: { type: 'string' }, kinds: { type: 'string' }, jobs: { type: 'string' }, only: { type: 'string' },
        keep: { type: 'boolean', default: false }, out: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const seed = values.seed === undefined ? DEFAULT_SEED : wholeNumber(values.seed, '--seed', 0);
  const kinds = values.kinds ? values.kinds.split(',').map((k) => k.trim()) : KINDS;
  for (const k of kinds) if (!KINDS.includes(k as KindName)) fail(`--kinds: unknown kind '${k}'`);
  const cases = { ...DEFAULT_CASES };
  if (values.cases !== undefined) {
    if (/^\d+$/.test(values.cases)) for (const k of KINDS) cases[k] = wholeNumber(values.cases, '--cases', 0);
    else
      for (const part of values.cases.split(',')) {
        const [k, n] = part.split('=');
        if (!KINDS.includes(k as KindName) || n === undefined) fail(`--cases: expected <n> or kind=<n>,..., got '${part}'`);
        cases[k as KindName] = wholeNumber(n, `--cases ${k}`, 0);
      }
  }
  const jobs = values.jobs === undefined ? 2 : wholeNumber(values.jobs, '--jobs', 1);
  const only = values.only?.split(',').map((s) => s.trim());
  const fullRun = values.seed === undefined && values.cases === undefined && values.kinds === undefined && only === undefined;
  const out = values.out ?? (fullRun ? path.join(ROOT, 'torture', 'TORTURE.md') : path.join(ROOT, 'torture', '.data', 'TORTURE-partial.md'));

  const startedAt = new Date();
  const tty = process.stderr.isTTY;
  const { results, skippedKinds, workDir } = await runCampaign({
    seed, kinds: kinds as KindName[], cases, jobs, only, keep: values.keep,
    onResult: (r, done, total) => {
      const line = `[${done}/${total}] ${r.skipped ? 'skip' : r.passed ? 'ok  ' : 'FAIL'} ${r.id} ${r.label}${r.passed ? '' : `: ${r.failures.join('; ')}`}`;
      if (tty && r.passed) process.stderr.write(`\r\x1b[K${line.slice(0, process.stderr.columns - 1)}`);
      else process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`);
    },
  });
  if (tty) process.stderr.write('\r\x1b[K');
  const meta = {
    seed, kinds: kinds as KindName[], cases, startedAt, durationMs: Date.now() - startedAt.getTime(), jobs, skippedKinds, cpuSeconds: cpuSeconds(),
    command: `npm run torture${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  };
  process.stdout.write(`${terminalReport(results, meta)}\n`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, markdownReport(results, meta));
  process.stdout.write(`report: ${path.relative(process.cwd(), out) || out}${values.keep ? `\nwork folder kept: ${workDir}` : ''}\n`);
  return results.some((r) => !r.passed && !r.skipped) ? 1 : 0;
}

process.exitCode = await main();
