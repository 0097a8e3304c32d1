/**
 * One retention run on one Locrit, in a worker process: retention that never loses a message.
 * In order (phases are reported to the spinner):
 *   lock      our run lock (src/layout/runLock.ts); a database another process holds is refused
 *   resume    an interrupted earlier run is finished or rolled back (resume.ts)
 *   plan      rules -> one selection predicate; counts per rule, critical messages spared (plan.ts)
 *   export    COPY ... TO Parquet, one chunk at a time; verify; manifest; journal; rename (writeArchive.ts)
 *   delete    exactly the archived ids, one transaction, count checked; journal removed (apply.ts)
 *   compact   rebuild, verify, swap (src/store/compact.ts); low-priority embeddings are dropped here
 *
 * Memory: no table ever passes through the JS heap, and Kuzu's share is bounded by the chunk
 * size, not by the database or the selection. Export is Kuzu's COPY ... TO Parquet, one chunk
 * of at most archive.batch_messages messages per file (Kuzu sorts, so it holds one file's rows
 * in its bounded buffer pool; a pool too small for one chunk fails cleanly before any delete);
 * the id digest and the chunk bounds come from one stream of ids, one row at a time; the delete
 * is ONE transaction driven by the verified Parquet files inside Kuzu, one statement per chunk
 * file (see deleteArchivedIds: several transactions would break the all-or-nothing guarantee,
 * and batching ids through JS would buy nothing since Kuzu scans the files in 2,048-row vectors).
 *
 * --strip-embeddings is applied while rebuilding the file (see src/store/compact.ts: Kuzu cannot
 * update an indexed embedding column in place), so it always compacts.
 */
import fs from 'node:fs';
import { clearCompactionOwed, oweCompaction, readCompactionOwed } from './owed.js';
import { DatabaseUnavailableError } from '../errors.js';
import { fileSizes, sizeOf } from '../layout/files.js';
import { inspectWal } from '../layout/walOwner.js';
import { foreignWalReason, foreignWalSignsOfLive } from '../store/walContent.js';
import { listArchives } from '../archive/format.js';
import { readJournal, removeJournal } from '../archive/journal.js';
import type { LocritTarget } from '../layout/locrits.js';
import { withRunLock } from '../layout/runLock.js';
import { assertSameDatabase, noteDatabaseIdentity } from '../layout/sameDatabase.js';
import { embeddingBytes, willCompact, type RetentionSettings } from '../policy/retentionRules.js';
import type { TaskContext } from '../runner/protocol.js';
import { checkFreeSpaceForCompaction, compactDatabase, compactionPaths, removeCompactionLeftovers, type StripInRebuild } from '../store/compact.js';
import { checkHeader } from '../store/header.js';
import { withStore } from '../store/kuzu.js';
import { waitUntilFree } from '../store/locks.js';
import { withSnapshot } from '../store/snapshot.js';
import { messageCount } from '../store/retentionQueries.js';
import type { StoreSettings } from '../store/settings.js';
import { applyRetention } from './apply.js';
import { planOn, planReport, type Planned } from './plan.js';
import { resumeInterrupted } from './resume.js';
import type { InterruptedRun, RetentionJob, RetentionResult } from './types.js';

declare module '../runner/protocol.js' {
  interface TaskTable {
    retention: { payload: RetentionJob; result: RetentionResult };
  }
}

/**
 * Buffer pool of the archive worker, at most: 128 MiB per 15,000 messages of
 * archive.batch_messages (never less than 128 MiB), and never more than kuzu.buffer_pool_mb.
 * Archiving scans the whole Message table once per chunk file, and Kuzu keeps every page it
 * read in its pool until the pool is full, so a bigger pool only holds pages that are not read
 * again; what must fit is one chunk's sort (12,500 messages with 768-float embeddings: ~40 MiB)
 * and the delete transaction. Each chunk also costs a read of the whole embedding column
 * (~0.45 s of CPU at 200,000 messages, whatever the chunk's size), hence the default of 12,500
 * rather than 10,000. Measured on 200,000 messages archiving 96,005, peak RSS of the whole run
 * (128 MiB pool): 432 MB with chunks of 10,000, 484 MB with 12,500, 510 MB with 15,000.
 */
export const ARCHIVE_POOL_MB_PER_15K = 128;

export function archivePoolMb(configuredMb: number, batchMessages: number): number {
  return Math.min(configuredMb, Math.max(ARCHIVE_POOL_MB_PER_15K, Math.ceil((ARCHIVE_POOL_MB_PER_15K * batchMessages) / 15_000)));
}

