/** Habits operators bring from journalctl and restic: durations and sizes with units, -j 0. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { durationDays, sizeMib } from '../../src/cli/subcommands/retentionFlags.js';
import { counted } from '../../src/cli/words.js';
import { parseJobs } from '../../src/commands/context.js';
import { defaultJobs } from '../../src/runner/pool.js';
import { makeLocrit, runCli, tempDir } from '../helpers.js';

describe('units on durations and sizes', () => {
  it('reads durations as journalctl does, a plain number being days', () => {
    assert.equal(durationDays('--days', '30'), 30);
    assert.equal(durationDays('--days', '30d'), 30);
    assert.equal(durationDays('--days', '2w'), 14);
    assert.equal(durationDays('--days', '2weeks'), 14);
    assert.equal(durationDays('--days', '720h'), 30);
    assert.equal(durationDays('--days', '0'), 0);
    assert.throws(() => durationDays('--older-than', '3 fortnights'), /--older-than must be a duration such as 30 \(days\), 30d, 2w or 720h, got '3 fortnights'/);
    assert.throws(() => durationDays('--days', '-1'), /--days must be a duration/);
  });

  it('reads sizes in powers of 1024, a plain number being MiB', () => {
    assert.equal(sizeMib('--max-size', '100'), 100);
    assert.equal(sizeMib('--max-size', '100M'), 100);
    assert.equal(sizeMib('--max-size', '2G'), 2048);
    assert.equal(sizeMib('--max-size', '512K'), 0.5);
    assert.equal(sizeMib('--max-size', '1.5GiB'), 1536);
    assert.throws(() => sizeMib('--max-size', 'big'), /--max-size must be a size such as 100 \(MiB\), 100M or 2G, got 'big'/);
  });

  it('-j 0 means one job per core, as run.jobs: 0 does', () => {
    assert.equal(parseJobs('0', 3), defaultJobs());
    assert.equal(parseJobs(undefined, 0), defaultJobs());
    assert.equal(parseJobs('2', 0), 2);
  });

  it('on the command line: --older-than and --max-size reach the plan; both spellings at once are refused', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'data', 'memory');
    await makeLocrit(memory, { name: 'carol' });
    const archive = await runCli(['-d', memory, '-j', '0', 'archive', '--dry-run', '--json', '--older-than', '2w'], { cwd: root });
    assert.equal(archive.code, 0, archive.stderr);
    assert.equal(JSON.parse(archive.stdout).settings.archiveAfterDays, 14);
    const hours = await runCli(['-d', memory, 'archive', '--dry-run', '--json', '--days', '720h'], { cwd: root });
    assert.equal(JSON.parse(hours.stdout).settings.archiveAfterDays, 30);
    const emergency = await runCli(['-d', memory, 'emergency-cleanup', '--dry-run', '--json', '--max-size', '5M'], { cwd: root });
    assert.equal(emergency.code, 0, emergency.stderr);
    assert.equal(JSON.parse(emergency.stdout).settings.maxDbSizeMb, 5);
    const both = await runCli(['-d', memory, 'archive', '--dry-run', '--days', '3', '--older-than', '3d'], { cwd: root });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^Error: --days and --older-than mean the same: pass one of them\n/);
  });

  it('words agree with their numbers, numbers have thousands separators, help lists have no gaps', async () => {
    assert.equal(counted(1, 'error'), '1 error');
    assert.equal(counted(0, 'error'), '0 errors');
    assert.equal(counted(1500, 'message'), '1,500 messages');
    for (const command of ['stats', 'archive', 'emergency-cleanup', 'validate', 'recover']) {
      const help = await runCli([command, '--help']);
      assert.equal(help.code, 0);
      const numbers = [...help.stdout.matchAll(/^ {2}(\d+)\. /gm)].map((m) => Number(m[1]));
      assert.deepEqual(numbers, numbers.map((_, i) => i + 1), `${command} --help numbers its list without gaps`);
      assert.doesNotMatch(help.stdout, /\(s\)/, `${command} --help`);
    }
  });
});
