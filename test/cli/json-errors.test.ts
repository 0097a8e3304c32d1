import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli, tempDir, writeConfig } from '../helpers.js';

describe('--json when the run fails before it has a report', () => {
  it('prints a JSON error document on stdout with the same version and the exit code, beside Error/Try on stderr', async (t) => {
    const dir = tempDir(t);
    const bad = writeConfig(dir, 'memory:\n  max_db_size_mb: huge\n');
    const cases: Array<[string[], string, number]> = [
      [['-d', path.join(dir, 'nowhere'), 'stats', '--json'], 'stats', 2],
      [['archive', '--json', '--bogus'], 'archive', 2],
      [['-c', bad, 'validate', '--json'], 'validate', 2],
      [['-d', dir, 'stats', '--format', 'json', 'nobody'], 'stats', 2],
    ];
    for (const [args, command, code] of cases) {
      const result = await runCli(args, { cwd: dir });
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, /^Error: .*\nTry: /);
      const doc = JSON.parse(result.stdout);
      assert.equal(doc.version, 1);
      assert.equal(doc.command, command);
      assert.equal(doc.exitCode, code);
      assert.equal(doc.error.exitCode, code);
      assert.equal(typeof doc.error.message, 'string');
      assert.ok(result.stderr.includes(doc.error.message), args.join(' '));
    }
    const plain = await runCli(['-d', path.join(dir, 'nowhere'), 'stats'], { cwd: dir });
    assert.equal(plain.stdout, '', 'without --json, stdout stays empty');
  });
});
