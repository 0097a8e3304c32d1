/**
 * The worker started before commander parses the arguments: a guess from the raw words, which
 * must pick the task the command will run first and start nothing for help or version.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstTaskFor } from '../../src/cli/prestart.js';

describe('the worker started at the very start of the CLI', () => {
  it('is the task each command runs first', () => {
    assert.equal(firstTaskFor(['stats']), 'stats');
    assert.equal(firstTaskFor(['-d', 'data', 'stats', '--json']), 'stats');
    assert.equal(firstTaskFor(['validate']), 'validate-check');
    assert.equal(firstTaskFor(['validate', '--deep']), 'validate-check-deep');
    assert.equal(firstTaskFor(['validate', '--fix', '--deep']), 'validate-fix');
    assert.equal(firstTaskFor(['archive', '--days', '30']), 'retention');
    assert.equal(firstTaskFor(['emergency-cleanup', '--dry-run']), 'retention');
  });

  it('follows the first command word: a Locrit named like a command is an argument', () => {
    assert.equal(firstTaskFor(['archive', 'stats']), 'retention');
    assert.equal(firstTaskFor(['stats', 'validate']), 'stats');
  });

  it('starts none for help, version, recover, or words after `--`', () => {
    assert.equal(firstTaskFor(['stats', '--help']), null);
    assert.equal(firstTaskFor(['help', 'archive']), null);
    assert.equal(firstTaskFor(['-V']), null);
    assert.equal(firstTaskFor(['recover', '--list']), null);
    assert.equal(firstTaskFor(['--', 'stats']), null);
    assert.equal(firstTaskFor([]), null);
  });
});
