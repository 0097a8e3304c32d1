/**
 * Kills: a data-changing command is started on a fresh copy of a Locrit and its whole process
 * group (launcher and workers) gets SIGKILL at a random moment of its usual run time, as a power
 * cut or the OOM killer would do it. Right after the kill every message must still be in the
 * database or in a complete archive; the next run must finish or roll back, after which every
 * message is there exactly once (or, for recover, the database holds what an uninterrupted run
 * gives).
 */
import fs from 'node:fs';
import path from 'node:path';
import { caseRandom, type CaseResult } from '../lib/cases.js';
import { buildArchived, caseFolder, copyLocrit, LOCRIT, type BaseFixture, type BaseFixtures } from '../lib/fixtures.js';
import { hashTree, idAccounting, readArchives, readDb, sha256 } from '../lib/inspect.js';
import { outputProblems, runTool, stderrExcerpt } from '../lib/proc.js';

const BACKUP_NAME = 'kuzu.db.backup_20261030_101500';

interface Operation {
  name: string;
  /** Prepares the case folder; returns the command's arguments. */
  setup: (caseDir: string, locritDir: string) => string[];
  /** How the end state is judged. */
  check: 'archived' | 'exact' | 'at-least-control';
  /** Message ids that must be in the database or an archive (or exactly in the database, for 'exact'). */
  expected: string[];
}

export interface KillFixtures {
  operations: Operation[];
}

/** A Locrit with two pages of random bytes, the same every time: what `recover` salvages. */
function damagedBase(fixtures: BaseFixtures): BaseFixture {
  const dir = path.join(fixtures.root, 'damaged', LOCRIT);
  if (!fs.existsSync(path.join(dir, 'kuzu.db'))) {
    copyLocrit(fixtures.clean.dir, dir);
    const random = caseRandom(1, 'salvage-base');
    const file = path.join(dir, 'kuzu.db');
    const pages = Math.floor(fs.statSync(file).size / 4096);
    const fd = fs.openSync(file, 'r+');
    for (const page of [Math.floor(pages * 0.3), Math.floor(pages * 0.6)]) fs.writeSync(fd, Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256))), 0, 4096, page * 4096);
    fs.closeSync(fd);
  }
  return { dir, ids: fixtures.clean.ids, tables: {} };
}

export async function killFixtures(fixtures: BaseFixtures): Promise<KillFixtures> {
  const archived = await buildArchived(fixtures);
  const damaged = damagedBase(fixtures);
  const archiveArgs = ['archive', '--json', '--days', '0', '--keep', '10', '--max-per-conversation', '20'];
  const operations: Operation[] = [
    { name: 'archive', check: 'archived', expected: fixtures.clean.ids, setup: (_, d) => (copyLocrit(fixtures.clean.dir, d), archiveArgs) },
    { name: 'archive --compact', check: 'archived', expected: fixtures.clean.ids, setup: (_, d) => (copyLocrit(fixtures.clean.dir, d), [...archiveArgs, '--compact']) },
    { name: 'emergency-cleanup', check: 'archived', expected: fixtures.clean.ids, setup: (_, d) => (copyLocrit(fixtures.clean.dir, d), ['emergency-cleanup', '--json', '--yes', '--max-messages', '100']) },
    { name: 'validate --fix', check: 'archived', expected: fixtures.defects.ids, setup: (_, d) => (copyLocrit(fixtures.defects.dir, d), ['validate', '--json', '--fix']) },
    { name: 'recover (WAL replay)', check: 'exact', expected: fixtures.withWal.ids, setup: (_, d) => (copyLocrit(fixtures.withWal.dir, d), ['recover', '--json']) },
    { name: 'recover (salvage)', check: 'at-least-control', expected: [], setup: (_, d) => (copyLocrit(damaged.dir, d), ['recover', '--json', '--accept-loss']) },
    {
      name: 'recover --from-backup', check: 'exact', expected: fixtures.clean.ids,
      setup: (_, d) => {
        copyLocrit(archived.dir, d);
        fs.copyFileSync(path.join(fixtures.clean.dir, 'kuzu.db'), path.join(d, BACKUP_NAME));
        return ['recover', '--json', '--from-backup', path.join('data', 'memory', LOCRIT, BACKUP_NAME)];
      },
    },
    {
      name: 'recover --from-archive', check: 'exact', expected: fixtures.clean.ids,
      setup: (caseDir, d) => {
        copyLocrit(archived.dir, d);
        const to = path.join(caseDir, 'data', 'archive', LOCRIT, path.basename(archived.archiveFolder));
        fs.cpSync(archived.archiveFolder, to, { recursive: true });
        return ['recover', '--json', '--from-archive', path.relative(caseDir, to)];
      },
    },
  ];
  return { operations };
}

