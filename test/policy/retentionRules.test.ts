import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ageCutoff, criticalContentRegex, decideRules, embeddingBytes, emergencyRemoveCount, isCritical, isLowPriority, ruleParameters, type RetentionSettings,
} from '../../src/policy/retentionRules.js';

const settings: RetentionSettings = {
  archiveAfterDays: 30, keepCount: 1000, maxMessagesPerConversation: 1000, maxMessagesPerLocrit: 5000, maxDbSizeMb: 100, emergencyFraction: 0.5,
  emergencyDaysOld: 7, emergencyKeepCount: 500, protectCritical: true, criticalPatterns: ['error', 'critical'], lowPriorityMaxChars: 20, enableEmbeddings: false,
};
const now = new Date('2026-11-01T12:00:00Z');
const MiB = 1024 * 1024;

describe('retention policy', () => {
  it('archive runs the age and conversation-size rules with the configured thresholds, and skips a rule set to 0', () => {
    const [age, size] = decideRules('archive', { messages: 10, dbBytes: 0 }, settings, now);
    assert.equal(age.applies, true);
    assert.deepEqual(age.plan, { rule: 'age', days: 30, keepCount: 1000, cutoff: new Date('2026-10-02T12:00:00Z') });
    assert.equal(size.applies, true);
    assert.deepEqual(ruleParameters(age.plan!), { days: 30, keepCount: 1000, cutoff: '2026-10-02T12:00:00.000Z' });
    const off = decideRules('archive', { messages: 10, dbBytes: 0 }, { ...settings, archiveAfterDays: 0, maxMessagesPerConversation: 0 }, now);
    assert.deepEqual(off.map((d) => d.applies), [false, false]);
  });

  it('emergency-cleanup applies only the limits a Locrit breaks (nothing to do otherwise)', () => {
    assert.deepEqual(decideRules('emergency-cleanup', { messages: 5000, dbBytes: 100 * MiB }, settings, now).map((d) => d.applies), [false, false]);
    const [count, size] = decideRules('emergency-cleanup', { messages: 5001, dbBytes: 100 * MiB + 1 }, settings, now);
    assert.deepEqual(count.plan, { rule: 'emergency-count', fraction: 0.5, limit: 5000, removeCount: 2500 });
    assert.deepEqual(size.plan, { rule: 'emergency-size', days: 7, keepCount: 500, cutoff: ageCutoff(now, 7), limitBytes: 100 * MiB });
    assert.deepEqual(decideRules('emergency-cleanup', { messages: 9e9, dbBytes: 9e12 }, { ...settings, maxMessagesPerLocrit: 0, maxDbSizeMb: 0 }, now).map((d) => d.applies), [false, false]);
  });

  it('removes floor(count x fraction), as the seed count // 2', () => {
    assert.equal(emergencyRemoveCount(5001, 0.5), 2500);
    assert.equal(emergencyRemoveCount(7, 0.5), 3);
    assert.equal(emergencyRemoveCount(10, 0), 0);
    assert.equal(emergencyRemoveCount(10, 1), 10);
  });

  it('critical: metadata.important or a pattern, case-insensitive (seed 000)', () => {
    assert.equal(isCritical({ content: 'All good', metadata: '{"important": true}' }, settings.criticalPatterns), true);
    assert.equal(isCritical({ content: 'All good', metadata: '{"important":false}' }, settings.criticalPatterns), false);
    assert.equal(isCritical({ content: 'An ERROR occurred', metadata: '{}' }, settings.criticalPatterns), true);
    assert.equal(isCritical({ content: 'Critical path', metadata: null }, settings.criticalPatterns), true);
    assert.equal(isCritical({ content: null, metadata: null }, settings.criticalPatterns), false);
    assert.equal(criticalContentRegex(['error', 'a.b']), '(?i)(error|a\\.b)');
    assert.equal(criticalContentRegex([]), null);
  });

  it('low priority: system messages and messages of 20 characters or fewer (seed 004 section 3)', () => {
    assert.equal(isLowPriority({ role: 'system', content: 'You are a helpful Locrit, answer briefly.' }, 20), true);
    assert.equal(isLowPriority({ role: 'user', content: '12345678901234567890' }, 20), true);
    assert.equal(isLowPriority({ role: 'user', content: '123456789012345678901' }, 20), false);
    assert.equal(embeddingBytes(10, 768), 30720);
  });
});
