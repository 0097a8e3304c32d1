/**
 * Longer than most files on purpose: the selection predicate and every query that must use the
 * very same text of it (count, measure, export, delete, strip) stay in one place.
 *
 * The queries behind `archive` and `emergency-cleanup`: turn the rules of src/policy/retentionRules.ts
 * into one Cypher predicate over Message, measure what it selects, and delete or strip.
 *
 * How a selection is expressed. Every rule is "older than a boundary": the boundary is a
 * (timestamp, id) pair read once from the database (the keep_count-th most recent message, the
 * n-th oldest, the cap-th most recent of a session), so that (timestamp, id) is a total order
 * and ties on the timestamp are cut exactly. Timestamps travel as strings
 * (CAST(... AS STRING) and timestamp($s)) because a JS Date would drop the microseconds the
 * application stores. The same predicate text, with the same parameters, is then used by every
 * query of the run (count, export, relationships), and the database does not change in
 * between (we hold its write lock), so they all see the same set.
 *
 * The RESPONDS_TO chain at the cut: deleting a message with DETACH DELETE removes its
 * relationships, so the oldest kept message of a session loses its RESPONDS_TO to the newest
 * archived one. Nothing is relinked: the kept message simply has no predecessor in the
 * database any more, which is true of what the database holds; the removed edge is in the
 * archive (the responds_to files keep edges with an archived message at either end) and
 * `recover --from-archive` puts it back. Relinking across a gap (e.g. around a spared critical
 * message) would invent a reply that never happened. Session, User and Concept nodes are kept:
 * only Message rows and the edges touching them leave.
 */
import type { ArchiveRule } from '../archive/format.js';
import { anywhere, criticalContentRegex, IMPORTANT_METADATA_REGEX, type RuleDecision } from '../policy/retentionRules.js';
import { formatWallClock } from '../policy/time.js';
import type { KuzuStore, Params } from './kuzu.js';
import { hasColumn, type DatabaseSchema } from './schema.js';
import { cypherString, inTransaction, paramsFor, queryWith } from './cypher.js';
import { DataSafetyError } from '../errors.js';

interface Boundary {
  t: string;
  id: string;
}

export interface RuleSelection {
  rule: ArchiveRule;
  /** Predicate on a Message variable, using `params`. */
  predicate: (v: string) => string;
  /** Extra facts for the report (e.g. sessions over the cap). */
  detail: Record<string, string | number | null>;
}

export interface Selection {
  rules: RuleSelection[];
  params: Params;
  protectCritical: boolean;
  /** Critical-message predicate on a Message variable. */
  critical: (v: string) => string;
  /** The messages that go: not critical (when protected) and selected by at least one rule. */
  selected: (v: string) => string;
}

const olderThan = (v: string, t: string, id: string, inclusive = false): string =>
  `(${v}.timestamp < timestamp($${t}) OR (${v}.timestamp = timestamp($${t}) AND ${v}.id ${inclusive ? '<=' : '<'} $${id}))`;

/** The (timestamp, id) of the message at `skip` in the given order, or null when there are not that many. */
async function boundaryAt(store: KuzuStore, order: 'ASC' | 'DESC', skip: number, session?: string): Promise<Boundary | null> {
  const match = session ? 'MATCH (m:Message)-[:PART_OF]->(s:Session) WHERE s.id = $session AND' : 'MATCH (m:Message) WHERE';
  const rows = await store.query<{ t: string; id: string }>(
    `${match} m.timestamp IS NOT NULL RETURN CAST(m.timestamp AS STRING) AS t, m.id AS id ORDER BY m.timestamp ${order}, m.id ${order} SKIP ${Math.max(0, Math.floor(skip))} LIMIT 1`,
    session ? { session } : undefined,
  );
  return rows[0] ? { t: rows[0].t, id: rows[0].id } : null;
}

