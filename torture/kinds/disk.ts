/**
 * Full disk: the Locrit and its archive folder live on a small tmpfs the campaign mounts itself,
 * filled up (a filler file) so that only a little room is left, then archiving, compaction, a
 * WAL replay (which first copies the pair aside), a salvage and a restore run out of space. The
 * run must fail with a clear error about the space, lose nothing, leave kuzu.db readable, and
 * work once the filler is removed. Skipped, with one message, where mounting is not permitted.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { caseRandom, type CaseResult } from '../lib/cases.js';
import { caseFolder, LOCRIT, type BaseFixtures } from '../lib/fixtures.js';
import { idAccounting, readArchives, readDb, sha256 } from '../lib/inspect.js';
import { TEST_KNOBS_ENV } from '../../src/testKnobs.js';
import { outputProblems, runTool, stderrExcerpt } from '../lib/proc.js';
import type { KillFixtures } from './kills.js';

export const DISK_OPERATIONS = ['archive', 'archive --compact', 'recover (WAL replay)', 'recover (salvage)', 'recover --from-backup', 'recover --from-archive'];
/** Room left on the disk before the run, in KiB. */
const FREE_KIB = [4, 64, 512, 4096, 12288];
const TMPFS_MIB = 96;

/** Null when this process may mount a tmpfs, else why not. */
export function mountRefusal(scratch: string): string | null {
  const dir = path.join(scratch, 'mount-probe');
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return null;
  } catch (error) {
    const text = String((error as { stderr?: Buffer }).stderr ?? error).trim().split('\n')[0];
    return `cannot mount a tmpfs here (${text || 'mount failed'}); full-disk cases need root or CAP_SYS_ADMIN`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      // not mounted
    }
  }
}

const SPACE_WORDS = /no space|ENOSPC|disk (is )?full|free (disk )?space|not enough (free )?(disk|space)|space left/i;

