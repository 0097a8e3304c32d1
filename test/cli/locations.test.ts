import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { dataLocations } from '../../src/commands/context.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { killWriterMidWrite } from '../../src/fixtures/damage.js';
import { locatingOptions, withLocatingOptions } from '../../src/cli/invocation.js';
import { makeLocrit, runCli, tempDir, writeConfig } from '../helpers.js';

describe('where archives, conversations and backups go', () => {
  it('without a configuration file, beside the data directory (data/memory next to data/archive), whatever the working folder', () => {
    const config = loadConfig({ cwd: '/', env: {} });
    assert.deepEqual(dataLocations({ config, dataDir: '/srv/locrit/data/memory' }), {
      archiveDir: '/srv/locrit/data/archive',
      conversationsDir: '/srv/locrit/data/conversations',
      backupDir: null,
    });
  });

  it('a key the file sets resolves against the file; a key it leaves out follows the data directory', () => {
    const set = parseConfig('archive:\n  dir: ../vault\nbackup:\n  dir: backups\n', '/etc/locrit/locrit-mem.yaml');
    assert.deepEqual(dataLocations({ config: set, dataDir: '/srv/a/data/memory' }), {
      archiveDir: '/etc/vault',
      conversationsDir: '/srv/a/data/conversations',
      backupDir: '/etc/locrit/backups',
    });
  });

  it('two data folders with a Locrit of the same name never share archives; the plan says where they go', async (t) => {
    const root = tempDir(t);
    const elsewhere = tempDir(t);
    for (const site of ['one', 'two']) await makeLocrit(path.join(root, site, 'data', 'memory'), { name: 'carol' });
    for (const site of ['one', 'two']) {
      const dataDir = path.join(root, site, 'data', 'memory');
      const json = await runCli(['-d', dataDir, 'archive', '--dry-run', '--json'], { cwd: elsewhere });
      assert.equal(json.code, 0, json.stderr);
      assert.equal(JSON.parse(json.stdout).archiveDir, path.join(root, site, 'data', 'archive'));
      const text = await runCli(['-d', dataDir, 'archive', '--dry-run'], { cwd: elsewhere });
      assert.ok(text.stdout.includes(`Archives go to ${path.join(root, site, 'data', 'archive', '<locrit>', '<UTC time>')}/`), text.stdout);
      const validate = await runCli(['-d', dataDir, 'validate', '--json'], { cwd: elsewhere });
      assert.equal(JSON.parse(validate.stdout).archiveDir, path.join(root, site, 'data', 'archive'));
    }
    assert.deepEqual(fs.readdirSync(elsewhere), [], 'nothing is written under the working folder');
  });
});

describe('suggested commands work when pasted', () => {
  it('carry the -d and -c the run was given, quoted for the shell', () => {
    assert.deepEqual(locatingOptions(['-d', 'my data/memory', '--config=cfg.yaml', 'stats', '--json']), ['-d', "'my data/memory'", '-c', 'cfg.yaml']);
    assert.deepEqual(locatingOptions(['--data-dir', "it's", 'recover']), ['-d', `'it'\\''s'`]);
    assert.equal(
      withLocatingOptions('run `locrit-mem recover carol`; locrit-mem validate carol --fix; not locrit-mem itself', ['-d', '/x']),
      'run `locrit-mem -d /x recover carol`; locrit-mem -d /x validate carol --fix; not locrit-mem itself',
    );
    assert.equal(withLocatingOptions('run `locrit-mem recover carol`', []), 'run `locrit-mem recover carol`');
  });

  it('in tables and Try lines', async (t) => {
    const root = tempDir(t);
    const dataDir = path.join(root, 'site data', 'memory');
    const carol = await makeLocrit(dataDir, { name: 'carol' });
    killWriterMidWrite(carol.dbPath);
    const config = writeConfig(root, 'memory:\n  max_messages_per_locrit: 5000\n');
    const stats = await runCli(['-c', config, '--data-dir', dataDir, 'stats'], { cwd: root });
    assert.equal(stats.code, 0, stats.stderr);
    assert.ok(stats.stdout.includes(`run \`locrit-mem -c ${config} -d '${dataDir}' recover carol\``), stats.stdout);
    const missing = await runCli(['-d', dataDir, 'stats', 'nobody'], { cwd: root });
    assert.equal(missing.code, 2);
    const bogus = await runCli(['-d', dataDir, 'stats', '--bogus'], { cwd: root });
    assert.match(bogus.stderr, new RegExp(`Try: run \`locrit-mem -d '${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' stats --help\``));
  });
});
