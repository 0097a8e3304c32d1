import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateLimits, statusAgainst, worstStatus } from '../../src/policy/limits.js';
import { instantToWallClock, wallClockToInstant } from '../../src/policy/time.js';

describe('limits', () => {
  it('is ok below 80% of a limit, warn from 80%, over beyond it, and 0 means no limit', () => {
    assert.equal(statusAgainst(799, 1000), 'ok');
    assert.equal(statusAgainst(800, 1000), 'warn');
    assert.equal(statusAgainst(1000, 1000), 'warn');
    assert.equal(statusAgainst(1001, 1000), 'over');
    assert.equal(statusAgainst(1e9, 0), 'ok');
  });

  it('checks file size in bytes against max_db_size_mb, messages, the largest session and stray embeddings', () => {
    const checks = evaluateLimits(
      { dbBytes: 101 * 1024 * 1024, messages: 4000, largestSessionMessages: 10, messagesWithEmbedding: 3 },
      { max_db_size_mb: 100, max_messages_per_locrit: 5000, max_messages_per_conversation: 1000, enable_embeddings: false },
    );
    assert.deepEqual(checks.map((c) => [c.name, c.status]), [
      ['max_db_size_mb', 'over'],
      ['max_messages_per_locrit', 'warn'],
      ['max_messages_per_conversation', 'ok'],
      ['enable_embeddings', 'warn'],
    ]);
    assert.equal(checks[0].limit, 100 * 1024 * 1024);
    assert.equal(worstStatus(checks.map((c) => c.status)), 'over');
    assert.equal(worstStatus([]), 'ok');
  });
});

describe('wall-clock time', () => {
  it('round-trips between real instants and the stored zone-less wall-clock', () => {
    const instant = new Date(2026, 10, 1, 12, 30, 15, 250);
    const stored = instantToWallClock(instant);
    assert.equal(stored.getUTCHours(), 12);
    assert.equal(stored.getUTCMinutes(), 30);
    assert.equal(wallClockToInstant(stored).getTime(), instant.getTime());
  });
});
