import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { holdDatabase, killWriterMidWrite, truncateFile, writeNotKuzu } from '../../src/fixtures/damage.js';
import { makeLocrit, runCli, tempDir } from '../helpers.js';

describe('stats', () => {
  it('reports exact figures for a generated Locrit, as JSON', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'Bob Technique', messages: 300, embeddedShare: 0.4, sessions: 3 });
    const result = await runCli(['--data-dir', data, 'stats', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.version, 1);
    assert.equal(report.command, 'stats');
    const bob = report.locrits[0];
    assert.equal(bob.name, 'bob_technique');
    assert.equal(bob.files.dbBytes, fs.statSync(fixture.dbPath).size);
    assert.equal(bob.files.walPresent, false);
    assert.equal(bob.database.messages, 300);
    assert.equal(bob.database.messagesWithEmbedding, fixture.embeddedMessageIds.length);
    assert.equal(bob.database.embeddingDimension, 16);
    assert.equal(bob.database.estimatedEmbeddingBytes, 300 * 16 * 4);
    assert.equal(bob.database.storedEmbeddingBytes.Message, fixture.embeddedMessageIds.length * 16 * 4);
    assert.equal(bob.database.storedEmbeddingBytes.Memory, fixture.nodeCounts.Memory * 16 * 4);
    assert.equal(bob.database.storedEmbeddingBytes.Concept, fixture.nodeCounts.Concept * 16 * 4);
    assert.deepEqual(bob.database.nodeRows, fixture.nodeCounts);
    assert.deepEqual(bob.database.relRows, fixture.relCounts);
    assert.equal(bob.database.sessions, 3);
    assert.equal(bob.database.largestSession.messages, Math.max(...Object.values(fixture.sessionSizes)));
    assert.equal(bob.database.conversationMemoryEstimateBytes, 300 * 1024);
    assert.equal(bob.inUse, null);
    assert.equal(report.total.messages, 300);
  });

  it('flags limits: warn within 80%, over beyond, and --check exits 1 only when over', async (t) => {
    const data = tempDir(t);
    await makeLocrit(data, { name: 'small', messages: 50 });
    await makeLocrit(data, { name: 'big', messages: 120 });
    const config = path.join(data, 'c.yaml');
    fs.writeFileSync(config, 'memory:\n  max_messages_per_locrit: 100\n  max_db_size_mb: 0\n  enable_embeddings: true\n');
    const plain = await runCli(['-c', config, '-d', data, 'stats', '--json']);
    assert.equal(plain.code, 0);
    const report = JSON.parse(plain.stdout);
    const byName = Object.fromEntries(report.locrits.map((l: { name: string }) => [l.name, l]));
    assert.equal(byName.big.status, 'over');
    assert.equal(byName.small.status, 'ok');
    const checked = await runCli(['-c', config, '-d', data, 'stats', '--check', '--json']);
    assert.equal(checked.code, 1);
    const onlySmall = await runCli(['-c', config, '-d', data, 'stats', 'small', '--check']);
    assert.equal(onlySmall.code, 0);
  });

  it('reports a WAL left by a killed writer, and still reads the committed messages', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'crashy', messages: 100 });
    const killed = killWriterMidWrite(fixture.dbPath, { committed: 4, uncommitted: 2 });
    const result = await runCli(['-d', data, 'stats', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const locrit = JSON.parse(result.stdout).locrits[0];
    assert.equal(locrit.files.walPresent, true);
    assert.equal(locrit.files.walBytes, killed.walBytes);
    assert.equal(locrit.database.messages, 104);
    assert.ok(fs.existsSync(`${fixture.dbPath}.wal`), 'a read-only stats run must leave the WAL in place');
    const table = await runCli(['-d', data, 'stats']);
    assert.match(table.stdout, /WAL is present/);
  });

  it('names the process holding a database, reports the others, and exits 3', async (t) => {
    const data = tempDir(t);
    const held = await makeLocrit(data, { name: 'held' });
    await makeLocrit(data, { name: 'free' });
    const holder = await holdDatabase(held.dbPath);
    t.after(() => holder.release());
    const result = await runCli(['-d', data, 'stats', '--json']);
    assert.equal(result.code, 3);
    const report = JSON.parse(result.stdout);
    const [free, heldReport] = report.locrits;
    assert.equal(free.error, null);
    assert.equal(free.database.messages, 200);
    assert.equal(heldReport.status, 'unavailable');
    assert.equal(heldReport.error.reason, 'in-use');
    assert.equal(heldReport.inUse.pid, holder.pid);
    assert.match(heldReport.inUse.command, /holder\.js/);
    assert.ok(heldReport.inUse.rssBytes > 0);
    assert.equal(heldReport.files.dbBytes, fs.statSync(held.dbPath).size);
  });

  it('reports a non-Kuzu file and a truncated file as unusable (exit 3) without crashing the run', async (t) => {
    const data = tempDir(t);
    const notKuzu = await makeLocrit(data, { name: 'notkuzu' });
    const truncated = await makeLocrit(data, { name: 'truncated' });
    await makeLocrit(data, { name: 'zfine' });
    writeNotKuzu(notKuzu.dbPath);
    truncateFile(truncated.dbPath, 0.3);
    const result = await runCli(['-d', data, 'stats', '--json']);
    assert.equal(result.code, 3, result.stderr);
    const [bad, cut, fine] = JSON.parse(result.stdout).locrits;
    assert.equal(bad.error.reason, 'not-kuzu');
    assert.match(bad.error.message, /not a Kuzu database/);
    assert.equal(cut.error.reason, 'damaged');
    assert.equal(fine.error, null);
    assert.equal(fine.database.messages, 200);
  });

  it('resolves display names and paths, and lists the known Locrits for an unknown one', async (t) => {
    const data = tempDir(t);
    const bob = await makeLocrit(data, { name: 'Bob Technique' });
    await makeLocrit(data, { name: 'alice' });
    const byDisplay = await runCli(['-d', data, 'stats', 'Bob Technique', '--json']);
    assert.equal(JSON.parse(byDisplay.stdout).locrits[0].name, 'bob_technique');
    const byPath = await runCli(['stats', bob.dbPath, '--json']);
    assert.equal(JSON.parse(byPath.stdout).locrits[0].database.messages, 200);
    const unknown = await runCli(['-d', data, 'stats', 'carol']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr, /^Error: unknown Locrit 'carol' in .*; known: alice, bob_technique\nTry: /);
  });

  it('exits 2 with one line for a missing data directory', async (t) => {
    const data = tempDir(t);
    const result = await runCli(['-d', path.join(data, 'nope'), 'stats']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^Error: data directory .*nope does not exist\nTry: /);
  });

  it('writes Prometheus textfile-collector lines, atomically with --output', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'bob' });
    const out = path.join(data, 'locrit.prom');
    const result = await runCli(['-d', data, 'stats', '--format', 'prometheus', '-o', out]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    const text = fs.readFileSync(out, 'utf8');
    assert.match(text, /^# HELP locrit_up /m);
    assert.match(text, /^# TYPE locrit_messages gauge$/m);
    assert.match(text, /^locrit_messages\{locrit="bob"\} 200$/m);
    assert.match(text, new RegExp(`^locrit_db_size_bytes\\{locrit="bob"\\} ${fs.statSync(fixture.dbPath).size}$`, 'm'));
    assert.match(text, /^locrit_table_rows\{locrit="bob",table="PART_OF",kind="rel"\} 200$/m);
    for (const line of text.trim().split('\n')) assert.match(line, /^(# (HELP|TYPE) locrit_\w+ .+|locrit_\w+(\{[^}]*\})? -?[\d.e+-]+)$/);
    assert.deepEqual(fs.readdirSync(data).filter((f) => f.includes('.tmp')), []);
  });
});
