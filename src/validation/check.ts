/**
 * The integrity rules run against one open database: the schema, the rules computed inside Kuzu
 * as aggregates (counts and first ids, see src/store/integrityQueries.ts), the graph and the
 * limits. With `planFix`, every message that may break a rule is read and the repair `--fix`
 * would make is planned on the way.
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
  futureTimestampFrom,
  MASS_RULES,
  messageCapabilities,
  type FixPlan,
  type MessageRuleSettings,
} from '../policy/integrityRules.js';
import { formatWallClock, instantToWallClock } from '../policy/time.js';
import type { TaskContext } from '../runner/protocol.js';
import {
  countMassRules,
  duplicateGroups,
  embeddingCountPasses,
  type EmbeddingCountPass,
  judgeEmbeddings,
  judgeMetadata,
  MessageRulePass,
  onePartOfEach,
  partOfFigures,
  PartOfPass,
  readGraphFigures,
  readPartOfEdges,
  readSchemaInput,
  RespondsToPass,
  runMessagePass,
  scanMessages,
  schemaTables,
  sessionsOver,
  type GraphShortcuts,
} from '../store/integrityQueries.js';
import { withStore, type KuzuStore } from '../store/kuzu.js';
import { readSchema, type DatabaseSchema } from '../store/schema.js';
import { withSnapshot } from '../store/snapshot.js';
import { preparedSnapshot } from '../store/snapshotsAhead.js';
import type { CheckResult, ValidatePayload } from './types.js';

/** The read-only checks, on a private copy: the live file is never opened (see src/store/snapshot.ts). */
export async function checkSnapshot(target: LocritTarget, payload: ValidatePayload, task: TaskContext, planFix: boolean): Promise<{ result: CheckResult; plan: FixPlan | null }> {
  // Usually the parent took the copy already, while this worker started (see src/commands/validate.ts).
  const taken = preparedSnapshot(task.prepared, target.dbPath);
  if (!taken) task.progress('copying');
  return withSnapshot(target.dbPath, async (snapshot) => {
    task.progress('checking');
    const checked = await withStore(snapshot.dbPath, { readOnly: true, ...payload.store, privateCopy: true }, (store) => checkDatabase(store, target, payload, planFix));
    return { ...checked, result: { ...checked.result, snapshot: { takenAt: snapshot.takenAt, holder: snapshot.holder } } };
  }, { taken });
}

function messageSettingsOf(payload: ValidatePayload): MessageRuleSettings {
  return {
    enableEmbeddings: payload.settings.enable_embeddings,
    lowPriorityMaxChars: payload.settings.low_priority_max_chars,
    futureSkewSeconds: payload.settings.future_skew_seconds,
    nowWallClockMs: instantToWallClock(new Date(payload.nowMs)).getTime(),
  };
}

/** The rules computed as aggregates over a whole table, which --deep adds to its own read of that table. */
export interface RulePasses {
  message: MessageRulePass | null;
  partOf: PartOfPass | null;
  respondsTo: RespondsToPass | null;
  /** The embedding counts of the schema rules, for the tables other than Message. */
  embeddingCounts: EmbeddingCountPass[];
}

/** The per-message rules as aggregates over Message (null when Message lacks the columns they need). */
function messagePass(schema: DatabaseSchema, payload: ValidatePayload): MessageRulePass | null {
  const tables = schemaTables(schema);
  const capabilities = messageCapabilities({ tables, vectorIndexes: [], embeddingCounts: {} });
  if (!capabilities.message) return null;
  const settings = messageSettingsOf(payload);
  return new MessageRulePass(capabilities, tables.Message.columns.some((c) => c.name === 'content_embedding'), {
    futureFrom: futureTimestampFrom(settings),
    lowPriorityMaxChars: settings.lowPriorityMaxChars,
    enableEmbeddings: settings.enableEmbeddings,
  });
}

