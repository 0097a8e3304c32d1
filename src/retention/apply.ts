/** A real run on an open read-write store: plan, archive, delete exactly the archived ids. */
import { messageFilesOf } from '../archive/format.js';
import type { LocritTarget } from '../layout/locrits.js';
import { embeddingBytes, willCompact } from '../policy/retentionRules.js';
import type { TaskContext } from '../runner/protocol.js';
import { checkFreeSpaceForCompaction } from '../store/compact.js';
import type { KuzuStore } from '../store/kuzu.js';
import { deleteArchivedIds, deleteSelection, largestSessionAfter, messageCount } from '../store/retentionQueries.js';
import { readCompactionOwed } from './owed.js';
import { limitOutcomes, planOn, type Planned } from './plan.js';
import type { InterruptedRun, RetentionJob, RetentionResult } from './types.js';
import { writeArchive } from './writeArchive.js';

/**
 * A real run on an open read-write store. `planned`: the read-only look's plan. It is used as it
 * is when the database still holds as many messages; the export then checks that it wrote
 * exactly the planned ids (same id digest), so a database changed in between stops the run
 * before anything is deleted. Otherwise (no earlier look, or the count moved) the plan is made here.
 */
export async function applyRetention(
  store: KuzuStore, target: LocritTarget, payload: RetentionJob, interrupted: InterruptedRun | null, task: TaskContext, planned: Planned | null = null,
  /** Throws when kuzu.db is no longer the file this run opened (see src/layout/sameDatabase.ts). */
  checkSameDatabase: (step: string) => void = () => undefined,
): Promise<RetentionResult> {
  task.progress('planning');
  const p = planned && (await messageCount(store)) === planned.before.messages ? planned : await planOn(store, target, payload);
  const stripCount = p.strip?.count ?? 0;
  const compacts = willCompact({
    command: payload.command, compact: payload.compact, embeddingsToStrip: stripCount, messagesLeaving: p.union.messages,
    finishedInterrupted: interrupted?.action === 'finished', anyRuleApplies: p.rules.some((r) => r.applies),
    compactionOwed: readCompactionOwed(target.dbPath) !== null,
  });
  if (compacts) checkFreeSpaceForCompaction(target.dbPath, task.knobs.freeBytes); // refuse before changing anything

  let archive: RetentionResult['archive'] = null;
  let deleted = 0;
  if (p.union.messages > 0) {
    if (payload.archive) {
      const written = await writeArchive(store, target, payload, p, task);
      archive = written.archive;
      task.progress('deleting the archived messages');
      deleted = await deleteArchivedIds(store, messageFilesOf(written.archive.path), p.union.messages, () => {
        task.testPoint('deleting');
        checkSameDatabase('committing the delete');
      });
      // The journal stays until the whole run has ended, its compaction included (see retentionTask).
      task.testPoint('deleted');
    } else {
      task.progress('deleting (no archive)');
      deleted = await deleteSelection(store, p.selection, p.union.messages, () => {
        task.testPoint('deleting');
        checkSameDatabase('committing the delete');
      });
    }
  }

  // Embeddings are dropped by the rebuild (see StripInRebuild in src/store/compact.ts): the count here is the plan.
  const embeddings: RetentionResult['embeddings'] = payload.strip ? { stripped: stripCount, bytesFreed: embeddingBytes(stripCount, p.dimension), dimension: p.dimension } : null;

  const afterMessages = await messageCount(store);
  const largestAfter = p.schema.tables.PART_OF && p.schema.tables.Session ? await largestSessionAfter(store, { ...p.selection, selected: () => 'false' }) : 0;
  const changed = deleted > 0;
  return {
    status: changed || compacts || interrupted ? 'done' : 'nothing-to-do',
    before: p.before,
    after: { messages: afterMessages, dbBytes: null, largestSession: largestAfter },
    rules: p.rules,
    selected: p.union.messages,
    archived: archive ? p.union.messages : 0,
    deleted,
    spared: p.spared,
    oldestAffected: p.union.oldest,
    newestAffected: p.union.newest,
    expectedBytesBack: p.union.dataBytes + embeddingBytes(stripCount, p.dimension),
    archive,
    limits: limitOutcomes(p, payload.settings, afterMessages, largestAfter),
    embeddings,
    compaction: null,
    compactionPlanned: null,
    interrupted,
  };
}