/** Runs `work` with the archive pool; if Kuzu runs out of it, once more with the whole kuzu.buffer_pool_mb. */
async function withArchivePool<T>(payload: RetentionJob, work: (settings: StoreSettings) => Promise<T>): Promise<T> {
  const small = archivePoolMb(payload.store.bufferPoolMb, payload.batchMessages);
  try {
    return await work({ ...payload.store, bufferPoolMb: small });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (small < payload.store.bufferPoolMb && /buffer pool|Unable to allocate memory/i.test(message)) return work(payload.store);
    throw error;
  }
}

/**
 * A WAL that another database file wrote (left beside kuzu.db by the application's reset)
 * would be replayed by any open of kuzu.db, into the wrong file: `recover` deals with it first.
 */
async function refuseForeignWal(target: LocritTarget, settings: StoreSettings): Promise<void> {
  const wal = inspectWal(target.dbPath, fileSizes(target.dbPath).backups);
  if (!wal) return;
  let reason = wal.reason;
  if (wal.verdict === 'own') {
    // File times say nothing of a WAL copied in from another Locrit: what it would add does
    // (src/store/walContent.ts). A held database's WAL is its holder's own, being written, and
    // one that a closing holder checkpoints away meanwhile would replay nothing.
    const signs = await foreignWalSignsOfLive(target.dbPath, { bufferPoolMb: Math.min(settings.bufferPoolMb, 256) });
    if (!signs.length) return;
    reason = foreignWalReason(signs);
  }
  throw new DatabaseUnavailableError(
    `${target.dbPath}: kuzu.db.wal was written by another database file (${reason}); opening kuzu.db would replay it into this Locrit`,
    'damaged',
    `run \`locrit-mem recover ${target.name}\` first: it moves the WAL to the file that wrote it and merges the backups back`,
  );
}

/** Per-Locrit work, in a worker process. */
export async function retentionTask(target: LocritTarget, payload: RetentionJob, task: TaskContext): Promise<RetentionResult> {
  checkHeader(target.dbPath);
  await refuseForeignWal(target, payload.store);
  if (payload.dryRun) return (await planOnSnapshot(target, payload, task)).result;
  task.progress('taking the run lock');
  return withRunLock(target.dbPath, payload.command, async (lock) => {
    await waitUntilFree(target.dbPath, payload.waitSeconds, task.progress);
    // From here on, kuzu.db must stay the file it is now: the application resets a Locrit whose
    // open fails on our lock by moving kuzu.db aside. Every destructive step checks first.
    const identity = noteDatabaseIdentity(target.dbPath);
    const checkSameDatabase = (step: string): void => assertSameDatabase(identity, step, target.name);
    const pending =
      readJournal(target.dbPath) !== null ||
      listArchives(payload.archiveRoot, target.name).partial.length > 0 ||
      Object.values(compactionPaths(target.dbPath)).some((p) => fs.existsSync(p)) ||
      (payload.compact && readCompactionOwed(target.dbPath) !== null);
    let planned: Planned | null = null;
    if (!pending) {
      // A read-write open rewrites the file even when nothing changes: look first, on a private
      // copy, so that a Locrit with nothing to do is left byte for byte as it was and never locked.
      // The plan is then carried into the read-write open (see applyRetention) rather than made twice.
      const preview = await planOnSnapshot(target, payload, task);
      if (preview.result.status === 'nothing-to-do') {
        const cleaned: InterruptedRun | null = lock.removedLeftovers.length ? { action: 'cleaned-up', archive: null, deleted: 0, removed: lock.removedLeftovers } : null;
        return { ...preview.result, after: { ...preview.result.after, dbBytes: preview.result.before.dbBytes }, interrupted: cleaned ?? preview.result.interrupted };
      }
      planned = preview.p;
      // Refuse a rebuild the disk cannot hold before the read-write open, which may rewrite pages.
      if (preview.result.compactionPlanned) checkFreeSpaceForCompaction(target.dbPath, task.knobs.freeBytes);
    }
    // Each step says what it does: without these, the label of the lock (taken in microseconds)
    // stayed on screen through the cleanup and the read-write open, seconds on a big file.
    if (pending) task.progress('cleaning up after an interrupted run');
    const leftovers = [...lock.removedLeftovers, ...removeCompactionLeftovers(target.dbPath)];
    task.progress('opening the database read-write');
    // A retry with the full pool (see withArchivePool) starts with resume(): it finishes or rolls back what the first try left.
    let result = await withArchivePool(payload, (settings) => withStore(target.dbPath, { readOnly: false, ...settings }, async (store) => {
      const interrupted = await resumeInterrupted(store, target, payload, leftovers, task);
      if (interrupted?.action === 'finished') {
        // The rerun's job is to finish the killed run, not to apply the rules a second time.
        const messages = await messageCount(store);
        return emptyResult('done', { messages, dbBytes: sizeOf(target.dbPath), walPresent: false, largestSession: 0 }, interrupted, messages);
      }
      return applyRetention(store, target, payload, interrupted, task, planned, checkSameDatabase);
    }));
    // Deleted pages stay in the file until a rebuild: note it before compacting, so that a run
    // stopped before or during the compaction leaves a later --compact run something to do.
    const owed = result.deleted > 0 ? oweCompaction(target.dbPath, result.expectedBytesBack) : readCompactionOwed(target.dbPath);
    result.compactionOwed = owed;
    // Stripping embeddings is done by the rebuild, so it compacts even without --compact.
    const compactNow = willCompact({
      command: payload.command, compact: payload.compact, embeddingsToStrip: result.embeddings?.stripped ?? 0, messagesLeaving: result.deleted,
      finishedInterrupted: result.interrupted?.action === 'finished', anyRuleApplies: result.rules.some((r) => r.applies), compactionOwed: owed !== null,
    });
    if (compactNow) {
      task.progress('compacting');
      const compaction = await compactDatabase(target.dbPath, {
        ...payload.store,
        backupDir: payload.backupDir,
        keep: payload.backupKeep,
        progress: (phase) => task.progress(phase),
        beforeSwap: () => {
          task.testPoint('compacting');
          checkSameDatabase('swapping the compacted file in');
        },
        strip: payload.strip && (result.embeddings?.stripped ?? 0) > 0 ? stripInRebuild(payload.settings) : undefined,
        freeBytesSeen: task.knobs.freeBytes,
      });
      const { tables, ...rest } = compaction;
      clearCompactionOwed(target.dbPath);
      result = { ...result, status: 'done', compaction: { ...rest, tables: tables.length }, compactionOwed: null };
      if (result.embeddings) {
        result.embeddings = { ...result.embeddings, stripped: compaction.embeddingsStripped, bytesFreed: embeddingBytes(compaction.embeddingsStripped, result.embeddings.dimension) };
      }
    }
    // The run has ended (its compaction included): from here a kill leaves nothing to finish.
    removeJournal(target.dbPath);
    result.after.dbBytes = sizeOf(target.dbPath);
    const sizeLimit = result.limits.find((l) => l.name === 'max_db_size_mb');
    if (sizeLimit) {
      sizeLimit.after = result.after.dbBytes;
      sizeLimit.met = sizeLimit.limit > 0 ? result.after.dbBytes <= sizeLimit.limit : null;
    }
    return result;
  });
}

