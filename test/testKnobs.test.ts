import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_TEST_KNOBS, readTestKnobs, TEST_KNOBS_ENV } from '../src/testKnobs.js';

describe('test knobs', () => {
  it('reads every knob from one variable, `knob=value` items separated by `;`', () => {
    const knobs = readTestKnobs({ [TEST_KNOBS_ENV]: 'kill-at=carol:compacting,exported; pause-at=deleting@/tmp/pauses;free-bytes=1000; salvage-crash-budget=6; salvage-timeout-ms=500; salvage-debug=1' });
    assert.deepEqual(knobs, {
      killAt: [{ locrit: 'carol', point: 'compacting' }, { locrit: null, point: 'exported' }],
      pauseAt: { point: 'deleting', folder: '/tmp/pauses' },
      freeBytes: 1000,
      salvageTimeoutMs: 500,
      salvageCrashBudget: 6,
      salvageDebug: true,
    });
    assert.deepEqual(readTestKnobs({}), NO_TEST_KNOBS);
  });

  it('refuses an unknown knob or a bad value, so that a typo in a test cannot pass unnoticed', () => {
    assert.throws(() => readTestKnobs({ [TEST_KNOBS_ENV]: 'kill_at=exported' }), /unknown knob 'kill_at'/);
    assert.throws(() => readTestKnobs({ [TEST_KNOBS_ENV]: 'free-bytes=lots' }), /free-bytes must be a number/);
    assert.throws(() => readTestKnobs({ [TEST_KNOBS_ENV]: 'pause-at=deleting' }), /pause-at must be <point>@<folder>/);
  });
});
