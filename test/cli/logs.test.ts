/** Off a terminal (cron, CI): quiet on success, -q without detail lines, -v one timestamped line per Locrit. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FIXED_NOW, makeLocrit, runCli, tempDir, writeConfig } from '../helpers.js';

describe('output for logs', () => {
  it('stderr is empty on success, -q leaves the table and what went wrong, -v adds a timestamped line per Locrit', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    await Promise.all(['alice', 'bob'].map((name) => makeLocrit(memory, { name, messages: 200, sessions: 2 })));
    writeConfig(root, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n');
    const days = String(Math.ceil((Date.now() - FIXED_NOW.getTime()) / 86_400_000) + 20);
    const rules = ['--dry-run', '--days', days, '--keep', '50'];

    const plain = await runCli(['archive', ...rules], { cwd: root });
    assert.equal(plain.code, 0);
    assert.equal(plain.stderr, '', 'nothing on stderr on success');
    assert.match(plain.stdout, /alice age: \d+ messages/);

    const quiet = await runCli(['-q', 'archive', ...rules], { cwd: root });
    assert.equal(quiet.stderr, '');
    assert.doesNotMatch(quiet.stdout, / age: | would be compacted|Archives go to/, 'no per-Locrit detail lines');
    assert.match(quiet.stdout, /│ alice +│ planned +│/);

    const verbose = await runCli(['-v', '-j', '1', 'stats'], { cwd: root });
    assert.equal(verbose.code, 0);
    const lines = verbose.stderr.trim().split('\n').filter((line) => / Locrit \d\/\d /.test(line));
    assert.equal(lines.length, 2, verbose.stderr);
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z Locrit 1\/2 alice: done in \d+s$/);
    assert.match(lines[1], /^\d{4}-\d\d-\d\dT[\d:.]+Z Locrit 2\/2 bob: done in \d+s$/);
  });
});