/** Reads the boundaries the applicable rules need and builds the selection predicate. */
export async function buildSelection(
  store: KuzuStore,
  schema: DatabaseSchema,
  decisions: RuleDecision[],
  options: { protectCritical: boolean; criticalPatterns: string[] },
): Promise<Selection> {
  const params: Params = {};
  const rules: RuleSelection[] = [];
  let n = 0;
  for (const decision of decisions) {
    const plan = decision.plan;
    if (!decision.applies || !plan) continue;
    const p = `r${n++}_`;
    if (plan.rule === 'age' || plan.rule === 'emergency-size') {
      // A JS Date parameter binds as DATE (truncated to midnight): pass the wall-clock text and cast it.
      params[`${p}cutoff`] = formatWallClock(plan.cutoff);
      let keep = (_v: string): string => '';
      let detail: Record<string, string | number | null> = { keepBoundary: null };
      if (plan.keepCount > 0) {
        const boundary = await boundaryAt(store, 'DESC', plan.keepCount - 1);
        const total = Number(await store.scalar('MATCH (m:Message) WHERE m.timestamp IS NOT NULL RETURN count(m)'));
        if (!boundary || total <= plan.keepCount) {
          rules.push({ rule: plan.rule, predicate: () => 'false', detail: { keepBoundary: null, note: `only ${total} messages, all kept by keepCount` } });
          continue;
        }
        params[`${p}kt`] = boundary.t;
        params[`${p}kid`] = boundary.id;
        keep = (v) => ` AND ${olderThan(v, `${p}kt`, `${p}kid`)}`;
        detail = { keepBoundary: boundary.t };
      }
      rules.push({ rule: plan.rule, predicate: (v) => `(${v}.timestamp < CAST($${p}cutoff AS TIMESTAMP)${keep(v)})`, detail });
    } else if (plan.rule === 'emergency-count') {
      const boundary = plan.removeCount > 0 ? await boundaryAt(store, 'ASC', plan.removeCount - 1) : null;
      if (!boundary) {
        rules.push({ rule: plan.rule, predicate: () => 'false', detail: { boundary: null } });
        continue;
      }
      params[`${p}t`] = boundary.t;
      params[`${p}id`] = boundary.id;
      rules.push({ rule: plan.rule, predicate: (v) => olderThan(v, `${p}t`, `${p}id`, true), detail: { boundary: boundary.t } });
    } else if (plan.rule === 'conversation-size') {
      if (!schema.tables.PART_OF || !schema.tables.Session) {
        rules.push({ rule: plan.rule, predicate: () => 'false', detail: { sessionsOverCap: 0, note: 'no PART_OF/Session table' } });
        continue;
      }
      const over = await store.query<{ id: string; n: number }>(
        'MATCH (m:Message)-[:PART_OF]->(s:Session) WITH s.id AS id, count(m) AS n WHERE n > $cap RETURN id, n ORDER BY id',
        { cap: plan.maxPerConversation },
      );
      const clauses: ((v: string, s: string) => string)[] = [];
      for (const [i, session] of over.entries()) {
        const boundary = await boundaryAt(store, 'DESC', plan.maxPerConversation - 1, session.id);
        if (!boundary) continue;
        // Literals, not parameters: Kuzu 0.11 loses parameters used inside an EXISTS subquery that
        // sits in a disjunction ("Parameter ... not found"). The values are escaped.
        const t = cypherString(boundary.t);
        const id = cypherString(boundary.id);
        clauses.push((v, s) => `(${s}.id = ${cypherString(session.id)} AND (${v}.timestamp < timestamp(${t}) OR (${v}.timestamp = timestamp(${t}) AND ${v}.id < ${id})))`);
      }
      const largest = over.reduce((max, s) => Math.max(max, Number(s.n)), 0);
      const detail = { sessionsOverCap: over.length, largestSession: largest || null };
      if (clauses.length === 0) {
        rules.push({ rule: plan.rule, predicate: () => 'false', detail });
        continue;
      }
      rules.push({
        rule: plan.rule,
        predicate: (v) => `EXISTS { MATCH (${v})-[:PART_OF]->(cs_${v}:Session) WHERE ${clauses.map((c) => c(v, `cs_${v}`)).join(' OR ')} }`,
        detail,
      });
    }
  }
  const contentRegex = criticalContentRegex(options.criticalPatterns);
  const hasMetadata = hasColumn(schema, 'Message', 'metadata');
  const hasContent = hasColumn(schema, 'Message', 'content');
  // Literal patterns, not parameters, and regexp_full_match: see anywhere() in src/policy/retentionRules.ts.
  const critical = (v: string): string => {
    const parts: string[] = [];
    if (contentRegex && hasContent) parts.push(`coalesce(regexp_full_match(${v}.content, ${cypherString(anywhere(contentRegex))}), false)`);
    if (hasMetadata) parts.push(`coalesce(regexp_full_match(${v}.metadata, ${cypherString(anywhere(IMPORTANT_METADATA_REGEX))}), false)`);
    return parts.length ? `(${parts.join(' OR ')})` : 'false';
  };
  const any = (v: string): string => (rules.length ? `(${rules.map((r) => r.predicate(v)).join(' OR ')})` : 'false');
  // The rules first: Kuzu evaluates the terms of an AND in order, each on the rows the previous kept.
  const selected = (v: string): string => (options.protectCritical ? `(${any(v)} AND NOT ${critical(v)})` : any(v));
  return { rules, params, protectCritical: options.protectCritical, critical, selected };
}

