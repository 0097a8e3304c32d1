/**
 * --from-backup: check that the backup opens and reads in full (in a worker), keep the current
 * database as a backup, put a copy of the backup in its place (its WAL replayed into the copy),
 * and verify.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { copyWithRoom, swapIn } from '../layout/backup.js';
import { DB_FILE, resolveTargets, type LocritTarget } from '../layout/locrits.js';
import { acquireRunLock } from '../layout/runLock.js';
import { assertSameDatabase, noteDatabaseIdentity } from '../layout/sameDatabase.js';
import { checkHeader } from '../store/header.js';
import { workFolder } from './install.js';
import { elapsed, emptyBase, fail, inWorker, noteRemovedLeftovers, step, stoppedBeforeChange, suggestFallbacks, verify, type RecoverEnv } from './flow.js';
import type { BackupRestorePart, Timed } from './types.js';

function targetForFile(env: RecoverEnv, file: string, flag: string): LocritTarget {
  const { options } = env;
  if (options.locrits.length > 1) throw new UsageError(`${flag} restores one Locrit, got ${options.locrits.length}`, `name one Locrit: locrit-mem recover <locrit> ${flag} <path>`);
  if (options.locrits.length === 1) return resolveTargets(options.locrits, env.dataDir, env.cwd)[0];
  // A backup beside a kuzu.db belongs to that Locrit.
  const dir = path.dirname(file);
  if (fs.existsSync(path.join(dir, DB_FILE)) || path.dirname(dir) === env.dataDir) {
    return { name: path.basename(dir), dir, dbPath: path.join(dir, DB_FILE) };
  }
  throw new UsageError(`cannot tell which Locrit ${file} belongs to`, `name it: locrit-mem recover <locrit> ${flag} ${file}`);
}

export async function restoreFromBackup(env: RecoverEnv): Promise<Timed<BackupRestorePart>> {
  const { options } = env;
  const source = path.resolve(env.cwd, options.fromBackup!);
  const stat = fs.statSync(source, { throwIfNoEntry: false });
  if (!stat) throw new UsageError(`--from-backup ${options.fromBackup}: ${source} does not exist`, 'pick a file from `locrit-mem recover --list`');
  if (!stat.isFile()) throw new UsageError(`--from-backup ${options.fromBackup}: ${source} is not a file`, 'pass a kuzu.db backup file');
  const target = targetForFile(env, source, '--from-backup');
  if (path.resolve(source) === path.resolve(target.dbPath)) throw new UsageError(`--from-backup ${source} is the database itself`, 'pass one of its backups');
  const started = performance.now();
  const part: BackupRestorePart = { ...emptyBase('requested'), action: 'restore-backup', backupRestore: { source, sourceWal: null, sourceCounts: null, keptCurrentAs: null, movedWal: null } };
  const sourceWal = fs.existsSync(`${source}.wal`) ? `${source}.wal` : null;
  part.plan = [
    `check that ${source} opens read-only (every column of every table read) in a separate process`,
    `keep the current ${fs.existsSync(target.dbPath) ? 'database' : '(missing) database'} as kuzu.db.locrit-mem-pre-restore_<UTC stamp>, with any WAL moved aside with it`,
    `copy the backup${sourceWal ? ' and its WAL (replayed into the copy)' : ''} beside kuzu.db and swap it in atomically`,
    'verify: opens, row counts equal the backup\'s, schema',
  ];
  part.backupRestore.sourceWal = sourceWal;
  try {
    checkHeader(source);
    const inspected = await inWorker(env, 'recover-inspect', target, { path: source, store: env.store, deep: true });
    if (!inspected.ok) {
      step(part, 'check backup', false, inspected.error.message);
      part.outcome = 'failed';
      // The hint of the inspection speaks of salvaging a live database; for a backup the way on is another backup.
      part.error = { ...inspected.error, hint: `the current database was not touched; pick another backup or an archive (\`locrit-mem recover ${target.name} --list\`)` };
      part.exitCode = ExitCode.unavailable;
      part.problems.push(`the backup cannot be used: ${inspected.error.message}`);
      suggestFallbacks(env, target, part, [source]);
      return { target, part: part, durationMs: elapsed(started) };
    }
    const sourceCounts = inspected.value.counts;
    part.backupRestore.sourceCounts = sourceCounts;
    step(part, 'check backup', true, `opens; ${inspected.value.messages} message(s)${inspected.value.schemaMissing.length ? `; lacks ${inspected.value.schemaMissing.join(', ')}` : ''}`);
    if (await stoppedBeforeChange(part, target.dbPath, options, ExitCode.ok)) return { target, part: part, durationMs: elapsed(started) };
    const lock = acquireRunLock(target.dbPath, 'recover --from-backup');
    try {
      noteRemovedLeftovers(part, lock.removedLeftovers);
      const identity = noteDatabaseIdentity(target.dbPath);
      fs.mkdirSync(target.dir, { recursive: true });
      const work = workFolder(target.dbPath, 'restore');
      try {
        const copy = path.join(work, DB_FILE);
        copyWithRoom(source, copy, `copying the backup ${source} into ${work}`);
        if (sourceWal) {
          copyWithRoom(sourceWal, `${copy}.wal`, `copying the backup's WAL ${sourceWal} into ${work}`);
          const replayed = await inWorker(env, 'recover-replay', target, { path: copy, store: env.store });
          step(part, 'replay backup WAL', replayed.ok, replayed.ok ? 'the backup\'s WAL was replayed into the copy' : replayed.error.message);
          if (!replayed.ok) {
            part.error = replayed.error;
            part.outcome = 'failed';
            part.exitCode = ExitCode.unavailable;
            return { target, part: part, durationMs: elapsed(started) };
          }
        }
        assertSameDatabase(identity, 'swapping the restored backup in', target.name);
        const hadDb = fs.existsSync(target.dbPath);
        const swapped = swapIn(target.dbPath, copy, 'pre-restore', env.backupDir);
        part.backupRestore.keptCurrentAs = hadDb ? swapped.dbBackup : null;
        part.backupRestore.movedWal = swapped.walBackup;
        step(part, 'swap', true, `${hadDb ? `current database kept as ${swapped.dbBackup}` : 'there was no current database'}${swapped.walBackup ? `; its WAL moved to ${swapped.walBackup}` : ''}; a copy of ${source} is now ${target.dbPath}`);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
      const verification = await verify(env, target, target.dbPath, sourceCounts, inspected.value.schemaMissing);
      part.verification = verification;
      step(part, 'verify', verification.ok, verification.ok ? 'opens; row counts equal the backup\'s; schema complete' : verification.problems.join('; '));
      part.outcome = verification.ok ? 'restored' : 'failed';
      part.exitCode = verification.ok ? ExitCode.ok : ExitCode.unavailable;
    } finally {
      lock.release();
    }
  } catch (error) {
    fail(part, error);
  }
  return { target, part: part, durationMs: elapsed(started) };
}
