/**
 * The plan of a run: the rules that apply (src/policy/retentionRules.ts) turned into one selection
 * predicate, counted per rule, with critical messages spared, the limits before and after, and
 * the embeddings --strip-embeddings would drop. A dry run reports the plan from a read-only open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { IdDigest, listArchives, MANIFEST_FILE } from '../archive/format.js';
import { readJournal } from '../archive/journal.js';
import { ExitCode, LocritMemError } from '../errors.js';
import type { LocritTarget } from '../layout/locrits.js';
import { decideRules, embeddingBytes, mebibytes, ruleParameters, willCompact, type RetentionSettings, type RuleDecision } from '../policy/retentionRules.js';
import type { TaskContext } from '../runner/protocol.js';
import { explainBufferPoolError } from '../store/archiveIo.js';
import { compactionNeedsBytes, compactionPaths, freeBytes } from '../store/compact.js';
import type { KuzuStore } from '../store/kuzu.js';
import { buildSelection, countRules, countSpared, countStrip, eachSelectedId, largestSessionAfter, measure, messageCount, stripTarget, type Selection } from '../store/retentionQueries.js';
import { readSchema, type DatabaseSchema } from '../store/schema.js';
import { embeddingDimension } from '../schema/locrit.js';
import { readCompactionOwed } from './owed.js';
import { sizeOf } from '../layout/files.js';
import type { InterruptedRun, LimitOutcome, RetentionJob, RetentionResult, RuleReport } from './types.js';

/** Everything a run decides before it changes anything. */
export interface Planned {
  schema: DatabaseSchema;
  decisions: RuleDecision[];
  selection: Selection;
  rules: RuleReport[];
  before: RetentionResult['before'];
  union: Awaited<ReturnType<typeof measure>>;
  spared: number;
  largestAfter: number;
  dimension: number | null;
  strip: { target: ReturnType<typeof stripTarget>; count: number } | null;
  /** Digest of the selected ids (format of src/archive/format.ts), to check that the export wrote exactly the planned set. */
  idDigest: string;
}

export async function planOn(store: KuzuStore, target: LocritTarget, payload: RetentionJob): Promise<Planned> {
  try {
    return await planQueries(store, target, payload);
  } catch (error) {
    throw explainBufferPoolError(error, `planning ${target.name}`, 'nothing was changed');
  }
}

async function planQueries(store: KuzuStore, target: LocritTarget, payload: RetentionJob): Promise<Planned> {
  const schema = await readSchema(store);
  if (!schema.tables.Message) throw new LocritMemError(`${target.dbPath} has no Message table: nothing to archive`, ExitCode.unavailable, 'check that this is a Locrit database (`locrit-mem validate`)');
  const messages = await messageCount(store);
  const dbBytes = sizeOf(target.dbPath);
  const decisions = decideRules(payload.command, { messages, dbBytes }, payload.settings, new Date(payload.nowMs));
  const selection = await buildSelection(store, schema, decisions, { protectCritical: payload.settings.protectCritical, criticalPatterns: payload.settings.criticalPatterns });
  const counts = await countRules(store, selection);
  const rules: RuleReport[] = decisions.map((d) => {
    const sel = selection.rules.find((r) => r.rule === d.rule);
    const count = counts.find((c) => c.rule === d.rule);
    return {
      rule: d.rule, applies: d.applies, reason: d.reason, parameters: d.plan ? ruleParameters(d.plan) : {},
      selected: count?.selected ?? 0, spared: count?.spared ?? 0, oldest: count?.oldest ?? null, newest: count?.newest ?? null, detail: sel?.detail ?? {},
    };
  });
  const type = schema.tables.Message.columns.find((c) => c.name === 'content_embedding')?.type;
  const dimension = type ? embeddingDimension(type) : null;
  const union = await measure(store, schema, selection.selected('m'), selection.params, dimension);
  const spared = await countSpared(store, selection);
  const hasSessions = Boolean(schema.tables.PART_OF && schema.tables.Session);
  const largestBefore = hasSessions ? await largestSessionAfter(store, { ...selection, selected: () => 'false' }) : 0;
  const largestAfter = hasSessions ? await largestSessionAfter(store, selection) : 0;
  let strip: Planned['strip'] = null;
  if (payload.strip && dimension !== null) {
    const stripWhat = stripTarget({ all: !payload.settings.enableEmbeddings, maxChars: payload.settings.lowPriorityMaxChars });
    // Only the messages that stay: the leaving ones take their embedding to the archive.
    const staying = { predicate: (v: string) => `(${stripWhat.predicate(v)} AND NOT ${selection.selected(v)})`, params: { ...stripWhat.params, ...selection.params } };
    strip = { target: staying, count: await countStrip(store, staying) };
  }
  const digest = new IdDigest();
  await eachSelectedId(store, selection, (id) => digest.add(id));
  return {
    schema, decisions, selection, rules, union, spared, largestAfter, dimension, strip, idDigest: digest.digest(),
    before: { messages, dbBytes, walPresent: fs.existsSync(`${target.dbPath}.wal`), largestSession: largestBefore },
  };
}