/** The plan (a dry run, or the look before a real run) from a private copy: the live file is not opened. */
async function planOnSnapshot(target: LocritTarget, payload: RetentionJob, task: TaskContext): Promise<{ p: Planned; result: RetentionResult }> {
  task.progress(payload.dryRun ? 'copying (dry run)' : 'copying');
  return withSnapshot(target.dbPath, async (snapshot) => {
    task.progress(payload.dryRun ? 'planning (dry run)' : 'planning (read-only)');
    return withArchivePool(payload, (settings) =>
      withStore(snapshot.dbPath, { readOnly: true, ...settings }, async (store) => {
        const p = await planOn(store, target, payload);
        return { p, result: planReport(p, target, payload, task) };
      }),
    );
  });
}


/** Low-priority embeddings, over the exported Message columns: all embeddings when enable_embeddings is false, else system and short messages. */
function stripInRebuild(settings: RetentionSettings): StripInRebuild {
  if (!settings.enableEmbeddings) return { where: () => 'true', params: {} };
  return { where: (c) => `(${c('role')} = 'system' OR size(coalesce(${c('content')}, '')) <= $strip_max)`, params: { strip_max: settings.lowPriorityMaxChars } };
}

function emptyResult(status: RetentionResult['status'], before: RetentionResult['before'], interrupted: InterruptedRun | null, messages: number): RetentionResult {
  return {
    status, before, after: { messages, dbBytes: null, largestSession: before.largestSession }, rules: [], selected: 0, archived: 0, deleted: interrupted?.deleted ?? 0,
    spared: 0, oldestAffected: null, newestAffected: null, expectedBytesBack: 0, archive: interrupted?.archive ? { path: interrupted.archive, files: 0, bytes: 0, idDigest: '' } : null,
    limits: [], embeddings: null, compaction: null, compactionPlanned: null, interrupted,
  };
}