export interface SetFigures {
  messages: number;
  withEmbedding: number;
  /** Stored wall-clock times, "YYYY-MM-DD HH:MM:SS[.ffffff]". */
  oldest: string | null;
  newest: string | null;
  /** Bytes of the rows' data: ids, content, metadata, session ids and embeddings (an estimate of what leaves the file). */
  dataBytes: number;
}

/** Count, time range and data size of the messages matching `predicate(m)`. */
export async function measure(store: KuzuStore, schema: DatabaseSchema, predicate: string, params: Params, dimension: number | null): Promise<SetFigures> {
  const has = (c: string): boolean => hasColumn(schema, 'Message', c);
  const sizeOf = (c: string): string => (has(c) ? ` + coalesce(sum(size(m.${c})), 0)` : '');
  const cypher =
    `MATCH (m:Message) WHERE ${predicate} RETURN count(m) AS n, ` +
    `${has('content_embedding') ? 'count(m.content_embedding)' : '0'} AS e, ` +
    `CAST(min(m.timestamp) AS STRING) AS lo, CAST(max(m.timestamp) AS STRING) AS hi, ` +
    `coalesce(sum(size(m.id)), 0)${sizeOf('content')}${sizeOf('metadata')}${sizeOf('session_id')}${sizeOf('role')} AS b`;
  const [row] = await queryWith<{ n: number; e: number; lo: string | null; hi: string | null; b: number | bigint }>(store, cypher, params);
  const messages = Number(row?.n ?? 0);
  const withEmbedding = Number(row?.e ?? 0);
  return {
    messages,
    withEmbedding,
    oldest: row?.lo ?? null,
    newest: row?.hi ?? null,
    dataBytes: Number(row?.b ?? 0) + withEmbedding * (dimension ?? 0) * 4,
  };
}

export interface RuleCount {
  rule: ArchiveRule;
  /** Messages the rule alone selects (critical ones excluded when protected). */
  selected: number;
  /** Critical messages the rule would have taken but spared. */
  spared: number;
  oldest: string | null;
  newest: string | null;
}

export async function countRules(store: KuzuStore, selection: Selection): Promise<RuleCount[]> {
  const out: RuleCount[] = [];
  for (const rule of selection.rules) {
    // No `WITH m, <boolean> AS crit`: Kuzu 0.11 aggregates a boolean projected by WITH wrongly
    // (sum(CASE WHEN crit ...) came back 0 or 1); the expression is repeated inline instead.
    // Without protection the critical test is not needed at all.
    const crit = selection.critical('m');
    const cypher = selection.protectCritical
      ? `MATCH (m:Message) WHERE ${rule.predicate('m')} ` +
        `RETURN count(m) AS n, sum(CASE WHEN ${crit} THEN 1 ELSE 0 END) AS c, ` +
        `CAST(min(CASE WHEN ${crit} THEN NULL ELSE m.timestamp END) AS STRING) AS lo, ` +
        `CAST(max(CASE WHEN ${crit} THEN NULL ELSE m.timestamp END) AS STRING) AS hi`
      : `MATCH (m:Message) WHERE ${rule.predicate('m')} RETURN count(m) AS n, 0 AS c, CAST(min(m.timestamp) AS STRING) AS lo, CAST(max(m.timestamp) AS STRING) AS hi`;
    const [row] = await queryWith<{ n: number; c: number | null; lo: string | null; hi: string | null }>(store, cypher, selection.params);
    const all = Number(row?.n ?? 0);
    const critical = Number(row?.c ?? 0);
    out.push({
      rule: rule.rule,
      selected: selection.protectCritical ? all - critical : all,
      spared: selection.protectCritical ? critical : 0,
      oldest: row?.lo ?? null,
      newest: row?.hi ?? null,
    });
  }
  return out;
}

/** Critical messages spared by the whole selection (matched by a rule, kept because critical). */
export async function countSpared(store: KuzuStore, selection: Selection): Promise<number> {
  if (!selection.protectCritical || selection.rules.length === 0) return 0;
  const any = selection.rules.map((r) => r.predicate('m')).join(' OR ');
  const cypher = `MATCH (m:Message) WHERE (${any}) AND ${selection.critical('m')} RETURN count(m) AS n`;
  const [row] = await queryWith<{ n: number }>(store, cypher, selection.params);
  return Number(row?.n ?? 0);
}

/** Sessions still over the cap after the selection leaves (critical messages spared can keep one over). */
export async function largestSessionAfter(store: KuzuStore, selection: Selection): Promise<number> {
  const [row] = await queryWith<{ n: number }>(
    store,
    `MATCH (m:Message)-[:PART_OF]->(s:Session) WHERE NOT ${selection.selected('m')} WITH s, count(m) AS n RETURN max(n) AS n`,
    selection.params,
  );
  return Number(row?.n ?? 0);
}

