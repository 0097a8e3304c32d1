import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkDeepScan,
  checkFile,
  checkLimits,
  checkMessages,
  checkSchema,
  duplicateCopies,
  failsRun,
  FindingCollector,
  FixPlanBuilder,
  isInvalidEmbedding,
  isJsonObject,
  isLowPriority,
  mergeFindings,
  messageCapabilities,
  messageRulesBroken,
  RULES,
  unavailableRule,
  type MessageRow,
  type MessageRuleSettings,
  type SchemaInput,
} from '../../src/policy/integrityRules.js';
import { NODE_TABLES, REL_TABLES } from '../../src/schema/locrit.js';

const NOW = Date.UTC(2026, 10, 1, 12, 0, 0); // stored wall-clock "now"
const settings: MessageRuleSettings = { enableEmbeddings: true, lowPriorityMaxChars: 20, futureSkewSeconds: 300, nowWallClockMs: NOW };

/** A valid message as the application writes it; override one field per test. */
function message(overrides: Partial<MessageRow> = {}): MessageRow {
  return {
    id: 'user_20261101_115900_000001',
    role: 'user',
    contentNull: false,
    contentLength: 42,
    timestamp: new Date(NOW - 60_000),
    sessionId: 'session_20261101_115000',
    metadata: '{}',
    hasEmbedding: true,
    embeddingAbsSum: 3.5,
    partOf: ['session_20261101_115000'],
    ...overrides,
  };
}

/** The application's schema as Kuzu reports it, at dimension 16. */
function appSchema(): SchemaInput {
  const tables: SchemaInput['tables'] = {};
  for (const t of NODE_TABLES) tables[t.name] = { kind: 'NODE', columns: t.columns.map((c) => ({ name: c.name, type: c.type.replace('{dim}', '16') })) };
  for (const t of REL_TABLES) tables[t.name] = { kind: 'REL', from: t.from, to: t.to, columns: t.columns.map((c) => ({ ...c })) };
  return {
    tables,
    vectorIndexes: [{ table: 'Message', column: 'content_embedding' }, { table: 'Memory', column: 'content_embedding' }, { table: 'Concept', column: 'name_embedding' }],
    embeddingCounts: { 'Message.content_embedding': 10, 'Memory.content_embedding': 2, 'Concept.name_embedding': 3 },
  };
}