export async function diskCase(seed: number, index: number, fixtures: BaseFixtures, kill: KillFixtures, casesRoot: string): Promise<CaseResult> {
  const started = Date.now();
  const opName = DISK_OPERATIONS[index % DISK_OPERATIONS.length];
  const op = kill.operations.find((o) => o.name === opName)!;
  const id = `disk-${index}`;
  const random = caseRandom(seed, id);
  const freeKib = FREE_KIB[Math.floor(random() * FREE_KIB.length)];
  const failures: string[] = [];
  const notes: string[] = [];
  const { dir } = caseFolder(casesRoot, id);
  const data = path.join(dir, 'data');
  fs.rmSync(data, { recursive: true, force: true });
  fs.mkdirSync(data);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MIB}m`, 'tmpfs', data], { stdio: 'pipe' });
  try {
    const locritDir = path.join(data, 'memory', LOCRIT);
    fs.mkdirSync(locritDir, { recursive: true });
    const dbPath = path.join(locritDir, 'kuzu.db');
    const args = op.setup(dir, locritDir);
    const before = await readDb(dbPath);
    const original = sha256(dbPath);
    // Fill the disk up to `freeKib`: one filler file, outside the Locrit's folder.
    const filler = path.join(data, 'filler');
    const { bavail, bsize } = fs.statfsSync(data);
    const fillBytes = Math.max(0, bavail * bsize - freeKib * 1024);
    const fd = fs.openSync(filler, 'w');
    try {
      const chunk = Buffer.alloc(1 << 20, 0x5a);
      for (let written = 0; written < fillBytes; ) {
        const n = Math.min(chunk.length, fillBytes - written);
        written += fs.writeSync(fd, chunk, 0, n);
      }
    } catch {
      // the disk is full: exactly what we want
    } finally {
      fs.closeSync(fd);
    }
    const full = ['-d', 'data/memory', '-j', '1', ...args, LOCRIT];
    // Compaction refuses up front when statfs shows too little room; half the time the campaign
    // hides that (the test hook reports a big disk) so that the rebuild itself hits the full disk.
    const env = opName === 'archive --compact' && random() < 0.5 ? { [TEST_KNOBS_ENV]: `free-bytes=${2 ** 40}` } : {};
    if (env[TEST_KNOBS_ENV]) notes.push('free-space check bypassed');
    const run = await runTool(full, { cwd: dir, env, timeoutMs: 300_000 });
    failures.push(...outputProblems(run, { json: true, exitCodes: [0, 1, 2, 3] }));
    const failed = run.code !== 0 && run.code !== 1;
    const said = `${run.stderr}\n${run.stdout}`;
    // With --json the error is in the document (the whole run's, or the Locrit's).
    const jsonMessages = [...run.stdout.matchAll(/"message": "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
    const errorLine = run.stderr.split('\n').find((l) => l.startsWith('Error: ')) ?? jsonMessages.find((m) => SPACE_WORDS.test(m)) ?? jsonMessages[0] ?? '';
    if (failed && !SPACE_WORDS.test(said)) failures.push(`it failed (exit ${run.code}) without saying the disk is full: ${stderrExcerpt(run, 2)}${/"message": "([^"]*)"/.exec(run.stdout)?.[1] ?? ''}`);
    else if (failed) {
      // The operator must learn which disk and how full it is, and must not be sent to a repair.
      if (/\bis damaged\b|\bto salvage\b/i.test(errorLine)) failures.push(`a full disk was reported as damage: ${errorLine}`);
      if (!errorLine.includes(data)) failures.push(`the error does not name the disk's folder (${data}): ${errorLine}`);
      if (!/\d+(\.\d+)? ?(bytes|[KMG]i?B)\b[^.;]*free|free[^.;]*\d+(\.\d+)? ?(bytes|[KMG]i?B)\b/i.test(errorLine)) failures.push(`the error does not say how much is free: ${errorLine}`);
    }
    notes.push(failed ? `ran out of space (exit ${run.code}): ${errorLine.slice(0, 300)}` : `finished with ${freeKib} KiB free (exit ${run.code})`);
    // Kept with a failed case (outside the tmpfs, which is unmounted at the end).
    fs.writeFileSync(path.join(dir, 'first-run.txt'), `exit ${run.code}\n--- stderr\n${run.stderr}\n--- stdout\n${run.stdout}`);

    const check = async (when: string): Promise<void> => {
      const now = fs.existsSync(dbPath) ? await readDb(dbPath) : { error: 'kuzu.db is missing', ids: [] as string[], tables: {} };
      if (now.error) {
        // A damaged file left as it was is not a half-written one.
        if (sha256(dbPath) !== original) failures.push(`${when}, kuzu.db cannot be read: ${now.error}`);
        return;
      }
      if (op.check === 'archived') {
        const archives = await readArchives(path.join(data, 'archive'), LOCRIT);
        const { missing } = idAccounting(op.expected, now.ids, archives.complete);
        if (missing.length) failures.push(`${when}, ${missing.length} message(s) are lost (e.g. ${missing[0]})`);
      } else {
        const keep = op.check === 'exact' ? before.ids : before.error ? [] : before.ids;
        const lost = keep.filter((i) => !now.ids.includes(i));
        if (lost.length) failures.push(`${when}, ${lost.length} message(s) the database held before are missing`);
      }
    };
    await check('with the disk full');

    fs.rmSync(filler, { force: true });
    const rerun = await runTool(full, { cwd: dir, env, timeoutMs: 300_000 });
    failures.push(...outputProblems(rerun, { json: true, exitCodes: [0, 1] }).map((p) => `once space was freed: ${p} (${stderrExcerpt(rerun, 2)})`));
    await check('once space was freed');
    if (op.check === 'archived') {
      const after = await readDb(dbPath);
      const archives = await readArchives(path.join(data, 'archive'), LOCRIT);
      const { duplicated } = idAccounting(op.expected, after.ids, archives.complete);
      if (duplicated.length) failures.push(`once space was freed, ${duplicated.length} message(s) are in two places`);
      if (archives.partial) notes.push(`${archives.partial} partial archive folder(s) left`);
    } else if (op.check === 'exact') {
      const after = await readDb(dbPath);
      const lost = op.expected.filter((i) => !after.ids.includes(i));
      if (lost.length) failures.push(`once space was freed, the ${op.name} still lacks ${lost.length} message(s)`);
    }
    // A work file or folder left beside kuzu.db would be half-written data where the application
    // looks (and would fill the disk again): the run that failed, or the rerun, must clear it.
    const left = fs.readdirSync(locritDir).filter((name) => /^\.locrit-mem-|\.partial$|\.tmp(\.wal)?$|\.export$|\.work$/.test(name));
    if (left.length) failures.push(`once space was freed and the command rerun, work files are left beside kuzu.db: ${left.join(', ')}`);
  } finally {
    unmount(data);
  }
  if (failures.length === 0) fs.rmSync(dir, { recursive: true, force: true });
  return { kind: 'disk', id, group: opName, label: `${opName} with ${freeKib} KiB free on a ${TMPFS_MIB} MiB tmpfs${notes.includes('free-space check bypassed') ? ', free-space check bypassed' : ''}`, passed: failures.length === 0, failures, notes, durationMs: Date.now() - started };
}
