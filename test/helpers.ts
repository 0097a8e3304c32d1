/**
 * Shared test helpers: temporary folders, real Locrit databases from the fixture generator,
 * the real CLI as a subprocess, and the id sets that prove nothing was lost.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { generateLocrit, type FixtureOptions, type FixtureSummary } from '../src/fixtures/generate.js';
import { withStore } from '../src/store/kuzu.js';
import { TEST_KNOBS_ENV } from '../src/testKnobs.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'locrit-mem.js');
/** A fixed "now" so that ages and cutoffs in fixtures are exact. */
export const FIXED_NOW = new Date('2026-11-01T12:00:00');

/** A temporary folder removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'locrit-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A small application-faithful Locrit: 16-dimension embeddings keep it fast. */
export function makeLocrit(dataDir: string, options: Partial<FixtureOptions> & { name: string }): Promise<FixtureSummary> {
  return generateLocrit({ dataDir, messages: 200, dimension: 16, days: 60, sessions: 4, seed: 1, now: FIXED_NOW, bufferPoolMb: 64, ...options });
}

export interface CliResult {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs the real launcher in a subprocess, as an operator or cron would. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: options.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', LOCRIT_MEM_CONFIG: '', ...options.env }, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const failure = error as (NodeJS.ErrnoException & { code?: number | string; signal?: string }) | null;
        resolve({ code: typeof failure?.code === 'number' ? failure.code : failure ? -1 : 0, signal: failure?.signal ?? null, stdout, stderr });
      },
    );
  });
}

/** Sorted ids of a node table, read through a read-only open. */
export async function idsOf(dbPath: string, table = 'Message'): Promise<string[]> {
  return withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
    const rows = await store.query<{ id: string }>(`MATCH (n:${table}) RETURN n.id AS id ORDER BY id`);
    return rows.map((r) => r.id);
  });
}

/** Rows per relationship table. */
export async function relCounts(dbPath: string, tables: string[]): Promise<Record<string, number>> {
  return withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
    const counts: Record<string, number> = {};
    for (const table of tables) counts[table] = Number(await store.scalar(`MATCH ()-[r:${table}]->() RETURN count(r)`));
    return counts;
  });
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Every file of a folder with its sha256, to prove a dry run touched nothing. */
export function snapshotFolder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[path.relative(dir, full)] = sha256File(full);
    }
  };
  walk(dir);
  return out;
}

export function writeConfig(dir: string, yaml: string, name = 'locrit-mem.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, yaml);
  return file;
}

/** Waits until `file` exists (a pause marker of a running command); fails if the run ends first. */
export async function waitForFile(file: string, running: Promise<unknown>): Promise<void> {
  let finished = false;
  void running.then(() => (finished = true));
  while (!fs.existsSync(file)) {
    assert.ok(!finished, `the run ended before reaching ${path.basename(file)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What the application does when its open fails: kuzu.db moves aside (the WAL stays), a fresh database takes its place. */
export async function resetLikeTheApplication(dbPath: string, scratch: string): Promise<{ movedTo: string; freshHash: string }> {
  const movedTo = path.join(path.dirname(dbPath), 'kuzu.db.backup_20261101_120000');
  fs.renameSync(dbPath, movedTo);
  const fresh = await makeLocrit(scratch, { name: 'fresh', messages: 3, sessions: 1 });
  fs.renameSync(fresh.dbPath, dbPath);
  return { movedTo, freshHash: sha256File(dbPath) };
}

/**
 * Runs the real launcher until it pauses at `point` (the pause-at test knob) on the Locrit
 * `locrit`, resets that Locrit as the application does while the run waits there, then lets the
 * run go on and returns its result with where the old database went and the fresh one's hash.
 */
export async function runCliWithResetAt(
  t: TestContext,
  point: string,
  locrit: { name: string; dbPath: string },
  args: string[],
  options: { cwd?: string } = {},
): Promise<{ result: CliResult; movedTo: string; freshHash: string }> {
  const pauses = tempDir(t);
  const running = runCli(args, { cwd: options.cwd, env: { [TEST_KNOBS_ENV]: `pause-at=${point}@${pauses}` } });
  const marker = path.join(pauses, `${locrit.name}.${point}`);
  await waitForFile(marker, running);
  const reset = await resetLikeTheApplication(locrit.dbPath, tempDir(t));
  fs.rmSync(marker);
  return { result: await running, ...reset };
}
