/**
 * The application's resets as the commands show them: `stats` (table, JSON, Prometheus) and
 * `validate` (rule file.reset, the backup's name among the examples), with exact counts, on
 * Locrits reset with the old WAL left beside the fresh file (bob) and without one (ada).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killWriterMidWrite } from '../../src/fixtures/damage.js';
import { simulateReset } from '../../src/fixtures/reset.js';
import { makeLocrit, runCli, snapshotFolder } from '../helpers.js';

const BACKUP = 'kuzu.db.backup_20261102_100000';

describe('resets in stats and validate', () => {
  let data = '';
  before(async () => {
    data = fs.mkdtempSync(path.join(os.tmpdir(), 'locrit-resets-'));
    const bob = await makeLocrit(data, { name: 'bob', messages: 120 });
    killWriterMidWrite(bob.dbPath, { committed: 4, uncommitted: 1, seed: 5 });
    await simulateReset({ dataDir: data, name: 'bob', at: new Date('2026-11-02T10:00:00'), newMessages: 30 });
    await makeLocrit(data, { name: 'ada', messages: 80, seed: 2 });
    await simulateReset({ dataDir: data, name: 'ada', at: new Date('2026-11-02T10:00:00'), newMessages: 20, seed: 3 });
    await makeLocrit(data, { name: 'cy', messages: 40, seed: 4 });
  });
  process.on('exit', () => fs.rmSync(data, { recursive: true, force: true }));

  it('stats: JSON and table name the backup and the messages only it holds; nothing is written', async () => {
    const files = snapshotFolder(data);
    const json = await runCli(['-d', data, 'stats', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    const by = Object.fromEntries(report.locrits.map((l: { name: string }) => [l.name, l]));
    assert.deepEqual(by.bob.resets.backups.map((b: { name: string; held: number; missing: number }) => [b.name, b.held, b.missing]), [[BACKUP, 124, 124]]);
    assert.equal(by.bob.resets.missingMessages, 124);
    assert.equal(by.bob.database.messages, 30, "the foreign WAL's 4 messages are not counted as bob's");
    assert.match(by.bob.resets.foreignWal.reason, /before kuzu\.db was created/);
    assert.equal(by.ada.resets.missingMessages, 80);
    assert.equal(by.ada.resets.foreignWal, null);
    assert.equal(by.cy.resets.missingMessages, 0);
    const table = await runCli(['-d', data, 'stats']);
    assert.match(table.stdout, /bob: reset: kuzu\.db\.backup_20261102_100000 .* holds 124 messages, 124 of them neither in kuzu\.db nor in an archive/);
    assert.match(table.stdout, /│ 124 \(1 backup\)/);
    const prometheus = await runCli(['-d', data, 'stats', '--format', 'prometheus']);
    assert.match(prometheus.stdout, /^locrit_reset_missing_messages\{locrit="bob"\} 124$/m);
    assert.match(prometheus.stdout, /^locrit_reset_missing_messages\{locrit="ada"\} 80$/m);
    assert.match(prometheus.stdout, /^locrit_reset_missing_messages\{locrit="cy"\} 0$/m);
    assert.match(prometheus.stdout, /^locrit_foreign_wal\{locrit="bob"\} 1$/m);
    assert.deepEqual(snapshotFolder(data), files, 'stats writes nothing');
  });

  it('validate: file.reset at severity error with the backup among the examples, file.foreign-wal for bob', async () => {
    const result = await runCli(['-d', data, 'validate', '--json']);
    const report = JSON.parse(result.stdout);
    const by = Object.fromEntries(report.locrits.map((l: { name: string }) => [l.name, l]));
    const finding = (name: string, rule: string) => by[name].findings.find((f: { rule: string }) => f.rule === rule);
    assert.equal(finding('bob', 'file.reset').severity, 'error');
    assert.deepEqual(finding('bob', 'file.reset').examples, [BACKUP]);
    assert.match(finding('bob', 'file.reset').detail, /holds 124 messages, 124 found nowhere else/);
    assert.equal(finding('bob', 'file.foreign-wal').severity, 'error');
    assert.equal(by.bob.checked.messages, 30, 'the foreign WAL is not read with kuzu.db');
    assert.deepEqual(finding('ada', 'file.reset').examples, [BACKUP]);
    assert.match(finding('ada', 'file.reset').detail, /holds 80 messages, 80 found nowhere else/);
    assert.equal(finding('ada', 'file.foreign-wal'), undefined);
    assert.equal(finding('cy', 'file.reset'), undefined);
    assert.equal(result.code, 1);
  });
});
