/**
 * Races: two locrit-mem writers on one Locrit (the run lock must keep them apart), a reader
 * started during a writer, and the application (a process opening the file read-write in a loop)
 * running during each data-changing command. Nothing may be lost, and each run must say what it
 * did: finish, or refuse naming the other process.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { caseRandom, intIn, type CaseResult } from '../lib/cases.js';
import { caseFolder, LOCRIT, type BaseFixtures } from '../lib/fixtures.js';
import { idAccounting, readArchives, readDb } from '../lib/inspect.js';
import { jsonOf, outputProblems, runTool, stderrExcerpt, toolEnv, type RunResult } from '../lib/proc.js';
import type { KillFixtures } from './kills.js';

const APPLICATION = fileURLToPath(new URL('../lib/application.js', import.meta.url));

interface Race {
  name: string;
  /** The operation (from the kill fixtures) the race runs against. */
  op: string;
  /** The second party: another writer, a reader, or the application. */
  other: 'writer' | 'reader' | 'application';
}

export const RACES: Race[] = [
  { name: 'two archive runs', op: 'archive', other: 'writer' },
  { name: 'archive --compact and emergency-cleanup', op: 'archive --compact', other: 'writer' },
  { name: 'stats during archive --compact', op: 'archive --compact', other: 'reader' },
  { name: 'application during archive', op: 'archive', other: 'application' },
  { name: 'application during archive --compact', op: 'archive --compact', other: 'application' },
  { name: 'application during emergency-cleanup', op: 'emergency-cleanup', other: 'application' },
  { name: 'application during validate --fix', op: 'validate --fix', other: 'application' },
  { name: 'application during recover (WAL replay)', op: 'recover (WAL replay)', other: 'application' },
  { name: 'validate --deep during validate --fix', op: 'validate --fix', other: 'reader' },
  { name: 'two recover runs (WAL replay)', op: 'recover (WAL replay)', other: 'writer' },
  { name: 'application during recover --from-archive', op: 'recover --from-archive', other: 'application' },
  { name: 'two validate --fix runs', op: 'validate --fix', other: 'writer' },
];

/** A run that ended with a refusal must name why: another run, or the process holding the file. */
function saidWhat(run: RunResult): string | null {
  if (run.code === 0 || run.code === 1) return null;
  const doc = jsonOf<{ locrits?: { error?: { reason?: string; message?: string } | null }[] }>(run);
  const reason = doc?.locrits?.[0]?.error?.reason;
  if (reason === 'busy' || reason === 'in-use') return null;
  const text = `${run.stderr}\n${run.stdout}`;
  if (/another locrit-mem|in use|held by|busy|pid \d+/i.test(text)) return null;
  // Under --json a Locrit's failure is in the document, not on stderr.
  const said = doc?.locrits?.[0]?.error?.message ?? (stderrExcerpt(run, 2) || run.stdout.slice(0, 600));
  return `\`${run.args.join(' ')}\` exited ${run.code} without saying another process holds the Locrit: ${said}`;
}

export async function raceCase(seed: number, index: number, fixtures: BaseFixtures, kill: KillFixtures, casesRoot: string): Promise<CaseResult> {
  const started = Date.now();
  const race = RACES[index % RACES.length];
  const id = `races-${index}`;
  const random = caseRandom(seed, id);
  const op = kill.operations.find((o) => o.name === race.op)!;
  const { dir, locritDir, dbPath } = caseFolder(casesRoot, id);
  const args = op.setup(dir, locritDir);
  const failures: string[] = [];
  const notes: string[] = [];
  const base = ['-d', 'data/memory', '-j', '1'];
  const before = await readDb(dbPath);
  const delay = intIn(random, 0, 1500);
  let label = `${race.name}, second party after ${delay} ms`;
  const runs: Promise<RunResult>[] = [runTool([...base, ...args, LOCRIT], { cwd: dir, timeoutMs: 300_000 })];

  let application: ReturnType<typeof spawn> | null = null;
  let applicationOut = '';
  if (race.other === 'application') {
    application = spawn(process.execPath, [APPLICATION, dbPath], { cwd: dir, env: toolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    application.stdout!.setEncoding('utf8').on('data', (c: string) => (applicationOut += c));
    label = `${race.name}, the application opening the file in a loop`;
  } else {
    await new Promise((r) => setTimeout(r, delay));
    const second =
      race.other === 'reader'
        ? [...base, ...(race.op === 'validate --fix' ? ['validate', '--deep', '--json'] : ['stats', '--json']), LOCRIT]
        : race.name === 'archive --compact and emergency-cleanup'
          ? [...base, 'emergency-cleanup', '--json', '--yes', '--max-messages', '100', LOCRIT]
          : [...base, ...args, LOCRIT];
    runs.push(runTool(second, { cwd: dir, timeoutMs: 300_000 }));
  }
  const results = await Promise.all(runs);
  if (application) {
    const exited = new Promise((r) => application!.once('exit', r));
    application.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (application.exitCode === null && application.signalCode === null) application.kill('SIGKILL');
    const summary = /\{.*\}/.exec(applicationOut)?.[0];
    if (summary) {
      const { opened, failed, reasons } = JSON.parse(summary) as { opened: number; failed: number; reasons: Record<string, number> };
      notes.push(`application opens: ${opened} worked, ${failed} failed${failed ? ` (${Object.keys(reasons).slice(0, 2).join('; ')})` : ''}`);
    }
  }
  for (const run of results) {
    failures.push(...outputProblems(run, { json: true, exitCodes: [0, 1, 3] }));
    const vague = saidWhat(run);
    if (vague) failures.push(vague);
  }
  // Against the application a refusal is a right answer; between our own runs one must do the work.
  if (race.other !== 'application' && results.every((r) => r.code === 3)) failures.push('every run refused: none of them did the work');
  notes.push(`exit codes ${results.map((r) => r.code).join(' and ')}`);

  const after = await readDb(dbPath);
  if (after.error) failures.push(`afterwards, kuzu.db cannot be read: ${after.error}`);
  else if (op.check === 'archived') {
    const archives = await readArchives(path.join(dir, 'data', 'archive'), LOCRIT);
    const { missing, duplicated } = idAccounting(op.expected, after.ids, archives.complete);
    if (missing.length) failures.push(`${missing.length} message(s) are lost (e.g. ${missing[0]})`);
    if (duplicated.length) failures.push(`${duplicated.length} message(s) are in two places (e.g. ${duplicated[0]})`);
  } else {
    // A restore or replay that refused leaves the database as it was; one that ran brings every message.
    const anyDone = results.some((r) => r.code === 0 || r.code === 1);
    const want = anyDone ? op.expected : before.ids;
    const lost = want.filter((i) => !after.ids.includes(i));
    if (lost.length) failures.push(`${lost.length} message(s) are missing from the database (e.g. ${lost[0]})${anyDone ? '' : ', although every run refused'}`);
  }
  if (failures.length === 0) (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
  return { kind: 'races', id, group: race.other, label, passed: failures.length === 0, failures, notes, durationMs: Date.now() - started };
}
