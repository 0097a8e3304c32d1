import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { BIN, ROOT, runCli, tempDir, writeConfig } from '../helpers.js';

const version = JSON.parse(fs.readFileSync(`${ROOT}/package.json`, 'utf8')).version;

describe('command line', () => {
  it('prints the version and a help that lists every subcommand', async () => {
    assert.deepEqual(await runCli(['--version']), { code: 0, signal: null, stdout: `${version}\n`, stderr: '' });
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    for (const command of ['stats', 'archive', 'emergency-cleanup', 'validate', 'recover']) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
    for (const option of ['--config', '--data-dir', '--json', '--no-color', '--quiet', '--verbose', '--jobs']) assert.ok(help.stdout.includes(option), option);
  });

  it('ends quietly when its reader goes away early (`| head`): no stack trace, the exit code of the run', async () => {
    // The reader closes the pipe before anything is written (as `head` does once it has its lines),
    // long before the child has even loaded Node: its first write meets a closed pipe.
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'archive', '--help'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stdout.destroy();
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('close', (exitCode) => resolve({ code: exitCode, stderr }));
    });
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  it('answers bad usage with one Error/Try pair and exit 2, never a stack trace', async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [['stats', '--bogus'], /^Error: unknown option '--bogus'\nTry: run `locrit-mem stats --help`\n$/],
      [['statz'], /^Error: unknown command 'statz'\n\(Did you mean stats\?\)\nTry: run `locrit-mem --help`\n$/],
      [['stats', '--format', 'xml'], /^Error: --format must be one of table, json, prometheus, got 'xml'\nTry: /],
      [['stats', '--watch', '-1'], /^Error: --watch must be a positive number up to 86400, got '-1'\nTry: /],
      [['--jobs', 'many', 'stats'], /^Error: --jobs must be a whole number from 0 \(one per core\) to 256, got 'many'\nTry: /],
      [['--config', '/nonexistent/x.yaml', 'stats'], /^Error: config file \/nonexistent\/x\.yaml \(from --config\) does not exist\nTry: /],
    ];
    const dir = tempDir(t);
    for (const [args, expected] of cases) {
      const result = await runCli(args, { cwd: dir });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, expected);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
    const none = await runCli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: locrit-mem/);
  });

  it('rejects a bad configuration value naming the key, file and line (exit 2)', async (t) => {
    const dir = tempDir(t);
    const file = writeConfig(dir, 'memory:\n  max_db_size_mb: huge\n');
    const result = await runCli(['stats'], { cwd: dir });
    assert.equal(result.code, 2);
    assert.equal(result.stderr.split('\n')[0], `Error: ${file}:2: 'memory.max_db_size_mb' must be a number >= 0, got "huge"`);
  });
});
