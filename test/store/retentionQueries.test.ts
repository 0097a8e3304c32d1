/**
 * The selection predicate that Kuzu evaluates equals the rules computed independently in JS
 * from every row, for each rule and with critical messages spared or not.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { decideRules, isCritical, type RetentionSettings } from '../../src/policy/retentionRules.js';
import { formatWallClock } from '../../src/policy/time.js';
import { withStore } from '../../src/store/kuzu.js';
import { buildSelection, countRules, eachSelectedId, measure } from '../../src/store/retentionQueries.js';
import { readSchema } from '../../src/store/schema.js';
import { messageRows, sortKey, sorted, type MessageRow } from '../archive/archiveHelpers.js';
import { FIXED_NOW, makeLocrit, tempDir } from '../helpers.js';

const PATTERNS = ['error', 'critical'];
const base: RetentionSettings = {
  archiveAfterDays: 20, keepCount: 50, maxMessagesPerConversation: 60, maxMessagesPerLocrit: 100, maxDbSizeMb: 0, emergencyFraction: 0.5,
  emergencyDaysOld: 7, emergencyKeepCount: 500, protectCritical: true, criticalPatterns: PATTERNS, lowPriorityMaxChars: 20, enableEmbeddings: true,
};

async function selectedIds(dbPath: string, command: 'archive' | 'emergency-cleanup', settings: RetentionSettings, messages: number): Promise<string[]> {
  return withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
    const schema = await readSchema(store);
    const decisions = decideRules(command, { messages, dbBytes: 0 }, settings, FIXED_NOW);
    const selection = await buildSelection(store, schema, decisions, settings);
    const ids: string[] = [];
    await eachSelectedId(store, selection, (id) => ids.push(id));
    const figures = await measure(store, schema, selection.selected('m'), selection.params, 16);
    assert.equal(figures.messages, ids.length);
    return ids;
  });
}

describe('retention selection (Kuzu) against the rules computed in JS', () => {
  let dbPath = '';
  let rows: MessageRow[] = [];
  let criticalIds: string[] = [];
  before(async () => {
    // One temp dir for the whole suite: the database is only read.
    const data = tempDir({ after: (fn: () => void) => process.on('exit', fn) } as never);
    const fixture = await makeLocrit(data, { name: 'sel', messages: 300, sessions: 3, criticalShare: 0.1 });
    dbPath = fixture.dbPath;
    criticalIds = fixture.criticalMessageIds;
    rows = (await messageRows(dbPath)).sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
  });

  const critical = (r: MessageRow): boolean => isCritical(r, PATTERNS);

  it('finds exactly the critical messages the fixture planted', () => {
    assert.deepEqual(sorted(rows.filter(critical).map((r) => r.id)), sorted(criticalIds));
    assert.ok(criticalIds.length > 10);
  });

  it('rule 1 (age): older than the cutoff, never among the keep_count most recent, critical spared', async () => {
    // A cutoff one second after a message in the middle of a burst: Kuzu must compare to the
    // second, not to the date (a JS Date parameter would bind as DATE and cut at midnight).
    const middle = rows[Math.floor(rows.length / 2)];
    const middleAt = new Date(middle.t.replace(' ', 'T').slice(0, 23));
    const midDayDays = (FIXED_NOW.getTime() - middleAt.getTime() - 1000) / 86_400_000;
    for (const settings of [base, { ...base, protectCritical: false }, { ...base, archiveAfterDays: 40, keepCount: 0 }, { ...base, archiveAfterDays: midDayDays, keepCount: 0 }]) {
      const cutoff = formatWallClock(new Date(FIXED_NOW.getTime() - settings.archiveAfterDays * 86_400_000));
      const kept = new Set(rows.slice(rows.length - settings.keepCount).map((r) => r.id));
      const expected = rows.filter((r) => sortKey(r) < `${cutoff}\u0000` && !kept.has(r.id) && !(settings.protectCritical && critical(r)));
      assert.ok(expected.length > 20, 'the fixture must give the rule something to do');
      assert.deepEqual(await selectedIds(dbPath, 'archive', { ...settings, maxMessagesPerConversation: 0 }, rows.length), sorted(expected.map((r) => r.id)));
    }
  });

  it('rule 2 (conversation size): each session keeps its most recent messages', async () => {
    const expected: string[] = [];
    const bySession = new Map<string, MessageRow[]>();
    for (const r of rows) bySession.set(r.session ?? '', [...(bySession.get(r.session ?? '') ?? []), r]);
    for (const list of bySession.values()) {
      if (list.length <= base.maxMessagesPerConversation) continue;
      for (const r of list.slice(0, list.length - base.maxMessagesPerConversation)) if (!critical(r)) expected.push(r.id);
    }
    assert.ok(expected.length > 50);
    assert.deepEqual(await selectedIds(dbPath, 'archive', { ...base, archiveAfterDays: 0 }, rows.length), sorted(expected));
  });

  it('rule 3 (emergency count): the oldest half, critical spared; per-rule counts add up', async () => {
    const half = Math.floor(rows.length * 0.5);
    const expected = rows.slice(0, half).filter((r) => !critical(r)).map((r) => r.id);
    assert.deepEqual(await selectedIds(dbPath, 'emergency-cleanup', base, rows.length), sorted(expected));
    await withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
      const selection = await buildSelection(store, await readSchema(store), decideRules('emergency-cleanup', { messages: rows.length, dbBytes: 0 }, base, FIXED_NOW), base);
      const [count] = await countRules(store, selection);
      assert.equal(count.rule, 'emergency-count');
      assert.equal(count.selected, expected.length);
      assert.equal(count.spared, half - expected.length);
    });
  });

  it('the age and conversation-size rules together select the union', async () => {
    const one = await selectedIds(dbPath, 'archive', { ...base, maxMessagesPerConversation: 0 }, rows.length);
    const two = await selectedIds(dbPath, 'archive', { ...base, archiveAfterDays: 0 }, rows.length);
    assert.deepEqual(await selectedIds(dbPath, 'archive', base, rows.length), sorted(new Set([...one, ...two])));
  });
});