/**
 * Calls onId for every selected id in code-unit order (JS `<`, the order of the id digest). The
 * ids cross as ONE result row holding a list, sorted here: the Node binding costs 20-40 us per
 * result row and well under 1 us per list element (a row per id cost 2.5 s for 96,000 ids).
 * JS holds the selection's ids (about 4 MB for 100,000 messages).
 */
export async function eachSelectedId(store: KuzuStore, selection: Selection, onId: (id: string) => void): Promise<number> {
  const [row] = await queryWith<{ ids: string[] | null }>(store, `MATCH (m:Message) WHERE ${selection.selected('m')} RETURN collect(m.id) AS ids`, selection.params);
  const ids = (row?.ids ?? []).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const id of ids) onId(id);
  return ids.length;
}

export async function messageCount(store: KuzuStore): Promise<number> {
  return Number(await store.scalar('MATCH (m:Message) RETURN count(m)'));
}

/**
 * Deletes exactly the ids listed in the verified messages files of an archive (all its chunks),
 * in ONE transaction, and checks the count. Why not one transaction per chunk: a crash between
 * two would leave part of an archive deleted, breaking the all-or-nothing guarantee the run
 * journal relies on. Why no ids through JS: Kuzu's `LOAD FROM ... MATCH ... DETACH DELETE`
 * scans each Parquet file in vectors of 2,048 rows, so JS memory is flat whatever the count;
 * one statement per chunk file keeps each statement's working set to one chunk, and the
 * transaction only adds its deletion records (a few bytes per row; measured: 96,000 messages
 * with 768-float embeddings delete in a 256 MiB buffer pool, see bench/RESULTS.md).
 * `beforeCommit` is the SIGKILL test hook. Returns the number of messages deleted.
 * Idempotent: ids already gone are simply not matched (a rerun finishing a killed run).
 */
export async function deleteArchivedIds(
  store: KuzuStore,
  messagesFiles: string[],
  expected: number | 'present',
  beforeCommit: () => void = () => undefined,
): Promise<number> {
  const source = (file: string): string => `LOAD FROM ${cypherString(file)} MATCH (m:Message {id: id})`;
  let present = 0;
  for (const file of messagesFiles) present += Number(await store.scalar(`${source(file)} RETURN count(m)`));
  if (expected !== 'present' && present !== expected) {
    throw new DataSafetyError(`${present} of the ${expected} archived messages are in the database; nothing was deleted`);
  }
  return inTransaction(store, async () => {
    const before = await messageCount(store);
    for (const file of messagesFiles) await store.execute(`${source(file)} DETACH DELETE m`);
    const deleted = before - (await messageCount(store));
    if (deleted !== present) throw new DataSafetyError(`the delete removed ${deleted} messages instead of ${present}; rolled back, nothing was deleted`);
    beforeCommit();
    return deleted;
  });
}

/** `--no-archive`: deletes the selection itself, in one transaction, checking the count. */
export async function deleteSelection(store: KuzuStore, selection: Selection, expected: number, beforeCommit: () => void = () => undefined): Promise<number> {
  return inTransaction(store, async () => {
    const before = await messageCount(store);
    const cypher = `MATCH (m:Message) WHERE ${selection.selected('m')} DETACH DELETE m`;
    await store.execute(cypher, paramsFor(cypher, selection.params));
    const deleted = before - (await messageCount(store));
    if (deleted !== expected) throw new DataSafetyError(`the delete removed ${deleted} messages instead of ${expected}; rolled back, nothing was deleted`);
    beforeCommit();
    return deleted;
  });
}

// ---------------------------------------------------------------- low-priority embeddings (--strip-embeddings)

export interface StripTarget {
  /** Predicate for messages whose embedding goes. */
  predicate: (v: string) => string;
  params: Params;
}

export function stripTarget(options: { all: boolean; maxChars: number }): StripTarget {
  return {
    predicate: (v) =>
      options.all
        ? `${v}.content_embedding IS NOT NULL`
        : `(${v}.content_embedding IS NOT NULL AND (${v}.role = 'system' OR size(coalesce(${v}.content, '')) <= $strip_max))`,
    params: options.all ? {} : { strip_max: options.maxChars },
  };
}

export async function countStrip(store: KuzuStore, target: StripTarget): Promise<number> {
  const [row] = await queryWith<{ n: number }>(store, `MATCH (m:Message) WHERE ${target.predicate('m')} RETURN count(m) AS n`, target.params);
  return Number(row?.n ?? 0);
}

