/**
 * The torture campaign: builds the base fixtures once, makes the cases of each kind from the
 * seed, runs them a few at a time, and returns every result. run.ts is its command line;
 * test/torture/sample.test.ts runs a small fixed sample inside `npm test`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { damagedCase } from './kinds/damaged.js';
import { diskCase, mountRefusal } from './kinds/disk.js';
import { inputCase, inputCases } from './kinds/input.js';
import { killCase, killFixtures, type KillFixtures } from './kinds/kills.js';
import { raceCase } from './kinds/races.js';
import type { CaseResult, KindName } from './lib/cases.js';
import { buildBaseFixtures, type BaseFixtures } from './lib/fixtures.js';

export interface CampaignOptions {
  seed: number;
  kinds: KindName[];
  /** Cases per kind (a kind with a fixed list runs at most this many of them). */
  cases: Record<KindName, number>;
  jobs: number;
  /** Run only these case ids. */
  only?: string[];
  /** Keep the work folder (fixtures and failed cases) instead of removing it. */
  keep?: boolean;
  workDir?: string;
  /** Called after each case, for progress. */
  onResult?: (result: CaseResult, done: number, total: number) => void;
}

export interface CampaignResult {
  results: CaseResult[];
  skippedKinds: Partial<Record<KindName, string>>;
  workDir: string;
}

export const DEFAULT_CASES: Record<KindName, number> = { damaged: 200, input: 1000, kills: 100, disk: 10, races: 12 };

interface PlannedCase {
  id: string;
  kind: KindName;
  run: () => Promise<CaseResult>;
}

async function pool<T>(items: (() => Promise<T>)[], jobs: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await items[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'locrit-torture-'));
  const casesRoot = path.join(workDir, 'cases');
  fs.mkdirSync(casesRoot, { recursive: true });
  const fixtures: BaseFixtures = await buildBaseFixtures(path.join(workDir, 'base'));
  const skippedKinds: Partial<Record<KindName, string>> = {};
  let killSetup: Promise<KillFixtures> | undefined;
  const kills = (): Promise<KillFixtures> => (killSetup ??= killFixtures(fixtures));
  const planned: PlannedCase[] = [];
  for (const kind of options.kinds) {
    const count = options.cases[kind];
    const numbered = (make: (i: number) => Promise<CaseResult>): void => {
      for (let i = 0; i < count; i++) planned.push({ id: `${kind}-${i}`, kind, run: () => make(i) });
    };
    if (kind === 'damaged') numbered((i) => damagedCase(options.seed, i, fixtures, casesRoot));
    else if (kind === 'input') for (const c of inputCases().slice(0, count)) planned.push({ id: c.id, kind, run: () => inputCase(c, fixtures, casesRoot) });
    else if (kind === 'kills') numbered(async (i) => killCase(options.seed, i, await kills(), casesRoot));
    else if (kind === 'races') numbered(async (i) => raceCase(options.seed, i, fixtures, await kills(), casesRoot));
    else if (kind === 'disk') {
      const refusal = count > 0 ? mountRefusal(workDir) : null;
      if (refusal) skippedKinds.disk = refusal;
      else numbered(async (i) => diskCase(options.seed, i, fixtures, await kills(), casesRoot));
    }
  }
  const chosen = options.only ? planned.filter((p) => options.only!.includes(p.id)) : planned;
  const results: CaseResult[] = [];
  await pool(
    chosen.map((p) => async () => {
      let result: CaseResult;
      try {
        result = await p.run();
      } catch (error) {
        result = { kind: p.kind, id: p.id, group: 'harness', label: p.id, passed: false, failures: [`the case itself failed: ${(error as Error).stack ?? String(error)}`], durationMs: 0 };
      }
      results.push(result);
      options.onResult?.(result, results.length, chosen.length);
    }),
    options.jobs,
  );
  const order = new Map(chosen.map((p, i) => [p.id, i]));
  results.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  if (!options.keep) fs.rmSync(workDir, { recursive: true, force: true });
  return { results, skippedKinds, workDir };
}
