/**
 * --from-archive: check the archive against its manifest, back up the database, put the archived
 * messages (and their relationships) back in one transaction in a worker, and verify.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkArchive, type ArchiveToRestore } from '../store/archiveRestore.js';
import { DatabaseUnavailableError, ExitCode, UsageError } from '../errors.js';
import { copyBackup } from '../layout/backup.js';
import { DB_FILE, resolveTargets, type LocritTarget } from '../layout/locrits.js';
import { acquireRunLock } from '../layout/runLock.js';
import { noteDatabaseIdentity } from '../layout/sameDatabase.js';
import { checkHeader } from '../store/header.js';
import { elapsed, emptyBase, fail, inWorker, noteRemovedLeftovers, step, stoppedBeforeChange, verify, type RecoverEnv } from './flow.js';
import type { ArchiveRestorePart, Timed } from './types.js';

export async function restoreFromArchive(env: RecoverEnv): Promise<Timed<ArchiveRestorePart>> {
  const { options } = env;
  const location = path.resolve(env.cwd, options.fromArchive!);
  if (!fs.existsSync(location)) throw new UsageError(`--from-archive ${options.fromArchive}: ${location} does not exist`, 'pass an archive folder or its manifest.json (`locrit-mem recover --list` shows them)');
  const archive: ArchiveToRestore = await checkArchive(location);
  let target: LocritTarget;
  if (options.locrits.length > 1) throw new UsageError(`--from-archive restores into one Locrit, got ${options.locrits.length}`, 'name one Locrit, or none to use the archive\'s own');
  if (options.locrits.length === 1) target = resolveTargets(options.locrits, env.dataDir, env.cwd)[0];
  else {
    const dir = path.join(env.dataDir, archive.locrit);
    target = { name: archive.locrit, dir, dbPath: path.join(dir, DB_FILE) };
    if (!fs.existsSync(target.dbPath)) {
      throw new DatabaseUnavailableError(`${target.dbPath} does not exist: there is no database to put archive ${archive.folder} back into`, 'missing', `restore a backup first (\`locrit-mem recover ${archive.locrit} --list\`)`);
    }
  }
  const started = performance.now();
  const part: ArchiveRestorePart = {
    ...emptyBase('requested'),
    action: 'restore-archive',
    archiveRestore: { archive: archive.folder, createdAt: archive.createdAt, checks: archive.checks, dbBackup: null, messages: null, relationships: [] },
  };
  part.plan = [
    `archive ${archive.folder} (${archive.messages} message(s), made ${archive.createdAt}): every file's size and sha256 checked against the manifest`,
    'copy kuzu.db (and any WAL) to a backup (kuzu.db.locrit-mem-restore-archive_<UTC stamp>)',
    `in one transaction: create the archived messages whose id is not in the database, then their ${[...new Set(archive.relationships.map((r) => r.table))].join(', ') || 'relationships'} where both ends exist and no such relationship is there yet`,
    'verify: opens, row counts equal what the restore left, schema',
  ];
  step(part, 'check archive', true, `${archive.checks.length} check(s) passed (sizes and sha256 of every file)`);
  if (archive.locrit !== target.name) part.problems.push(`the archive was made for '${archive.locrit}', restoring into '${target.name}' as asked`);
  if (await stoppedBeforeChange(part, target.dbPath, options)) return { target, part: part, durationMs: elapsed(started) };
  const lock = acquireRunLock(target.dbPath, 'recover --from-archive');
  try {
    noteRemovedLeftovers(part, lock.removedLeftovers);
    checkHeader(target.dbPath);
    // From here on, kuzu.db must stay the file it is now (the application resets a Locrit whose open fails on our lock).
    const identity = noteDatabaseIdentity(target.dbPath);
    const backup = copyBackup(target.dbPath, 'restore-archive', env.backupDir);
    part.archiveRestore.dbBackup = backup.dbBackup;
    step(part, 'backup', true, `kept ${backup.dbBackup}${backup.walBackup ? ` and ${backup.walBackup}` : ''}`);
    const restored = await inWorker(env, 'recover-restore-archive', target, { path: target.dbPath, store: env.store, archive, identity });
    if (!restored.ok) {
      step(part, 'restore', false, restored.error.message);
      part.error = restored.error;
      part.outcome = 'failed';
      part.exitCode = ExitCode.unavailable;
      return { target, part: part, durationMs: elapsed(started) };
    }
    const r = restored.value;
    part.archiveRestore.messages = r.messages;
    part.archiveRestore.relationships = r.relationships;
    step(part, 'restore', true, `${r.messages.created} message(s) put back, ${r.messages.alreadyPresent} already present; ` +
      r.relationships.map((t) => `${t.table} +${t.created}${t.alreadyPresent ? ` (${t.alreadyPresent} present)` : ''}${t.missingEndpoint ? ` (${t.missingEndpoint} without an end)` : ''}`).join(', '));
    // Rows were added, no table: the schema is what it was (an older database may lack some).
    const verification = await verify(env, target, target.dbPath, r.countsAfter, r.schemaMissingBefore);
    part.verification = verification;
    step(part, 'verify', verification.ok, verification.ok ? 'opens; row counts equal what the restore left; schema complete' : verification.problems.join('; '));
    part.outcome = verification.ok ? 'restored' : 'failed';
    part.exitCode = verification.ok ? ExitCode.ok : ExitCode.unavailable;
  } catch (error) {
    fail(part, error);
  } finally {
    lock.release();
  }
  return { target, part: part, durationMs: elapsed(started) };
}