describe('integrity rules (pure)', () => {
  it('every rule has a unique, stable-looking id, a severity and what to run next', () => {
    const ids = RULES.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const rule of RULES) {
      assert.match(rule.id, /^(file|schema|message|graph|limit|storage)\.[a-z-]+$/);
      assert.ok(['error', 'warn', 'info'].includes(rule.severity));
      assert.ok(rule.next.length > 0 && rule.title.length > 0);
      assert.ok(rule.id.startsWith(`${rule.category}.`));
    }
  });

  it('a valid message breaks no rule', () => {
    assert.deepEqual(messageRulesBroken(message(), settings), []);
  });

  it('each message rule fires on its own defect only', () => {
    const cases: [Partial<MessageRow>, string[]][] = [
      [{ contentNull: true, contentLength: null }, ['message.content-null']],
      [{ timestamp: null }, ['message.timestamp-null']],
      [{ timestamp: new Date(NOW + 301_000) }, ['message.timestamp-future']],
      [{ metadata: '[1]' }, ['message.metadata-not-object']],
      [{ metadata: null }, ['message.metadata-not-object']],
      [{ role: 'tool' }, ['message.role-unknown']],
      [{ role: null }, ['message.role-unknown']],
      [{ sessionId: null }, ['message.session-id-null']],
      [{ partOf: [] }, ['message.part-of-not-one']],
      [{ partOf: ['a', 'b'] }, ['message.part-of-not-one']],
      [{ sessionId: 'other' }, ['message.session-mismatch']],
      [{ embeddingAbsSum: Number.NaN }, ['message.embedding-invalid']],
      [{ embeddingAbsSum: Number.POSITIVE_INFINITY }, ['message.embedding-invalid']],
      [{ embeddingAbsSum: 0 }, ['message.embedding-invalid']],
      [{ contentLength: 20 }, ['message.embedding-low-priority']],
      [{ role: 'system' }, ['message.embedding-low-priority']],
    ];
    for (const [overrides, expected] of cases) assert.deepEqual(messageRulesBroken(message(overrides), settings), expected, JSON.stringify(overrides));
  });

  it('uses the configured thresholds: future skew, low-priority length, enable_embeddings', () => {
    assert.deepEqual(messageRulesBroken(message({ timestamp: new Date(NOW + 300_000) }), settings), [], 'exactly at the skew is fine');
    assert.deepEqual(messageRulesBroken(message({ contentLength: 21 }), settings), []);
    assert.deepEqual(messageRulesBroken(message({ contentLength: 25 }), { ...settings, lowPriorityMaxChars: 30 }), ['message.embedding-low-priority']);
    assert.deepEqual(messageRulesBroken(message(), { ...settings, enableEmbeddings: false }), ['message.embeddings-disabled']);
    assert.deepEqual(messageRulesBroken(message({ hasEmbedding: false, embeddingAbsSum: null }), { ...settings, enableEmbeddings: false }), []);
    assert.deepEqual(messageRulesBroken(message({ partOf: null }), settings), [], 'no PART_OF table: the PART_OF rules cannot run');
  });

  it('helpers: JSON objects, low priority, invalid embeddings', () => {
    assert.equal(isJsonObject('{}'), true);
    assert.equal(isJsonObject('{"important": true}'), true);
    for (const bad of ['[]', 'null', '"x"', '3', '{', '', null]) assert.equal(isJsonObject(bad), false, String(bad));
    assert.equal(isLowPriority('system', 500, 20), true);
    assert.equal(isLowPriority('user', 20, 20), true);
    assert.equal(isLowPriority('user', 21, 20), false);
    assert.equal(isInvalidEmbedding(null), false);
    assert.equal(isInvalidEmbedding(1e-3), false);
    assert.equal(isInvalidEmbedding(0), true);
  });

  it('counts every occurrence but keeps five examples, in the order seen', () => {
    const collector = new FindingCollector();
    const rows = Array.from({ length: 8 }, (_, i) => message({ id: `m${i}`, metadata: 'x' }));
    checkMessages(rows, settings, collector);
    const [finding] = collector.findings();
    assert.equal(finding.rule, 'message.metadata-not-object');
    assert.equal(finding.count, 8);
    assert.deepEqual(finding.examples, ['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('duplicates: the lowest id of a group is the original, the rest are copies', () => {
    assert.deepEqual(duplicateCopies([['b', 'a', 'c'], ['x_dup', 'x']]), ['b', 'c', 'x_dup']);
    assert.deepEqual(duplicateCopies([]), []);
  });

  it('--fix plan: quarantine wins; session_id from the graph; NaN embeddings to NULL', () => {
    const planner = new FixPlanBuilder();
    const collector = new FindingCollector();
    checkMessages(
      [
        message({ id: 'a', contentNull: true, contentLength: null, embeddingAbsSum: Number.NaN }),
        message({ id: 'b', sessionId: null }),
        message({ id: 'c', sessionId: null, partOf: [] }),
        message({ id: 'd', sessionId: 'wrong' }),
        message({ id: 'e', embeddingAbsSum: 0 }),
        message({ id: 'f' }),
      ],
      settings,
      collector,
      planner,
    );
    planner.addDuplicates(['e', 'g']);
    assert.deepEqual(planner.plan.quarantine, [
      { id: 'a', rules: ['message.content-null'] },
      { id: 'c', rules: ['message.part-of-not-one', 'message.session-id-null'] },
      { id: 'e', rules: ['message.duplicate'] },
      { id: 'g', rules: ['message.duplicate'] },
    ]);
    assert.deepEqual(planner.plan.sessionFromGraph, [
      { id: 'b', from: null, to: 'session_20261101_115000' },
      { id: 'd', from: 'wrong', to: 'session_20261101_115000' },
    ]);
    assert.deepEqual(planner.plan.embeddingToNull, [], "e is quarantined as a copy, so its embedding is not repaired");
  });

  it('schema: the application schema passes; each deviation is reported at its severity', () => {
    const clean = new FindingCollector();
    checkSchema(appSchema(), 16, clean);
    assert.deepEqual(clean.findings(), []);

    const schema = appSchema();
    delete schema.tables.PART_OF;
    delete schema.tables.LEARNS;
    schema.tables.Message.columns = schema.tables.Message.columns.filter((c) => c.name !== 'metadata');
    schema.tables.Topic.columns = schema.tables.Topic.columns.map((c) => (c.name === 'category' ? { ...c, type: 'INT64' } : c));
    schema.vectorIndexes = schema.vectorIndexes.filter((v) => v.table !== 'Memory');
    const collector = new FindingCollector();
    checkSchema(schema, 768, collector);
    const byRule = Object.fromEntries(collector.findings().map((f) => [f.rule, f]));
    assert.deepEqual(byRule['schema.core-table-missing'].examples, ['PART_OF (missing)']);
    assert.equal(byRule['schema.core-table-missing'].severity, 'error');
    assert.deepEqual(byRule['schema.table-missing'].examples, ['LEARNS (missing)']);
    assert.equal(byRule['schema.table-missing'].severity, 'warn');
    assert.deepEqual(byRule['schema.core-column-mismatch'].examples, ['Message.metadata (missing)']);
    assert.deepEqual(byRule['schema.column-mismatch'].examples, ['Topic.category (INT64, expected STRING)']);
    assert.equal(byRule['schema.embedding-dimension'].count, 3);
    assert.deepEqual(byRule['schema.vector-index-missing'].examples, ['Memory.content_embedding (2 embeddings)']);
    assert.deepEqual(messageCapabilities(schema), { message: false, partOf: false, embedding: true });
  });

  it('limits are warnings, errors under --strict; 0 means no limit', () => {
    const input = { dbBytes: 200 * 1024 * 1024, messages: 6000, sessionsOver: { count: 2, examples: ['s1', 's2'] }, largestSession: 1500 };
    const limits = { maxDbSizeMb: 100, maxMessagesPerLocrit: 5000, maxMessagesPerConversation: 1000 };
    const relaxed = new FindingCollector(false);
    checkLimits(input, limits, relaxed);
    assert.deepEqual(relaxed.findings().map((f) => `${f.rule}:${f.severity}:${f.count}`), ['limit.messages-per-locrit:warn:1', 'limit.db-size:warn:1', 'limit.messages-per-conversation:warn:2']);
    assert.equal(failsRun(relaxed.findings(), false), false);
    assert.equal(failsRun(relaxed.findings(), true), true);
    const strict = new FindingCollector(true);
    checkLimits(input, limits, strict);
    assert.ok(strict.findings().every((f) => f.severity === 'error'));
    const none = new FindingCollector();
    checkLimits(input, { maxDbSizeMb: 0, maxMessagesPerLocrit: 0, maxMessagesPerConversation: 0 }, none);
    assert.deepEqual(none.findings(), []);
  });

  it('file rules and --deep results', () => {
    const collector = new FindingCollector();
    checkFile({ walPresent: true, walBytes: 4096, appBackups: ['kuzu.db.backup_20250101_000000'], unavailable: { reason: 'in-use', message: 'held', pid: 42 } }, collector);
    checkDeepScan(
      [
        { table: 'Message', rowsRead: 10, rowsCounted: 10, error: null, errorAfter: null },
        { table: 'Session', rowsRead: 3, rowsCounted: 4, error: null, errorAfter: null },
        { table: 'SENT', rowsRead: 2, rowsCounted: 9, error: 'Runtime exception: bad page', errorAfter: 'offsets 0-49999' },
      ],
      collector,
    );
    const byRule = Object.fromEntries(collector.findings().map((f) => [f.rule, f]));
    assert.deepEqual(byRule['file.in-use'].examples, ['pid 42']);
    assert.deepEqual(byRule['file.wal-present'].examples, ['kuzu.db.wal']);
    assert.deepEqual(byRule['file.app-backups'].examples, ['kuzu.db.backup_20250101_000000']);
    assert.deepEqual(byRule['storage.row-count-mismatch'].examples, ['Session (read 3, counted 4)']);
    assert.deepEqual(byRule['storage.unreadable'].examples, ['SENT']);
    assert.match(byRule['storage.unreadable'].detail!, /SENT \(offsets 0-49999\): Runtime exception: bad page/);
    assert.equal(unavailableRule('not-kuzu'), 'file.not-kuzu');
    assert.equal(unavailableRule('damaged'), 'file.damaged');
    assert.equal(unavailableRule(null), 'file.check-failed', 'an unexpected error is not called damage');
  });

  it('merges findings of several passes in catalogue order', () => {
    const merged = mergeFindings(
      [{ rule: 'message.role-unknown', severity: 'warn', count: 2, examples: ['a', 'b'], detail: null }],
      [{ rule: 'file.wal-present', severity: 'warn', count: 1, examples: ['kuzu.db.wal'], detail: null }, { rule: 'message.role-unknown', severity: 'warn', count: 1, examples: ['c'], detail: null }],
    );
    assert.deepEqual(merged.map((f) => [f.rule, f.count, f.examples]), [['file.wal-present', 1, ['kuzu.db.wal']], ['message.role-unknown', 3, ['a', 'b', 'c']]]);
  });
});
