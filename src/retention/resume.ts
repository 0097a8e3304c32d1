/**
 * An interrupted run, finished or rolled back before anything else: a journal whose archive is
 * complete means the archive is verified again and its messages deleted (finished); a journal
 * without one, or a `.partial` folder, means the half-written archive is removed (rolled back).
 * A finished run is not planned again: the rules applied to what the killed run left would
 * select more (the emergency count rule halves whatever it finds), so the rerun only completes
 * the killed run's plan (its delete, then its compaction).
 */
import fs from 'node:fs';
import path from 'node:path';
import { listArchives, MANIFEST_FILE, messageFilesOf, verifyArchive } from '../archive/format.js';
import { readJournal, removeJournal } from '../archive/journal.js';
import { DataSafetyError } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';
import type { TaskContext } from '../runner/protocol.js';
import { kuzuParquetReader } from '../store/archiveIo.js';
import type { KuzuStore } from '../store/kuzu.js';
import { deleteArchivedIds } from '../store/retentionQueries.js';
import type { InterruptedRun, RetentionJob } from './types.js';

/** Finishes or rolls back what a killed run left (journal, .partial folders, compaction leftovers). */
export async function resumeInterrupted(store: KuzuStore, target: LocritTarget, payload: RetentionJob, leftovers: string[], task: TaskContext): Promise<InterruptedRun | null> {
  const journal = readJournal(target.dbPath);
  const partials = listArchives(payload.archiveRoot, target.name).partial;
  if (!journal && partials.length === 0 && leftovers.length === 0) return null;
  task.progress('resuming an interrupted run');
  const report: InterruptedRun = { action: 'cleaned-up', archive: null, deleted: 0, removed: [...leftovers] };
  if (journal) {
    if (journal.archive && fs.existsSync(path.join(journal.archive, MANIFEST_FILE))) {
      const verification = await verifyArchive(journal.archive, kuzuParquetReader(store));
      if (!verification.ok) {
        const failed = verification.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ');
        throw new DataSafetyError(
          `an interrupted run left ${journal.archive}, which fails verification (${failed}); nothing was deleted`,
          `inspect it; remove ${path.basename(journal.archive)} and ${path.basename(target.dbPath)}.locrit-mem-journal.json only if its messages are all still in the database`,
        );
      }
      task.progress('finishing the interrupted run: deleting what it archived');
      report.deleted = await deleteArchivedIds(store, messageFilesOf(journal.archive), 'present');
      report.action = 'finished';
      report.archive = journal.archive;
    } else if (journal.archive) {
      report.action = 'rolled-back';
    }
    if (journal.partial && fs.existsSync(journal.partial)) {
      fs.rmSync(journal.partial, { recursive: true, force: true });
      report.removed.push(journal.partial);
    }
    // A finished run keeps its journal until this run has also compacted (the caller removes it):
    // killed again before that, the next run still finishes that plan instead of making a new one.
    if (report.action !== 'finished') removeJournal(target.dbPath);
  }
  for (const partial of partials) {
    if (!fs.existsSync(partial)) continue;
    fs.rmSync(partial, { recursive: true, force: true });
    report.removed.push(partial);
    if (report.action === 'cleaned-up') report.action = 'rolled-back';
  }
  return report;
}