export function rulePasses(schema: DatabaseSchema, payload: ValidatePayload): RulePasses {
  const capabilities = messageCapabilities({ tables: schemaTables(schema), vectorIndexes: [], embeddingCounts: {} });
  const respondsTo = schema.tables.RESPONDS_TO;
  return {
    message: messagePass(schema, payload),
    partOf: capabilities.message && capabilities.partOf ? new PartOfPass() : null,
    respondsTo: capabilities.message && respondsTo?.from === 'Message' && respondsTo.to === 'Message' ? new RespondsToPass() : null,
    embeddingCounts: embeddingCountPasses(schema),
  };
}

/**
 * The integrity rules on an open database. `prepared`: the schema already read, and the rule
 * pass over Message when the deep read has run it (used only if it saw every batch).
 */
export async function checkDatabase(
  store: KuzuStore,
  target: LocritTarget,
  payload: ValidatePayload,
  planFix: boolean,
  prepared?: { schema: DatabaseSchema } & Partial<RulePasses>,
): Promise<{ result: CheckResult; plan: FixPlan | null; schema: DatabaseSchema }> {
  const { settings, strict } = payload;
  const schema = prepared?.schema ?? (await readSchema(store));
  const collector = new FindingCollector(strict);
  const capabilities = messageCapabilities({ tables: schemaTables(schema), vectorIndexes: [], embeddingCounts: {} });
  const messageSettings = messageSettingsOf(payload);
  const planner = planFix ? new FixPlanBuilder() : null;
  const knownEmbeddings: Record<string, number> = Object.fromEntries((prepared?.embeddingCounts ?? []).map((pass) => pass.known()).filter((known): known is [string, number] => known !== null));
  const messages = schema.tables.Message ? Number(await store.scalar('MATCH (m:Message) RETURN count(m)')) : 0;
  let shortcuts: GraphShortcuts = {};
  if (planner) {
    // --fix plans message by message, so the candidate rows cross into JS (few on a Locrit worth fixing).
    const futureAfter = formatWallClock(new Date(payload.nowMs + settings.future_skew_seconds * 1000));
    await scanMessages(store, capabilities, { futureAfter }, (rows) => checkMessages(rows, messageSettings, collector, planner, MASS_RULES));
    const mass = await countMassRules(store, capabilities, { lowPriorityMaxChars: settings.low_priority_max_chars, enableEmbeddings: settings.enable_embeddings });
    collector.addCounted('message.embedding-low-priority', mass.lowPriority.count, mass.lowPriority.examples);
    collector.addCounted('message.embeddings-disabled', mass.embeddingsDisabled.count, mass.embeddingsDisabled.examples);
  } else if (capabilities.message) {
    const figures = prepared?.message?.finished ? prepared.message.figures() : await runMessagePass(store, messagePass(schema, payload)!);
    for (const [rule, found] of Object.entries(figures.rules)) collector.addCounted(rule, found.count, found.examples);
    const embeddings = await judgeEmbeddings(store, figures);
    collector.addCounted('message.embedding-invalid', embeddings.count, embeddings.examples);
    const metadata = await judgeMetadata(store, figures);
    collector.addCounted('message.metadata-not-object', metadata.count, metadata.examples);
    if (capabilities.partOf) {
      const edges = prepared?.partOf?.edges() ?? (await readPartOfEdges(store));
      const partOf = await partOfFigures(store, edges, messages);
      collector.addCounted('message.part-of-not-one', partOf.notOne.count, partOf.notOne.examples);
      collector.addCounted('message.session-mismatch', partOf.mismatch.count, partOf.mismatch.examples);
      shortcuts = { respondsTo: prepared?.respondsTo?.edges() ?? null, onePartOfEach: onePartOfEach(edges, messages) && edges.mismatched === 0, sessionsUsed: edges.sessionsUsed };
    }
    if (figures.embeddings !== null) knownEmbeddings['Message.content_embedding'] = figures.embeddings;
  }
  checkSchema(await readSchemaInput(store, schema, knownEmbeddings), settings.embedding_dimension, collector);
  if (capabilities.message) {
    const copies = duplicateCopies(await duplicateGroups(store));
    for (const id of copies) collector.add('message.duplicate', id);
    planner?.addDuplicates(copies);
  }
  const graph = await readGraphFigures(store, schema, shortcuts);
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
