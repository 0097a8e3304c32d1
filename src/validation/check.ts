/**
 * The integrity rules run against one open database: the schema, every message in batches, the
 * counts Kuzu makes for the rules about many rows, the graph and the limits. With `planFix`, the
 * repair `--fix` would make is planned on the way.
 */
import fs from 'node:fs';
import type { LocritTarget } from '../layout/locrits.js';
import {
  checkLimits,
  checkMessages,
  checkSchema,
  duplicateCopies,
  FindingCollector,
  FixPlanBuilder,
  MASS_RULES,
  messageCapabilities,
  type FixPlan,
  type MessageRuleSettings,
} from '../policy/integrityRules.js';
import { formatWallClock, instantToWallClock } from '../policy/time.js';
import type { TaskContext } from '../runner/protocol.js';
import { countMassRules, duplicateGroups, readGraphFigures, readSchemaInput, scanMessages, sessionsOver } from '../store/integrityQueries.js';
import { withStore, type KuzuStore } from '../store/kuzu.js';
import { readSchema, type DatabaseSchema } from '../store/schema.js';
import { withSnapshot } from '../store/snapshot.js';
import type { CheckResult, ValidatePayload } from './types.js';

/** The read-only checks, on a private copy: the live file is never opened (see src/store/snapshot.ts). */
export async function checkSnapshot(target: LocritTarget, payload: ValidatePayload, task: TaskContext, planFix: boolean): Promise<{ result: CheckResult; plan: FixPlan | null }> {
  task.progress('copying');
  return withSnapshot(target.dbPath, async (snapshot) => {
    task.progress('checking');
    const checked = await withStore(snapshot.dbPath, { readOnly: true, ...payload.store }, (store) => checkDatabase(store, target, payload, planFix));
    return { ...checked, result: { ...checked.result, snapshot: { takenAt: snapshot.takenAt, holder: snapshot.holder } } };
  });
}

export async function checkDatabase(store: KuzuStore, target: LocritTarget, payload: ValidatePayload, planFix: boolean): Promise<{ result: CheckResult; plan: FixPlan | null; schema: DatabaseSchema }> {
  const { settings, strict } = payload;
  const schema = await readSchema(store);
  const schemaInput = await readSchemaInput(store, schema);
  const collector = new FindingCollector(strict);
  checkSchema(schemaInput, settings.embedding_dimension, collector);
  const capabilities = messageCapabilities(schemaInput);
  const messageSettings: MessageRuleSettings = {
    enableEmbeddings: settings.enable_embeddings,
    lowPriorityMaxChars: settings.low_priority_max_chars,
    futureSkewSeconds: settings.future_skew_seconds,
    nowWallClockMs: instantToWallClock(new Date(payload.nowMs)).getTime(),
  };
  const planner = planFix ? new FixPlanBuilder() : null;
  const futureAfter = formatWallClock(new Date(payload.nowMs + settings.future_skew_seconds * 1000));
  await scanMessages(store, capabilities, { futureAfter }, (rows) => checkMessages(rows, messageSettings, collector, planner ?? undefined, MASS_RULES));
  const mass = await countMassRules(store, capabilities, { lowPriorityMaxChars: settings.low_priority_max_chars, enableEmbeddings: settings.enable_embeddings });
  collector.addCounted('message.embedding-low-priority', mass.lowPriority.count, mass.lowPriority.examples);
  collector.addCounted('message.embeddings-disabled', mass.embeddingsDisabled.count, mass.embeddingsDisabled.examples);
  const messages = schema.tables.Message ? Number(await store.scalar('MATCH (m:Message) RETURN count(m)')) : 0;
  if (capabilities.message) {
    const copies = duplicateCopies(await duplicateGroups(store));
    for (const id of copies) collector.add('message.duplicate', id);
    planner?.addDuplicates(copies);
  }
  const graph = await readGraphFigures(store, schema);
  if (graph.respondsToCrossSession) collector.addCounted('graph.responds-to-cross-session', graph.respondsToCrossSession.count, graph.respondsToCrossSession.examples);
  if (graph.respondsToLater) collector.addCounted('graph.responds-to-later', graph.respondsToLater.count, graph.respondsToLater.examples);
  if (graph.emptySessions) collector.addCounted('graph.session-empty', graph.emptySessions.count, graph.emptySessions.examples);
  if (graph.usersWithoutMessages) collector.addCounted('graph.user-without-messages', graph.usersWithoutMessages.count, graph.usersWithoutMessages.examples);
  const over = await sessionsOver(store, schema, settings.max_messages_per_conversation);
  checkLimits(
    { dbBytes: fs.statSync(target.dbPath, { throwIfNoEntry: false })?.size ?? null, messages, sessionsOver: over, largestSession: over.largest },
    { maxDbSizeMb: settings.max_db_size_mb, maxMessagesPerLocrit: settings.max_messages_per_locrit, maxMessagesPerConversation: settings.max_messages_per_conversation },
    collector,
  );
  const sessions = schema.tables.Session ? Number(await store.scalar('MATCH (s:Session) RETURN count(s)')) : null;
  return { result: { findings: collector.findings(), checked: { messages, sessions } }, plan: planner?.plan ?? null, schema };
}