interface Control {
  durationMs: number;
  ids: string[];
}
const controls = new Map<string, Promise<Control>>();

/** An uninterrupted run of the operation: how long it takes here, and what it leaves. */
function control(op: Operation, casesRoot: string): Promise<Control> {
  let pending = controls.get(op.name);
  if (!pending) {
    pending = (async () => {
      const id = `control-${op.name.replace(/[^a-z]+/g, '-')}`;
      const { dir, locritDir, dbPath } = caseFolder(casesRoot, id);
      const args = op.setup(dir, locritDir);
      const run = await runTool(['-d', 'data/memory', '-j', '1', ...args, LOCRIT], { cwd: dir, timeoutMs: 300_000 });
      if (run.code === null || run.code > 1) throw new Error(`the uninterrupted ${op.name} failed (exit ${run.code}): ${stderrExcerpt(run)}`);
      const ids = (await readDb(dbPath)).ids;
      fs.rmSync(dir, { recursive: true, force: true });
      return { durationMs: run.durationMs, ids };
    })();
    controls.set(op.name, pending);
  }
  return pending;
}

function sameIds(a: string[], b: string[]): boolean {
  const set = new Set(b);
  return a.length === b.length && a.every((id) => set.has(id));
}

/** Files an interrupted run may leave beside kuzu.db that a later run should have removed. */
const LEFTOVER = /\.partial$|^\.locrit-mem-|\.tmp$|compact\./;

