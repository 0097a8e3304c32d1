/**
 * `validate --fix`: quarantine the invalid messages into an archive (written, read back and
 * checked before anything is deleted), correct session ids from the graph, set invalid
 * embeddings to NULL, then check again. Refuses, changing nothing, while another process holds
 * the database, a WAL is present, or an interrupted run left its journal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { journalPath } from '../archive/journal.js';
import type { LocritTarget } from '../layout/locrits.js';
import { acquireRunLock } from '../layout/runLock.js';
import { assertSameDatabase, noteDatabaseIdentity } from '../layout/sameDatabase.js';
import { emptyFixPlan } from '../policy/integrityRules.js';
import type { TaskContext } from '../runner/protocol.js';
import { nullEmbeddings, setSessionFromGraph } from '../store/integrityFix.js';
import { withStore } from '../store/kuzu.js';
import { waitUntilFree } from '../store/locks.js';
import { quarantineMessages } from '../store/quarantine.js';
import { readSchema } from '../store/schema.js';
import { checkDatabase, checkSnapshot } from './check.js';
import type { FixTaskResult, ValidatePayload } from './types.js';

export async function fixDatabase(target: LocritTarget, payload: ValidatePayload, task: TaskContext): Promise<FixTaskResult> {
  const readOnly = { readOnly: true, ...payload.store };
  // The run lock stops two locrit-mem runs from changing this Locrit at once; a dry run changes nothing.
  const lock = payload.dryRun ? null : acquireRunLock(target.dbPath, 'validate --fix');
  try {
    if (!payload.dryRun) await waitUntilFree(target.dbPath, payload.waitSeconds, task.progress);
    // From here on kuzu.db must stay the file it is now (the application resets a Locrit whose open fails on our lock).
    const identity = payload.dryRun ? null : noteDatabaseIdentity(target.dbPath);
    const checkSameDatabase = (step: string): void => {
      if (identity) assertSameDatabase(identity, step, target.name);
    };
    task.progress('checking');
    // A dry run plans on a private copy; a real fix plans on the file it is about to change, which it must have to itself.
    const { result: before, plan } = payload.dryRun
      ? await checkSnapshot(target, payload, task, true)
      : await withStore(target.dbPath, readOnly, (store) => checkDatabase(store, target, payload, true));
    const fix: FixTaskResult['fix'] = { dryRun: payload.dryRun, plan: plan!, skipped: null, applied: null, archive: null };
    if (emptyFixPlan(plan!)) return { before, after: before, fix };
    const holder = before.snapshot?.holder;
    if (holder) {
      fix.skipped = `pid ${holder.pid} holds the database (the Locrit application, usually): --fix needs it to itself; stop the application, then run it again; nothing was changed`;
      return { before, after: before, fix };
    }
    if (fs.existsSync(`${target.dbPath}.wal`)) {
      // Opening read-write would replay the WAL into the file; `recover` does that with a backup first.
      fix.skipped = `a WAL is present (unclean stop): run \`locrit-mem recover ${target.name}\` first; nothing was changed`;
      return { before, after: before, fix };
    }
    // Read without readJournal(), which tidies files: a dry run must not touch anything.
    if (fs.existsSync(journalPath(target.dbPath))) {
      let command = 'locrit-mem';
      try {
        command = (JSON.parse(fs.readFileSync(journalPath(target.dbPath), 'utf8')) as { command?: string }).command ?? command;
      } catch {
        // A half-written journal still means an interrupted run.
      }
      fix.skipped = `an interrupted ${command} run left ${path.basename(journalPath(target.dbPath))}: run \`locrit-mem archive ${target.name}\` to finish it first; nothing was changed`;
      return { before, after: before, fix };
    }
    if (payload.dryRun) return { before, after: before, fix };
    task.progress('fixing');
    const quarantineIds = plan!.quarantine.map((q) => q.id);
    const rules: Record<string, number> = {};
    for (const q of plan!.quarantine) for (const rule of q.rules) rules[rule] = (rules[rule] ?? 0) + 1;
    await withStore(target.dbPath, { readOnly: false, ...payload.store }, async (store) => {
      const schema = await readSchema(store);
      let deleted = 0;
      if (quarantineIds.length > 0) {
        // Archive first, read back and checked; only then delete exactly the archived ids.
        const archive = await quarantineMessages(store, schema, {
          archiveRoot: payload.archiveRoot, locrit: target.name, dbPath: target.dbPath, ids: quarantineIds, rules, tool: payload.tool, batchMessages: payload.batchMessages,
          beforeCommit: () => checkSameDatabase('committing the delete of the quarantined messages'),
          testPoint: task.testPoint,
        });
        fix.archive = { folder: archive.folder, messages: archive.manifest.counts.messages, idDigest: archive.manifest.idDigest.value };
        deleted = archive.deleted;
      }
      checkSameDatabase('correcting session ids');
      const sessionIdsCorrected = await setSessionFromGraph(store, plan!.sessionFromGraph.map((s) => s.id));
      checkSameDatabase('setting invalid embeddings to NULL');
      const embeddingsNulled = await nullEmbeddings(store, schema, plan!.embeddingToNull);
      fix.applied = { quarantined: quarantineIds.length, deleted, sessionIdsCorrected, embeddingsNulled };
    });
    task.progress('checking again');
    const { result: after } = await withStore(target.dbPath, readOnly, (store) => checkDatabase(store, target, payload, false));
    return { before, after, fix };
  } finally {
    lock?.release();
  }
}


