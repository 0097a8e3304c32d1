/**
 * Longer than most files on purpose: the table of every integrity rule and the pure checks that
 * fire them, which are read together when a rule is added or changed.
 *
 * The integrity rules of `validate`, as pure functions: no Kuzu, no files. The store layer
 * (src/store/integrityQueries.ts) runs a few queries and feeds their rows in here; the command
 * assembles the findings. Every rule has a stable id (it appears in JSON, JUnit and the README),
 * a severity, a one-line meaning, and what to run next.
 */
import { embeddingDimension, NODE_TABLES, REL_TABLES, VECTOR_INDEXES } from '../schema/locrit.js';

export type Severity = 'error' | 'warn' | 'info';

export type RuleCategory = 'file' | 'schema' | 'message' | 'graph' | 'limit' | 'storage';

export interface RuleDef {
  id: string;
  category: RuleCategory;
  severity: Severity;
  /** What a finding means, in one line. */
  title: string;
  /** What to run next. */
  next: string;
  /** What `validate --fix` does about it, or null when it leaves it alone. */
  fix: 'quarantine' | 'session-from-graph' | 'embedding-to-null' | null;
  /** Rules that only run with --deep. */
  deep?: boolean;
}

/** What to run next for the rules --fix repairs: look at the plan, then apply it. */
const FIX_NEXT = 'locrit-mem validate <locrit> --fix --dry-run, then --fix';

/** At most this many example ids per finding. */
export const MAX_EXAMPLES = 5;

const R = (id: string, category: RuleCategory, severity: Severity, title: string, next: string, fix: RuleDef['fix'] = null, deep = false): RuleDef => ({
  id, category, severity, title, next, fix, ...(deep ? { deep } : {}),
});