export async function killCase(seed: number, index: number, kill: KillFixtures, casesRoot: string): Promise<CaseResult> {
  const started = Date.now();
  const op = kill.operations[index % kill.operations.length];
  const id = `kills-${index}`;
  const random = caseRandom(seed, id);
  const failures: string[] = [];
  const notes: string[] = [];
  const reference = await control(op, casesRoot);
  const { dir, locritDir, dbPath } = caseFolder(casesRoot, id);
  const args = op.setup(dir, locritDir);
  const original = sha256(dbPath);
  const killAfterMs = Math.round(random() * reference.durationMs);
  const full = ['-d', 'data/memory', '-j', '1', ...args, LOCRIT];
  const killed = await runTool(full, { cwd: dir, timeoutMs: 300_000, killAfterMs });
  const label = `${op.name}, SIGKILL after ${killAfterMs} ms of about ${reference.durationMs}`;
  if (!killed.killed) notes.push(`finished (exit ${killed.code}) before the kill`);
  const archiveRoot = path.join(dir, 'data', 'archive');

  // Right after the kill: nothing lost.
  let doneBeforeKill = false;
  if (op.check === 'archived') {
    const inDb = fs.existsSync(dbPath) ? await readDb(dbPath) : { error: 'kuzu.db is missing', ids: [] as string[], tables: {} };
    // Killed after its last change (while reporting, or exiting): the rerun is a second run.
    doneBeforeKill = !inDb.error && sameIds(inDb.ids, reference.ids) && !fs.readdirSync(locritDir).some((f) => LEFTOVER.test(f) || f.endsWith('journal.json'));
    if (killed.killed && doneBeforeKill) notes.push(`killed after its last change: right after the kill the database held the ${inDb.ids.length} messages an uninterrupted run leaves`);
    if (inDb.error) failures.push(`right after the kill, kuzu.db cannot be read: ${inDb.error}`);
    const archives = await readArchives(archiveRoot, LOCRIT);
    if (archives.error) failures.push(`right after the kill, an archive cannot be read: ${archives.error}`);
    const { missing } = idAccounting(op.expected, inDb.ids, archives.complete);
    if (!inDb.error && missing.length) failures.push(`right after the kill, ${missing.length} message(s) are neither in the database nor in a complete archive (e.g. ${missing[0]})`);
  } else if (op.name === 'recover (salvage)') {
    const hashes = new Set(Object.values(hashTree(locritDir)));
    if (!hashes.has(original!)) failures.push('right after the kill, no file in the folder holds the damaged original bytes');
  }

  // The next run finishes or rolls back.
  const rerun = await runTool(full, { cwd: dir, timeoutMs: 300_000 });
  failures.push(...outputProblems(rerun, { json: true, exitCodes: op.name.startsWith('archive') ? [0] : [0, 1] }).map((p) => `rerun: ${p}${rerun.code !== null && rerun.code > 1 ? ` (${stderrExcerpt(rerun, 2)}${rerun.stdout.includes('"message"') ? `; ${/"message": "([^"]*)"/.exec(rerun.stdout)?.[1] ?? ''}` : ''})` : ''}`));
  const after = fs.existsSync(dbPath) ? await readDb(dbPath) : { error: 'kuzu.db is missing', ids: [] as string[], tables: {} };
  if (after.error) failures.push(`after the rerun, kuzu.db cannot be read: ${after.error}`);
  else if (op.check === 'archived') {
    const archives = await readArchives(archiveRoot, LOCRIT);
    const { missing, duplicated } = idAccounting(op.expected, after.ids, archives.complete);
    if (missing.length) failures.push(`after the rerun, ${missing.length} message(s) are lost (e.g. ${missing[0]})`);
    if (duplicated.length) failures.push(`after the rerun, ${duplicated.length} message(s) are in two places (e.g. ${duplicated[0]})`);
    if (archives.partial > 0) failures.push(`after the rerun, ${archives.partial} partial archive folder(s) remain`);
    const controlSet = new Set(reference.ids);
    // The rerun completes the killed run's plan: planned anew on what the kill left, a rule such
    // as the emergency halving would take more than one uninterrupted run does.
    const differs = after.ids.length !== reference.ids.length || after.ids.some((i) => !controlSet.has(i));
    // A second emergency-cleanup halves again what is still over the limit: only a rerun that had a killed plan to finish must match.
    if (differs && !doneBeforeKill) failures.push(`after the rerun, the database holds ${after.ids.length} messages where an uninterrupted run leaves ${reference.ids.length}`);
    else if (differs) notes.push(`the rerun, a second run, left ${after.ids.length} messages (an uninterrupted run leaves ${reference.ids.length})`);
  } else if (op.check === 'exact') {
    const want = new Set(op.expected);
    const lost = op.expected.filter((i) => !after.ids.includes(i));
    const extra = after.ids.filter((i) => !want.has(i));
    if (lost.length) failures.push(`after the rerun, ${lost.length} message(s) are missing from the database (e.g. ${lost[0]})`);
    if (extra.length) failures.push(`after the rerun, ${extra.length} unexpected message(s) are in the database`);
  } else {
    const got = new Set(after.ids);
    const lost = reference.ids.filter((i) => !got.has(i));
    if (lost.length) failures.push(`after the rerun, ${lost.length} message(s) an uninterrupted salvage brings back are missing`);
    const hashes = new Set(Object.values(hashTree(locritDir)));
    if (!hashes.has(original!)) failures.push('after the rerun, no file in the folder holds the damaged original bytes');
  }
  const leftovers = fs.readdirSync(locritDir).filter((f) => LEFTOVER.test(f));
  if (leftovers.length) failures.push(`left beside kuzu.db after the rerun: ${leftovers.join(', ')}`);
  if (failures.length === 0) fs.rmSync(dir, { recursive: true, force: true });
  return { kind: 'kills', id, group: op.name, label, passed: failures.length === 0, failures, notes, durationMs: Date.now() - started, killed: killed.killed };
}
