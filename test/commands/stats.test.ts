import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { holdDatabase, killWriterMidWrite, truncateFile, writeNotKuzu } from '../../src/fixtures/damage.js';
import { makeLocrit, ROOT, runCli, tempDir } from '../helpers.js';

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

  it('reads a held database from a private copy, names its holder beside the figures, and exits 0', async (t) => {
    const data = tempDir(t);
    const held = await makeLocrit(data, { name: 'held' });
    await makeLocrit(data, { name: 'free' });
    const holder = await holdDatabase(held.dbPath);
    t.after(() => holder.release());
    const result = await runCli(['-d', data, 'stats', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const report = JSON.parse(result.stdout);
    const [free, heldReport] = report.locrits;
    assert.equal(free.error, null);
    assert.equal(free.database.messages, 200);
    assert.equal(free.inUse, null);
    assert.equal(heldReport.error, null);
    assert.equal(heldReport.status, free.status, 'the same figures give the same status, held or not');
    assert.equal(heldReport.database.messages, 200);
    assert.equal(heldReport.inUse.pid, holder.pid);
    assert.match(heldReport.inUse.command, /holder\.js/);
    assert.ok(heldReport.inUse.rssBytes > 0);
    assert.ok(Date.parse(heldReport.snapshotAt) <= Date.now());
    assert.equal(heldReport.files.dbBytes, fs.statSync(held.dbPath).size);
    const prometheus = await runCli(['-d', data, 'stats', '--format', 'prometheus']);
    assert.match(prometheus.stdout, /locrit_up\{locrit="held"\} 1/);
    assert.match(prometheus.stdout, /locrit_in_use\{locrit="held"\} 1/);
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

describe("stats and validate with the application's own config.yaml", () => {
  const APPLICATION_CONFIG = path.join(ROOT, 'test', 'config', 'application-config.yaml');

  /** The application's layout: config.yaml beside data/memory/<folder>/kuzu.db; one database no Locrit owns. */
  async function applicationSite(t: TestContext): Promise<{ dir: string; config: string; maxMessagesLine: number }> {
    const dir = tempDir(t);
    const config = path.join(dir, 'config.yaml');
    fs.copyFileSync(APPLICATION_CONFIG, config);
    const data = path.join(dir, 'data', 'memory');
    for (const name of ['Bob Technique', '\u00c9lise Caf\u00e9', 'Pixie Assistant', 'old_helper']) {
      await makeLocrit(data, { name, messages: 40, sessions: 2, vectorIndexes: false });
    }
    const maxMessagesLine = fs.readFileSync(config, 'utf8').split('\n').findIndex((l) => l.startsWith('  max_messages: ')) + 1;
    return { dir, config, maxMessagesLine };
  }

  it('prints nothing on stderr, takes memory.max_messages as the limit with its source, and shows display names and registry findings', async (t) => {
    const { dir, config, maxMessagesLine } = await applicationSite(t);
    const json = await runCli(['-c', 'config.yaml', 'stats', '--json'], { cwd: dir });
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stderr, '');
    const report = JSON.parse(json.stdout);
    const source = { from: 'config', key: 'memory.max_messages', file: config, line: maxMessagesLine };
    assert.equal(report.limits.max_messages_per_locrit, 10000);
    assert.deepEqual(report.limitSources.max_messages_per_locrit, source);
    assert.deepEqual(report.limitSources.max_db_size_mb, { from: 'default', key: 'memory.max_db_size_mb', file: null, line: null });
    assert.equal(report.limits.enable_embeddings, true);
    assert.equal(report.limitSources.enable_embeddings.key, 'memory.embedding_model');
    assert.deepEqual(report.locrits.map((l: { status: string }) => l.status), ['ok', 'ok', 'ok', 'ok']);
    const byName = Object.fromEntries(report.locrits.map((l: { name: string }) => [l.name, l]));
    assert.deepEqual(Object.keys(byName).sort(), ['bob_technique', 'old_helper', 'pixie_assistant', '\u00e9lise_caf\u00e9']);
    assert.deepEqual(byName.bob_technique.limits.find((l: { name: string }) => l.name === 'max_messages_per_locrit'), { name: 'max_messages_per_locrit', limit: 10000, value: 40, status: 'ok', source });
    assert.deepEqual([byName.bob_technique.displayName, byName.bob_technique.active, byName.bob_technique.memoryService], ['Bob Technique', true, 'kuzu_graph']);
    assert.deepEqual([byName['\u00e9lise_caf\u00e9'].displayName, byName['\u00e9lise_caf\u00e9'].active], ['\u00c9lise Caf\u00e9', false]);
    assert.deepEqual([byName.old_helper.displayName, byName.old_helper.active, byName.old_helper.memoryService], [null, null, null]);
    assert.deepEqual(
      report.configNotes.map((n: { level: string; code: string; locrit: string | null }) => [n.level, n.code, n.locrit]),
      [
        ['info', 'memory-disabled', null],
        ['info', 'kuzu-disabled', null],
        ['info', 'never-started', 'marie_recherche'],
        ['info', 'other-memory-service', 'pixie_assistant'],
        ['info', 'orphaned', 'old_helper'],
      ],
    );

    const table = await runCli(['-c', 'config.yaml', 'stats'], { cwd: dir });
    assert.equal(table.stderr, '');
    assert.match(table.stdout, /bob_technique \(Bob Technique\)/);
    assert.match(table.stdout, /\u00e9lise_caf\u00e9 \(\u00c9lise Caf\u00e9\) inactive/);
    assert.doesNotMatch(table.stdout, /orphaned/, 'registry findings are info: --verbose and JSON only');

    const prometheus = await runCli(['-c', 'config.yaml', 'stats', '--format', 'prometheus'], { cwd: dir });
    assert.match(prometheus.stdout, /^locrit_info\{locrit="bob_technique",display_name="Bob Technique",active="true",memory_service="kuzu_graph"\} 1$/m);
    assert.doesNotMatch(prometheus.stdout, /locrit_info\{locrit="old_helper"/);

    const verbose = await runCli(['-c', 'config.yaml', '--verbose', 'stats'], { cwd: dir });
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.ok(verbose.stdout.includes(`max_messages_per_locrit: 10,000, from memory.max_messages in ${config}:${maxMessagesLine}`), verbose.stdout);
    assert.match(verbose.stdout, /max_db_size_mb: 100 MiB, from built-in default/);
    assert.match(verbose.stdout, /note: 'Marie Recherche' uses kuzu_graph and has no database yet/);
    assert.match(verbose.stdout, /note: memory\.enabled is false in .*config\.yaml while 4 Kuzu databases exist/);
    assert.doesNotMatch(verbose.stderr, /Warning/);
    const both = verbose.stdout + verbose.stderr;
    assert.equal(both.split(`memory.max_messages in ${config}:${maxMessagesLine}`).length - 1, 1, 'each limit source is shown once');
    assert.equal(both.split("'Marie Recherche' uses kuzu_graph and has no database yet").length - 1, 1, 'each note is shown once');
  });

  it('resolves a Unicode display name to the folder the application made, and reports names and sources in validate', async (t) => {
    const { dir, config, maxMessagesLine } = await applicationSite(t);
    const one = await runCli(['-c', 'config.yaml', 'stats', '\u00c9lise Caf\u00e9', '--json'], { cwd: dir });
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout).locrits.map((l: { name: string; displayName: string }) => [l.name, l.displayName]), [['\u00e9lise_caf\u00e9', '\u00c9lise Caf\u00e9']]);

    fs.writeFileSync(path.join(dir, 'low-cap.yaml'), fs.readFileSync(config, 'utf8').replace('  max_messages: 10000', '  max_messages: 30'));
    const over = await runCli(['-c', 'low-cap.yaml', 'stats', 'Bob Technique', '--check'], { cwd: dir });
    assert.equal(over.code, 1);
    assert.match(over.stdout, /bob_technique: over: 40 against max_messages_per_locrit 30 \(memory\.max_messages\)/);

    const validate = await runCli(['-c', 'config.yaml', 'validate', 'Bob Technique', '--json'], { cwd: dir });
    assert.equal(validate.stderr, '');
    const report = JSON.parse(validate.stdout);
    assert.deepEqual(report.locrits.map((l: { name: string; displayName: string; active: boolean }) => [l.name, l.displayName, l.active]), [['bob_technique', 'Bob Technique', true]]);
    assert.equal(report.settings.max_messages_per_locrit, 10000);
    assert.deepEqual(report.settingSources.max_messages_per_locrit, { from: 'config', key: 'memory.max_messages', file: config, line: maxMessagesLine });
    assert.ok(report.configNotes.some((n: { code: string }) => n.code === 'orphaned'));
    const table = await runCli(['-c', 'config.yaml', 'validate'], { cwd: dir });
    assert.equal(table.stderr, '');
    assert.match(table.stdout, /pixie_assistant \(Pixie Assistant\)/);
  });
});