/** Every rule, in the order findings are reported. */
export const RULES: readonly RuleDef[] = [
  R('file.missing', 'file', 'error', 'kuzu.db is missing (only a WAL or nothing is left)', 'locrit-mem recover --list <locrit>'),
  R('file.not-kuzu', 'file', 'error', 'the file is not a Kuzu database', 'locrit-mem recover <locrit>'),
  R('file.unsupported-version', 'file', 'error', 'Kuzu storage version other than 39 (Kuzu 0.11), or a 0.10 folder', 'migrate it with the Locrit application'),
  R('file.in-use', 'file', 'error', 'another process holds the database open (pid in the example)', 'stop the Locrit application, or locrit-mem recover --wait 60 <locrit>'),
  R('file.busy', 'file', 'error', 'another locrit-mem run is changing this database', 'wait for it to finish'),
  R('file.damaged', 'file', 'error', 'Kuzu cannot open or read the file (it raised an error or crashed)', 'locrit-mem recover <locrit>'),
  R('file.check-failed', 'file', 'error', 'the check itself failed with an error that is not known damage (e.g. the buffer pool is full): see the detail', 'raise kuzu.buffer_pool_mb if the detail says so; else rerun with --verbose and report it'),
  R('file.wal-present', 'file', 'warn', 'a WAL is present: the last writer did not stop cleanly', 'locrit-mem recover <locrit>'),
  R('file.leftovers', 'file', 'warn', 'an interrupted run left files behind (a compaction copy, a journal, a partial archive, a stale lock)', 'locrit-mem archive <locrit> (finishes or rolls back the interrupted run and clears them)'),
  R('file.reset', 'file', 'error', "a backup (the application's kuzu.db.backup_* or ours) holds messages that neither kuzu.db nor a complete archive holds: the Locrit lost them in a reset (examples: the backups)", 'locrit-mem recover <locrit> (merges the backups back; --dry-run shows the plan)'),
  R('file.backup-unreadable', 'file', 'warn', 'a backup cannot be read, so whether it holds lost messages is unknown', 'locrit-mem recover --list <locrit>; salvage a copy of it if it matters'),
  R('file.foreign-wal', 'file', 'error', 'the WAL beside kuzu.db was written by another database file (left by a reset, or copied in from another Locrit): opening kuzu.db would replay it into the wrong file', 'locrit-mem recover <locrit> (moves it to the backup that wrote it, then merges)'),
  R('file.salvaged-with-losses', 'file', 'error', 'a salvage holding fewer messages than last known was swapped in, and the loss is not acknowledged yet', 'look for another copy (locrit-mem recover --list <locrit>); then locrit-mem recover <locrit> --acknowledge-loss'),
  R('file.app-backups', 'file', 'info', "the application's own backups (kuzu.db.backup_*) lie beside the database", 'locrit-mem recover --list <locrit>'),
  R('file.app-cannot-open', 'file', 'error', "the application's user could not open kuzu.db or its WAL read-write (owner or mode; see the detail): its next open would fail and it would start the Locrit empty", "give the file the application's user and mode 600 (chown <user>: <file>; chmod 600 <file>), and run writing commands as root or as that user"),
  R('file.archive-open-to-others', 'file', 'warn', "an archive of this Locrit can be read by every local user while the database cannot", 'chmod -R o-rwx <archive.dir>/<locrit>'),
  R('schema.core-table-missing', 'schema', 'error', 'Message, Session or PART_OF is missing or connects other tables', 'locrit-mem recover <locrit> (rebuilds with the full schema)'),
  R('schema.core-column-mismatch', 'schema', 'error', 'a column of Message or Session (or PART_OF) is missing or of another type', 'let the application migrate it, or locrit-mem recover <locrit>'),
  R('schema.table-missing', 'schema', 'warn', 'a table of the Locrit schema other than Message, Session, PART_OF is missing', 'let the application migrate it (older databases lack tables)'),
  R('schema.column-mismatch', 'schema', 'warn', 'a column of another table is missing or of another type', 'let the application migrate it'),
  R('schema.embedding-dimension', 'schema', 'error', 'an embedding column has another dimension than memory.embedding_dimension', 'set memory.embedding_dimension to the application\'s value, or re-embed'),
  R('schema.vector-index-missing', 'schema', 'warn', 'embeddings are stored but the column has no vector index', 'let the application create the index (CALL CREATE_VECTOR_INDEX)'),
  R('message.content-null', 'message', 'error', 'content is NULL', FIX_NEXT, 'quarantine'),
  R('message.timestamp-null', 'message', 'error', 'timestamp is NULL', FIX_NEXT, 'quarantine'),
  R('message.timestamp-future', 'message', 'warn', 'timestamp is in the future beyond validate.future_skew_seconds', 'check the clock of the host that runs the Locrit'),
  R('message.metadata-not-object', 'message', 'error', 'metadata is NULL or not a JSON object', FIX_NEXT, 'quarantine'),
  R('message.role-unknown', 'message', 'warn', 'role is not user, assistant or system', 'inspect the messages; the application writes only those three'),
  R('message.session-id-null', 'message', 'error', 'session_id is NULL', FIX_NEXT, 'session-from-graph'),
  R('message.part-of-not-one', 'message', 'error', 'the message is not PART_OF exactly one Session', FIX_NEXT, 'quarantine'),
  R('message.session-mismatch', 'message', 'error', 'session_id differs from the Session the message is PART_OF', FIX_NEXT, 'session-from-graph'),
  R('message.embedding-invalid', 'message', 'error', 'the embedding holds NaN or infinity, or is all zeros', FIX_NEXT, 'embedding-to-null'),
  R('message.embedding-low-priority', 'message', 'info', 'a system message or one of retention.low_priority_max_chars characters or fewer carries an embedding', 'locrit-mem archive --strip-embeddings <locrit>'),
  R('message.embeddings-disabled', 'message', 'warn', 'embeddings are stored while memory.enable_embeddings is false', 'locrit-mem archive --strip-embeddings <locrit>, or set enable_embeddings: true'),
  R('message.duplicate', 'message', 'warn', 'the same session, timestamp and content saved twice (examples are the extra copies)', FIX_NEXT, 'quarantine'),
  R('graph.responds-to-cross-session', 'graph', 'warn', 'RESPONDS_TO links messages of different sessions (example: the responding message)', 'inspect the conversation; the application links within a session'),
  R('graph.responds-to-later', 'graph', 'warn', 'a message RESPONDS_TO a message that is later than itself', 'check the clock of the host that runs the Locrit'),
  R('graph.session-empty', 'graph', 'info', 'a session has no message', 'none needed; left by cleanups'),
  R('graph.user-without-messages', 'graph', 'info', 'a user sent no message', 'none needed'),
  R('limit.messages-per-locrit', 'limit', 'warn', 'more messages than memory.max_messages_per_locrit', 'locrit-mem emergency-cleanup --dry-run <locrit>'),
  R('limit.db-size', 'limit', 'warn', 'kuzu.db is larger than memory.max_db_size_mb', 'locrit-mem emergency-cleanup --dry-run <locrit>'),
  R('limit.messages-per-conversation', 'limit', 'warn', 'a session holds more than memory.max_messages_per_conversation messages', 'locrit-mem archive --dry-run <locrit>'),
  R('storage.unreadable', 'storage', 'error', '--deep: reading a table raised an error (damaged pages)', 'locrit-mem recover <locrit>', null, true),
  R('storage.row-count-mismatch', 'storage', 'error', '--deep: rows read differ from the count Kuzu reports', 'locrit-mem recover <locrit>', null, true),
];

