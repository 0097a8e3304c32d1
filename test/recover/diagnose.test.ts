import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnose, type Observation } from '../../src/recover/diagnose.js';
import { findUnsavedConversations } from '../../src/recover/conversations.js';
import { compareCounts, countDelta } from '../../src/recover/verify.js';
import type { Inspection } from '../../src/store/inspect.js';
import { appBackupName } from '../../src/recover/install.js';
import { workerDeathError } from '../../src/runner/pool.js';

const inspection = (counts: Record<string, number>): Inspection => ({
  path: 'kuzu.db', storageVersion: 39, counts, schemaMissing: [], dimension: 16, vectorIndexes: [], embeddingsStored: {}, messages: counts.Message ?? 0,
  oldestMessageAt: null, newestMessageAt: null, deepRead: true, sessionMessages: {}, archivedPerSession: null, archiveReadError: null,
});
const base: Observation = { dbPath: '/d/bob/kuzu.db', dbExists: true, walBytes: null, holder: null, probe: { ok: true, value: inspection({ Message: 3 }) }, batchSize: 5000 };
const damaged = { kind: 'DatabaseUnavailableError', message: 'Kuzu was killed by SIGSEGV', hint: null, exitCode: 3 as const, reason: 'damaged' as const, holder: null };

describe('diagnose: the cases in the order recover checks them', () => {
  it('a holder comes first, even with a WAL and a damaged file', () => {
    const d = diagnose({ ...base, walBytes: 100, probe: { ok: false, error: damaged }, holder: { pid: 42, command: 'python app.py', rssBytes: 50 * 1024 * 1024, cpuPercent: 3.5 } });
    assert.equal(d.problem, 'in-use');
    assert.equal(d.action, 'refuse');
    assert.match(d.problems[0], /pid 42, python app\.py, 50 MiB RSS, 3\.5% CPU/);
  });
  it('a WAL beside a database that opens is an unclean stop, replayed', () => {
    const d = diagnose({ ...base, walBytes: 2048 });
    assert.equal(d.problem, 'unclean-stop');
    assert.equal(d.action, 'replay-wal');
    assert.match(d.plan.join('\n'), /Message 3/);
  });
  it('a probe that fails or crashes means salvage; an unsupported version is left alone; a missing file is reported', () => {
    assert.equal(diagnose({ ...base, walBytes: 10, probe: { ok: false, error: damaged } }).action, 'salvage');
    assert.equal(diagnose({ ...base, probe: { ok: false, error: { ...damaged, reason: 'unsupported-version' } } }).action, 'report');
    assert.equal(diagnose({ ...base, dbExists: false, probe: null }).problem, 'missing');
    // Neither a bug of ours nor a worker that could not start is a reason to rebuild a file.
    assert.equal(diagnose({ ...base, probe: { ok: false, error: { ...damaged, kind: 'InternalError', reason: null, message: 'x is not a function' } } }).problem, 'check-failed');
    const exited = workerDeathError({ name: 'bob', dir: '.', dbPath: 'kuzu.db' }, { signal: null, exitCode: 1 });
    assert.equal(diagnose({ ...base, probe: { ok: false, error: exited } }).action, 'report');
    const killed = workerDeathError({ name: 'bob', dir: '.', dbPath: 'kuzu.db' }, { signal: 'SIGSEGV', exitCode: null });
    assert.equal(diagnose({ ...base, probe: { ok: false, error: killed } }).action, 'salvage');
  });
  it('nothing wrong', () => {
    assert.deepEqual(diagnose(base), { problem: 'none', problems: [], action: 'none', plan: [] });
  });
});

describe('recover helpers', () => {
  it('unsaved conversations: recorded minus stored minus archived', () => {
    const header = (id: string, session: string | null, count: number | null) => ({
      file: `${id}.yaml`, conversationId: id, locritName: 'Bob', locrit: 'bob', userId: 'u', sessionId: session, createdAt: null, lastActivity: null, messageCount: count, status: 'active', metadata: {},
    });
    const check = findUnsavedConversations([header('a', 's1', 10), header('b', 's2', 10), header('c', 's3', 4), header('d', null, 3)], { s1: 10, s2: 6, s3: 1 }, { s3: 3 });
    assert.equal(check.checked, 3);
    assert.equal(check.notComparable, 1);
    assert.deepEqual(check.unsaved.map((u) => [u.conversationId, u.missing]), [['b', 4]]);
  });
  it('count comparisons and the application backup name (local time)', () => {
    assert.deepEqual(compareCounts({ Message: 3, SENT: 2 }, { Message: 3, SENT: 1 }), [{ table: 'SENT', expected: 2, found: 1 }]);
    assert.deepEqual(countDelta({ Message: 3, SENT: 2 }, { Message: 5, SENT: 2 }), { Message: 2 });
    assert.equal(appBackupName(new Date(2025, 8, 13, 14, 29, 7)), 'kuzu.db.backup_20250913_142907');
  });
});