export function limitOutcomes(p: Planned, settings: RetentionSettings, afterMessages: number, afterLargest: number): LimitOutcome[] {
  const out: LimitOutcome[] = [];
  const push = (name: LimitOutcome['name'], limit: number, before: number, after: number | null): void => {
    out.push({ name, limit, before, after, met: limit > 0 && after !== null ? after <= limit : null });
  };
  push('max_messages_per_locrit', settings.maxMessagesPerLocrit, p.before.messages, afterMessages);
  push('max_db_size_mb', mebibytes(settings.maxDbSizeMb), p.before.dbBytes, null);
  push('max_messages_per_conversation', settings.maxMessagesPerConversation, p.before.largestSession, afterLargest);
  return out;
}

/** Dry run: the exact plan, from a read-only open. Changes nothing. */
export async function planDryRun(store: KuzuStore, target: LocritTarget, payload: RetentionJob, task: TaskContext): Promise<RetentionResult> {
  return planReport(await planOn(store, target, payload), target, payload, task);
}

/** The report of a plan (dry run, or the read-only look before a real run). */
export function planReport(p: Planned, target: LocritTarget, payload: RetentionJob, task: TaskContext): RetentionResult {
  task.progress('planned');
  const journal = readJournal(target.dbPath);
  const partials = listArchives(payload.archiveRoot, target.name).partial;
  const leftovers = [compactionPaths(target.dbPath).tmpDb, compactionPaths(target.dbPath).exportDir].filter((f) => fs.existsSync(f));
  const interrupted: InterruptedRun | null =
    journal || partials.length || leftovers.length
      ? {
          action: journal?.archive && fs.existsSync(path.join(journal.archive, MANIFEST_FILE)) ? 'would-finish' : journal || partials.length ? 'would-roll-back' : 'would-clean-up',
          archive: journal?.archive ?? null, deleted: 0, removed: [...partials, ...leftovers],
        }
      : null;
  const stripped = p.strip?.count ?? 0;
  const afterMessages = p.before.messages - p.union.messages;
  const somethingToDo = p.union.messages > 0 || stripped > 0;
  const owed = readCompactionOwed(target.dbPath);
  const compactWould = willCompact({
    command: payload.command, compact: payload.compact, embeddingsToStrip: stripped, messagesLeaving: p.union.messages,
    finishedInterrupted: false, anyRuleApplies: p.rules.some((r) => r.applies), compactionOwed: owed !== null,
  });
  const p2 = { ...p };
  const limits = limitOutcomes(p2, payload.settings, afterMessages, p.largestAfter);
  if (!compactWould) {
    // Without a rebuild the file keeps its size (deleted pages are only reused).
    const size = limits.find((l) => l.name === 'max_db_size_mb')!;
    size.after = p.before.dbBytes;
    size.met = size.limit > 0 ? size.after <= size.limit : null;
  }
  return {
    status: somethingToDo || compactWould || interrupted ? 'planned' : 'nothing-to-do',
    before: p.before,
    after: { messages: afterMessages, dbBytes: compactWould ? null : p.before.dbBytes, largestSession: p.largestAfter },
    rules: p.rules,
    selected: p.union.messages,
    archived: 0,
    deleted: 0,
    spared: p.spared,
    oldestAffected: p.union.oldest,
    newestAffected: p.union.newest,
    expectedBytesBack: p.union.dataBytes + embeddingBytes(stripped, p.dimension) + (compactWould ? (owed?.bytes ?? 0) : 0),
    archive: null,
    limits,
    embeddings: payload.strip ? { stripped, bytesFreed: embeddingBytes(stripped, p.dimension), dimension: p.dimension } : null,
    compaction: null,
    compactionPlanned: compactWould ? { neededBytes: compactionNeedsBytes(p.before.dbBytes), freeBytes: freeBytes(path.dirname(target.dbPath), task.knobs.freeBytes) } : null,
    compactionOwed: owed,
    interrupted,
  };
}