export const RULES_BY_ID: ReadonlyMap<string, RuleDef> = new Map(RULES.map((rule) => [rule.id, rule]));

export function ruleById(id: string): RuleDef {
  const rule = RULES_BY_ID.get(id);
  if (!rule) throw new Error(`unknown rule ${id}`);
  return rule;
}

export interface Finding {
  rule: string;
  severity: Severity;
  /** How many things break the rule (messages, sessions, columns, files...). */
  count: number;
  /** Up to five ids (message ids, session ids, Table.column, pids...), in id order where there is one. */
  examples: string[];
  /** A short factual line (e.g. "3 of 200 messages", "dimension 8, expected 16"). */
  detail: string | null;
}

/** Severity of a rule as applied: limits are errors under --strict. */
export function effectiveSeverity(rule: RuleDef, strict: boolean): Severity {
  return strict && rule.category === 'limit' ? 'error' : rule.severity;
}

/** Counts and keeps the first examples for each rule; optionally every id for the rules --fix acts on. */
export class FindingCollector {
  private readonly counts = new Map<string, number>();
  private readonly examples = new Map<string, string[]>();
  private readonly details = new Map<string, string>();
  private readonly all = new Map<string, string[]>();

  constructor(
    private readonly strict = false,
    /** Rules whose every id is kept (for --fix). */
    private readonly keepAll: ReadonlySet<string> = new Set(),
  ) {}

  add(ruleId: string, exampleId: string | null, by = 1): void {
    ruleById(ruleId);
    this.counts.set(ruleId, (this.counts.get(ruleId) ?? 0) + by);
    if (exampleId !== null) {
      const list = this.examples.get(ruleId) ?? [];
      if (list.length < MAX_EXAMPLES) list.push(exampleId);
      this.examples.set(ruleId, list);
      if (this.keepAll.has(ruleId)) {
        const every = this.all.get(ruleId) ?? [];
        every.push(exampleId);
        this.all.set(ruleId, every);
      }
    }
  }

  /** A finding whose count and examples come from one query (count plus first ids). */
  addCounted(ruleId: string, count: number, examples: string[], detail: string | null = null): void {
    if (count <= 0) return;
    ruleById(ruleId);
    this.counts.set(ruleId, (this.counts.get(ruleId) ?? 0) + count);
    const list = this.examples.get(ruleId) ?? [];
    for (const example of examples) if (list.length < MAX_EXAMPLES) list.push(example);
    this.examples.set(ruleId, list);
    if (detail) this.setDetail(ruleId, detail);
  }

  setDetail(ruleId: string, detail: string): void {
    this.details.set(ruleId, detail);
  }

  has(ruleId: string): boolean {
    return (this.counts.get(ruleId) ?? 0) > 0;
  }

  /** Every id recorded for a rule listed in keepAll. */
  idsOf(ruleId: string): string[] {
    return this.all.get(ruleId) ?? [];
  }

  findings(): Finding[] {
    const out: Finding[] = [];
    for (const rule of RULES) {
      const count = this.counts.get(rule.id) ?? 0;
      if (count <= 0) continue;
      out.push({ rule: rule.id, severity: effectiveSeverity(rule, this.strict), count, examples: this.examples.get(rule.id) ?? [], detail: this.details.get(rule.id) ?? null });
    }
    return out;
  }
}

// ---------------------------------------------------------------- messages

export const VALID_ROLES: readonly string[] = ['user', 'assistant', 'system'];

export interface MessageRuleSettings {
  /** memory.enable_embeddings */
  enableEmbeddings: boolean;
  /** retention.low_priority_max_chars: system messages and messages this short should carry no embedding. */
  lowPriorityMaxChars: number;
  /** validate.future_skew_seconds */
  futureSkewSeconds: number;
  /** "Now" as a stored wall-clock value (see src/policy/time.ts instantToWallClock). */
  nowWallClockMs: number;
}

/** One message as the per-message pass reads it (small: no content, no embedding values). */
export interface MessageRow {
  id: string;
  role: string | null;
  contentNull: boolean;
  /** Characters of content (Kuzu size()); null when content is NULL. */
  contentLength: number | null;
  /** The stored wall-clock time as Kuzu returns it (UTC fields), or null. */
  timestamp: Date | null;
  sessionId: string | null;
  metadata: string | null;
  /** Whether the row has a non-NULL embedding. */
  hasEmbedding: boolean;
  /** Sum of |x| over the embedding: NaN or Infinity when a value is, 0 when all zeros. */
  embeddingAbsSum: number | null;
  /** Ids of the Sessions the message is PART_OF; null when the database has no PART_OF table. */
  partOf: string[] | null;
}

/** Whether metadata is a JSON object, as the application writes it ("{}" when empty). */
export function isJsonObject(text: string | null): boolean {
  if (text === null) return false;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** A low-priority message (one that should carry no embedding): system, or content this short. */
export function isLowPriority(role: string | null, contentLength: number | null, maxChars: number): boolean {
  return role === 'system' || (contentLength !== null && contentLength <= maxChars);
}

/**
 * The first stored wall-clock value that breaks message.timestamp-future, as text Kuzu casts to
 * TIMESTAMP. Kuzu hands a timestamp to JS truncated to the millisecond and the rule compares
 * those milliseconds, so a stored timestamp breaks it exactly when it is at or after this value.
 */
export function futureTimestampFrom(settings: Pick<MessageRuleSettings, 'nowWallClockMs' | 'futureSkewSeconds'>): string {
  const first = new Date(Math.floor(settings.nowWallClockMs + settings.futureSkewSeconds * 1000) + 1);
  return first.toISOString().replace('T', ' ').replace('Z', '000');
}

/** NaN, infinity (the sum of |x| is not finite) or all zeros (the sum is 0). */
export function isInvalidEmbedding(absSum: number | null): boolean {
  if (absSum === null) return false;
  return !Number.isFinite(absSum) || absSum === 0;
}

/** The per-message rules broken by one message, in catalogue order. */
export function messageRulesBroken(row: MessageRow, settings: MessageRuleSettings): string[] {
  const broken: string[] = [];
  if (row.contentNull) broken.push('message.content-null');
  if (row.timestamp === null) broken.push('message.timestamp-null');
  else if (row.timestamp.getTime() - settings.nowWallClockMs > settings.futureSkewSeconds * 1000) broken.push('message.timestamp-future');
  if (!isJsonObject(row.metadata)) broken.push('message.metadata-not-object');
  if (row.role === null || !VALID_ROLES.includes(row.role)) broken.push('message.role-unknown');
  if (row.sessionId === null) broken.push('message.session-id-null');
  if (row.partOf !== null) {
    if (row.partOf.length !== 1) broken.push('message.part-of-not-one');
    else if (row.sessionId !== null && row.partOf[0] !== row.sessionId) broken.push('message.session-mismatch');
  }
  if (row.hasEmbedding) {
    if (isInvalidEmbedding(row.embeddingAbsSum)) broken.push('message.embedding-invalid');
    if (isLowPriority(row.role, row.contentLength, settings.lowPriorityMaxChars)) broken.push('message.embedding-low-priority');
    if (!settings.enableEmbeddings) broken.push('message.embeddings-disabled');
  }
  return broken;
}

/**
 * Rules that concern many healthy rows (every embedded message when embeddings are disabled):
 * the store counts them in Kuzu rather than handing every such row to JS, with the same
 * definitions as messageRulesBroken (test/store/integrityQueries.test.ts holds them equal).
 */
export const MASS_RULES: ReadonlySet<string> = new Set(['message.embedding-low-priority', 'message.embeddings-disabled']);

/**
 * Feeds rows of the per-message pass into the collector (rules in `skip` are counted elsewhere),
 * and into the --fix plan when there is one.
 */
export function checkMessages(rows: readonly MessageRow[], settings: MessageRuleSettings, collector: FindingCollector, plan?: FixPlanBuilder, skip: ReadonlySet<string> = new Set()): void {
  for (const row of rows) {
    const broken = messageRulesBroken(row, settings);
    for (const rule of broken) if (!skip.has(rule)) collector.add(rule, row.id);
    plan?.consider(row, broken);
  }
}

/**
 * Groups of messages with the same session, timestamp and content, each sorted by id: the
 * first of a group is the original, the others are the copies.
 */
export function duplicateCopies(groups: readonly string[][]): string[] {
  const copies: string[] = [];
  for (const group of groups) {
    const sorted = [...group].sort(byCodeUnit);
    copies.push(...sorted.slice(1));
  }
  return copies.sort(byCodeUnit);
}

export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------- --fix plan

export interface FixPlan {
  /** Messages archived then removed, with the rules that condemned each. */
  quarantine: { id: string; rules: string[] }[];
  /** session_id set from the one Session the message is PART_OF. */
  sessionFromGraph: { id: string; from: string | null; to: string }[];
  /** Embeddings (NaN, infinity, all zeros) set to NULL. */
  embeddingToNull: string[];
}

const QUARANTINE_RULES = new Set(['message.content-null', 'message.timestamp-null', 'message.metadata-not-object', 'message.part-of-not-one']);

/** Decides, message by message, what --fix does: quarantine wins over repairs. */
export class FixPlanBuilder {
  readonly plan: FixPlan = { quarantine: [], sessionFromGraph: [], embeddingToNull: [] };

  consider(row: MessageRow, broken: readonly string[]): void {
    const condemning = broken.filter((rule) => QUARANTINE_RULES.has(rule));
    // A NULL session_id without exactly one PART_OF cannot be corrected from the graph.
    if (broken.includes('message.session-id-null') && !(row.partOf && row.partOf.length === 1)) condemning.push('message.session-id-null');
    if (condemning.length > 0) {
      this.plan.quarantine.push({ id: row.id, rules: condemning });
      return;
    }
    if ((broken.includes('message.session-id-null') || broken.includes('message.session-mismatch')) && row.partOf?.length === 1) {
      this.plan.sessionFromGraph.push({ id: row.id, from: row.sessionId, to: row.partOf[0] });
    }
    if (broken.includes('message.embedding-invalid')) this.plan.embeddingToNull.push(row.id);
  }

  /** The extra copies of duplicated messages are quarantined too (the original stays). */
  addDuplicates(copies: readonly string[]): void {
    const already = new Set(this.plan.quarantine.map((q) => q.id));
    for (const id of copies) {
      if (already.has(id)) continue;
      this.plan.quarantine.push({ id, rules: ['message.duplicate'] });
    }
    this.plan.quarantine.sort((a, b) => byCodeUnit(a.id, b.id));
    const gone = new Set(this.plan.quarantine.map((q) => q.id));
    this.plan.sessionFromGraph = this.plan.sessionFromGraph.filter((s) => !gone.has(s.id));
    this.plan.embeddingToNull = this.plan.embeddingToNull.filter((id) => !gone.has(id));
  }
}

export function emptyFixPlan(plan: FixPlan): boolean {
  return plan.quarantine.length === 0 && plan.sessionFromGraph.length === 0 && plan.embeddingToNull.length === 0;
}

// ---------------------------------------------------------------- schema

/** The schema as read from Kuzu (plain data: see src/store/schema.ts). */
export interface SchemaInput {
  tables: Record<string, { kind: 'NODE' | 'REL'; columns: { name: string; type: string }[]; from?: string; to?: string }>;
  /** Vector (HNSW) indexes: table and column. */
  vectorIndexes: { table: string; column: string }[];
  /** Non-NULL embeddings per embedding column, "Table.column" -> count. */
  embeddingCounts: Record<string, number>;
}

const CORE_TABLES = new Set(['Message', 'Session', 'PART_OF']);

/** Schema rules: missing tables and columns, other types, embedding dimension, vector indexes. */
export function checkSchema(schema: SchemaInput, configuredDimension: number, collector: FindingCollector): void {
  const expected = [
    ...NODE_TABLES.map((t) => ({ name: t.name, kind: 'NODE' as const, columns: t.columns, from: undefined as string | undefined, to: undefined as string | undefined })),
    ...REL_TABLES.map((t) => ({ name: t.name, kind: 'REL' as const, columns: t.columns, from: t.from, to: t.to })),
  ];
  for (const table of expected) {
    const core = CORE_TABLES.has(table.name);
    const actual = schema.tables[table.name];
    if (!actual || actual.kind !== table.kind || (table.kind === 'REL' && (actual.from !== table.from || actual.to !== table.to))) {
      const why = !actual ? 'missing' : actual.kind !== table.kind ? `is a ${actual.kind} table` : `connects ${actual.from} -> ${actual.to}`;
      collector.add(core ? 'schema.core-table-missing' : 'schema.table-missing', `${table.name} (${why})`);
      continue;
    }
    for (const column of table.columns) {
      const found = actual.columns.find((c) => c.name === column.name);
      const expectedType = column.type.replace('{dim}', 'n');
      const foundType = found ? found.type.replace(/\[\d+\]$/, '[n]') : null;
      if (foundType === expectedType) {
        if (column.type.includes('{dim}')) {
          const dimension = embeddingDimension(found!.type);
          if (dimension !== configuredDimension) collector.add('schema.embedding-dimension', `${table.name}.${column.name} (${found!.type}, expected ${configuredDimension})`);
        }
        continue;
      }
      const why = found ? `${found.type}, expected ${column.type.replace('{dim}', String(configuredDimension))}` : 'missing';
      collector.add(core ? 'schema.core-column-mismatch' : 'schema.column-mismatch', `${table.name}.${column.name} (${why})`);
    }
  }
  for (const index of VECTOR_INDEXES) {
    const key = `${index.table}.${index.column}`;
    const stored = schema.embeddingCounts[key] ?? 0;
    if (stored > 0 && !schema.vectorIndexes.some((v) => v.table === index.table && v.column === index.column)) {
      collector.add('schema.vector-index-missing', `${key} (${stored} embeddings)`);
    }
  }
}

/** Which message rules can run on this schema (a missing column or table disables the rules that need it). */
export interface MessageCapabilities {
  message: boolean;
  partOf: boolean;
  embedding: boolean;
}

export function messageCapabilities(schema: SchemaInput): MessageCapabilities {
  const message = schema.tables.Message;
  const has = (name: string): boolean => message?.columns.some((c) => c.name === name) ?? false;
  const required = ['id', 'role', 'content', 'timestamp', 'session_id', 'metadata'];
  const partOf = schema.tables.PART_OF;
  return {
    message: Boolean(message) && required.every(has),
    partOf: Boolean(partOf && partOf.from === 'Message' && partOf.to === 'Session' && schema.tables.Session),
    embedding: Boolean(message) && embeddingDimension(message.columns.find((c) => c.name === 'content_embedding')?.type ?? '') !== null,
  };
}

// ---------------------------------------------------------------- limits

export interface LimitRuleInput {
  dbBytes: number | null;
  messages: number;
  /** Sessions over max_messages_per_conversation: how many and the first ids (largest first). */
  sessionsOver: { count: number; examples: string[] };
  largestSession: number;
}

export interface LimitRuleSettings {
  maxDbSizeMb: number;
  maxMessagesPerLocrit: number;
  maxMessagesPerConversation: number;
}

/** Limits (0 = no limit): warn, or error under --strict (see effectiveSeverity). */
export function checkLimits(input: LimitRuleInput, settings: LimitRuleSettings, collector: FindingCollector): void {
  if (settings.maxMessagesPerLocrit > 0 && input.messages > settings.maxMessagesPerLocrit) {
    collector.addCounted('limit.messages-per-locrit', 1, [], `${input.messages} messages, limit ${settings.maxMessagesPerLocrit}`);
  }
  const limitBytes = Math.round(settings.maxDbSizeMb * 1024 * 1024);
  if (limitBytes > 0 && input.dbBytes !== null && input.dbBytes > limitBytes) {
    collector.addCounted('limit.db-size', 1, [], `${(input.dbBytes / 1048576).toFixed(1)} MiB (${input.dbBytes} bytes), limit ${settings.maxDbSizeMb} MiB`);
  }
  if (settings.maxMessagesPerConversation > 0 && input.sessionsOver.count > 0) {
    collector.addCounted('limit.messages-per-conversation', input.sessionsOver.count, input.sessionsOver.examples, `largest session ${input.largestSession} messages, limit ${settings.maxMessagesPerConversation}`);
  }
}

// ---------------------------------------------------------------- outcome

export type LocritVerdict = 'ok' | 'findings' | 'unavailable';

/** The worst severity present, or null. */
export function worstSeverity(findings: readonly Finding[]): Severity | null {
  let worst: Severity | null = null;
  for (const f of findings) {
    if (f.severity === 'error') return 'error';
    if (f.severity === 'warn') worst = 'warn';
    else if (worst === null) worst = 'info';
  }
  return worst;
}

/** Whether findings break the run: errors always, warnings too under --strict; info never. */
export function failsRun(findings: readonly Finding[], strict: boolean): boolean {
  return findings.some((f) => f.severity === 'error' || (strict && f.severity === 'warn'));
}

// ---------------------------------------------------------------- files and --deep

export interface FileInput {
  walPresent: boolean;
  walBytes: number | null;
  /** File names of the application's own backups beside the database. */
  appBackups: string[];
  /** What an interrupted run left: file or folder names and their sizes. */
  leftovers?: { name: string; bytes: number }[];
  /** Why the database could not be used, when it could not (a stable reason from src/errors.ts). */
  unavailable: { reason: string | null; message: string; pid: number | null } | null;
  /** Backups holding messages found nowhere else (see src/recover/resets.ts). */
  resets?: ResetInput[];
  /** Backups that could not be read: file name and why. */
  unreadableBackups?: { name: string; error: string }[];
  /** A WAL beside kuzu.db written by another database file, and why that is known. */
  foreignWal?: { reason: string } | null;
  /** A salvage with losses not acknowledged yet, described in words. */
  salvagedWithLosses?: string | null;
}

export interface ResetInput {
  /** File name of the backup. */
  name: string;
  /** When it was made (ISO, from its name). */
  createdAt: string | null;
  held: number;
  missing: number;
  /** Local wall-clock time of the current file's first message (when the Locrit started again). */
  currentFirstMessageAt: string | null;
}

/** The rule that explains why a database could not be used. */
export function unavailableRule(reason: string | null): string {
  switch (reason) {
    case 'missing':
      return 'file.missing';
    case 'not-kuzu':
      return 'file.not-kuzu';
    case 'unsupported-version':
      return 'file.unsupported-version';
    case 'in-use':
      return 'file.in-use';
    case 'busy':
      return 'file.busy';
    case 'damaged':
      return 'file.damaged';
    default:
      return 'file.check-failed';
  }
}

export function checkFile(input: FileInput, collector: FindingCollector): void {
  if (input.unavailable) {
    const rule = unavailableRule(input.unavailable.reason);
    collector.add(rule, input.unavailable.pid !== null ? `pid ${input.unavailable.pid}` : null);
    collector.setDetail(rule, input.unavailable.message);
  }
  if (input.walPresent) {
    collector.add('file.wal-present', 'kuzu.db.wal');
    collector.setDetail('file.wal-present', `kuzu.db.wal holds ${input.walBytes ?? 0} bytes`);
  }
  for (const name of input.appBackups) collector.add('file.app-backups', name);
  const leftovers = input.leftovers ?? [];
  for (const leftover of leftovers) collector.add('file.leftovers', leftover.name);
  if (leftovers.length > 0) collector.setDetail('file.leftovers', `${leftovers.reduce((sum, l) => sum + l.bytes, 0)} bytes in ${leftovers.map((l) => `${l.name} (${l.bytes} bytes)`).join(', ')}`);
  const resets = input.resets ?? [];
  for (const reset of resets) collector.add('file.reset', reset.name);
  if (resets.length) {
    const restart = resets[0].currentFirstMessageAt ? `; the current file starts at ${resets[0].currentFirstMessageAt}` : '';
    collector.setDetail('file.reset', `${resets.map((r) => `${r.name} holds ${r.held} messages, ${r.missing} found nowhere else`).join('; ')}${restart}`);
  }
  for (const backup of input.unreadableBackups ?? []) collector.add('file.backup-unreadable', backup.name);
  if (input.unreadableBackups?.length) collector.setDetail('file.backup-unreadable', input.unreadableBackups.map((b) => `${b.name}: ${b.error}`).join('; '));
  if (input.salvagedWithLosses) {
    collector.add('file.salvaged-with-losses', 'kuzu.db.locrit-mem-losses.json');
    collector.setDetail('file.salvaged-with-losses', input.salvagedWithLosses);
  }
  if (input.foreignWal) {
    collector.add('file.foreign-wal', 'kuzu.db.wal');
    collector.setDetail('file.foreign-wal', input.foreignWal.reason);
  }
}

/** Owner, group and permission bits of a file. */
export interface FileMode {
  uid: number;
  gid: number;
  mode: number;
}

export interface PermissionInput {
  /** The application's user and its group: run.app_user when configured, else the owner of the Locrit's folder. */
  appUser: { uid: number; gid: number; name: string; from: 'run.app_user' | 'folder' };
  db: FileMode | null;
  wal: FileMode | null;
  /** Files and folders of this Locrit's archives that every local user can read (relative paths, sorted). */
  archiveReadableByOthers: string[];
}

/** Whether a user (uid, primary gid) may open a file with these owner and mode bits for reading and writing. */
export function canOpenReadWrite(file: FileMode, uid: number, gid: number): boolean {
  if (uid === 0) return true;
  if (file.uid === uid) return (file.mode & 0o600) === 0o600;
  if (file.gid === gid) return (file.mode & 0o060) === 0o060;
  return (file.mode & 0o006) === 0o006;
}

const describeMode = (file: FileMode): string => `uid ${file.uid}, gid ${file.gid}, mode ${(file.mode & 0o777).toString(8).padStart(3, '0')}`;

export function checkPermissions(input: PermissionInput, collector: FindingCollector): void {
  const { appUser } = input;
  const blocked: string[] = [];
  for (const [name, file] of [['kuzu.db', input.db], ['kuzu.db.wal', input.wal]] as const) {
    if (file && !canOpenReadWrite(file, appUser.uid, appUser.gid)) {
      collector.add('file.app-cannot-open', name);
      blocked.push(`${name} is ${describeMode(file)}`);
    }
  }
  if (blocked.length) {
    const who = appUser.from === 'run.app_user' ? `run.app_user ${appUser.name}` : `${appUser.name}, who owns the Locrit's folder`;
    collector.setDetail('file.app-cannot-open', `${blocked.join('; ')}: ${who} (uid ${appUser.uid}) cannot open it read-write`);
  }
  if (input.db && (input.db.mode & 0o004) === 0 && input.archiveReadableByOthers.length > 0) {
    for (const file of input.archiveReadableByOthers) collector.add('file.archive-open-to-others', file);
    collector.setDetail('file.archive-open-to-others', `${input.archiveReadableByOthers.length} archive file(s) readable by others; kuzu.db is ${(input.db.mode & 0o777).toString(8).padStart(3, '0')}`);
  }
}

/** What --deep read of one table (see src/store/deepScan.ts). */
export interface TableScanInput {
  table: string;
  rowsRead: number;
  rowsCounted: number | null;
  error: string | null;
  errorAfter: string | null;
}

export function checkDeepScan(scans: readonly TableScanInput[], collector: FindingCollector): void {
  const unreadable: string[] = [];
  for (const scan of scans) {
    if (scan.error !== null) {
      collector.add('storage.unreadable', scan.table);
      unreadable.push(`${scan.table}${scan.errorAfter !== null ? ` (${scan.errorAfter})` : ''}: ${scan.error}`);
    } else if (scan.rowsCounted !== null && scan.rowsCounted !== scan.rowsRead) {
      collector.add('storage.row-count-mismatch', `${scan.table} (read ${scan.rowsRead}, counted ${scan.rowsCounted})`);
    }
  }
  if (unreadable.length) collector.setDetail('storage.unreadable', unreadable.join('; '));
}

/** Findings of several passes, in catalogue order, the same rule merged. */
export function mergeFindings(...lists: readonly (readonly Finding[])[]): Finding[] {
  const merged = new Map<string, Finding>();
  for (const list of lists) {
    for (const f of list) {
      const seen = merged.get(f.rule);
      if (!seen) {
        merged.set(f.rule, { ...f, examples: [...f.examples] });
        continue;
      }
      seen.count += f.count;
      for (const e of f.examples) if (seen.examples.length < MAX_EXAMPLES && !seen.examples.includes(e)) seen.examples.push(e);
      seen.detail = [seen.detail, f.detail].filter(Boolean).join('; ') || null;
    }
  }
  const order = new Map(RULES.map((r, i) => [r.id, i]));
  return [...merged.values()].sort((a, b) => (order.get(a.rule) ?? 0) - (order.get(b.rule) ?? 0));
}

export function severityCounts(findings: readonly Finding[]): { error: number; warn: number; info: number } {
  const counts = { error: 0, warn: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}
