import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { damagePages, holdDatabase, killWriterMidWrite, writeNotKuzu } from '../../src/fixtures/damage.js';
import { RULES } from '../../src/policy/integrityRules.js';
import { validateJunit } from '../../src/cli/render/junit.js';
import type { ValidateReport } from '../../src/commands/validate.js';
import { makeLocrit, runCli, sha256File, snapshotFolder, tempDir, writeConfig } from '../helpers.js';
import { CLEAN_CONFIG, plantDefects, plantSchemaDefects } from './validate-fixtures.js';
import { parseXml } from './validate-junit.js';

interface FindingJson {
  rule: string;
  severity: string;
  count: number;
  examples: string[];
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function findingsOf(locrit: { findings: FindingJson[] }): Record<string, FindingJson> {
  return Object.fromEntries(locrit.findings.map((f) => [f.rule, f]));
}

/** Every finding matches the planted ids exactly (count, and the five first ids), and nothing else fires. */
function assertExactly(locrit: { name: string; findings: FindingJson[] }, expected: Record<string, string[] | { count: number; examples: string[] }>): void {
  const found = findingsOf(locrit);
  assert.deepEqual(Object.keys(found).sort(), Object.keys(expected).sort(), `${locrit.name}: rules that fired`);
  for (const [rule, want] of Object.entries(expected)) {
    const ids = Array.isArray(want) ? want : want.examples;
    const count = Array.isArray(want) ? want.length : want.count;
    assert.equal(found[rule].count, count, `${locrit.name} ${rule} count`);
    assert.deepEqual([...found[rule].examples].sort(byCodeUnit), [...ids].sort(byCodeUnit).slice(0, 5), `${locrit.name} ${rule} examples`);
  }
}

describe('validate', () => {
  it('passes a clean application-faithful Locrit with exit 0 and leaves every file byte-for-byte unchanged', async (t) => {
    const data = tempDir(t);
    const fixture = await makeLocrit(data, { name: 'clean' });
    // The generator stores 16-float embeddings, as a Locrit with enable_embeddings: true and a
    // 16-dimension model would: the config says so (the defaults, false and 768, would be findings).
    const config = writeConfig(data, CLEAN_CONFIG, 'clean.yaml');
    const before = sha256File(fixture.dbPath);
    const files = snapshotFolder(path.dirname(fixture.dbPath));
    const junit = path.join(data, 'report.xml');
    const result = await runCli(['-c', config, '-d', data, 'validate', '--json', '--deep', '--junit', junit]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(sha256File(fixture.dbPath), before);
    assert.deepEqual(snapshotFolder(path.dirname(fixture.dbPath)), files, 'no lock file, WAL or anything else left behind');
    const report = JSON.parse(result.stdout);
    assert.equal(report.version, 1);
    assert.equal(report.command, 'validate');
    assert.equal(report.rules.length, RULES.length);
    const clean = report.locrits[0];
    assert.equal(clean.status, 'ok');
    assert.equal(clean.exitCode, 0);
    assert.equal(clean.checked.messages, 200);
    // The application embeds short messages too when the generator says so: info only, never a failure.
    assert.deepEqual(clean.findings.map((f: FindingJson) => `${f.rule}:${f.severity}`), ['message.embedding-low-priority:info']);
    assert.deepEqual(
      Object.fromEntries(clean.deep.map((s: { table: string; rowsRead: number }) => [s.table, s.rowsRead])),
      { ...fixture.nodeCounts, ...fixture.relCounts },
    );
    const xml = parseXml(fs.readFileSync(junit, 'utf8'));
    assert.equal(xml.name, 'testsuites');
    assert.equal(xml.attributes.failures, '0');
    assert.equal(xml.children.length, 1);
    assert.equal(xml.children[0].attributes.name, 'clean');
    assert.equal(xml.children[0].children.filter((c) => c.name === 'testcase').length, RULES.length);
    assert.deepEqual(fs.readdirSync(data).filter((f) => f.includes('.tmp')), []);

    // Default config: 768 expected and embeddings disabled, so the same file has findings.
    const defaults = await runCli(['-d', data, 'validate', '--json']);
    assert.equal(defaults.code, 1);
    const found = findingsOf(JSON.parse(defaults.stdout).locrits[0]);
    assert.equal(found['schema.embedding-dimension'].count, 3);
    assert.equal(found['message.embeddings-disabled'].count, fixture.embeddedMessageIds.length);
    assert.equal(sha256File(fixture.dbPath), before);
  });

  it('fires each rule on exactly its planted ids and nothing else', async (t) => {
    const data = tempDir(t);
    const planted = await plantDefects(data);
    const legacy = await plantSchemaDefects(data);
    const config = writeConfig(data, `${CLEAN_CONFIG}  max_messages_per_locrit: 100\n  max_db_size_mb: 0.01\n  max_messages_per_conversation: 40\n`);
    const junit = path.join(data, 'junit.xml');
    const result = await runCli(['-c', config, '-d', data, 'validate', '--json', '--junit', junit]);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout);
    // --deep computes some rules within its own reads of the tables: the same findings.
    const deep = JSON.parse((await runCli(['-c', config, '-d', data, 'validate', '--json', '--deep'])).stdout);
    assert.deepEqual(deep.locrits.map((l: { findings: FindingJson[] }) => l.findings), report.locrits.map((l: { findings: FindingJson[] }) => l.findings));
    const [defects, old] = report.locrits;
    const over = Object.entries(planted.sessionSizes).filter(([, n]) => n > 40).sort((a, b) => b[1] - a[1] || byCodeUnit(a[0], b[0]));
    assertExactly(defects, {
      ...planted.expected,
      'limit.messages-per-locrit': { count: 1, examples: [] },
      'limit.db-size': { count: 1, examples: [] },
      'limit.messages-per-conversation': { count: over.length, examples: over.map(([id]) => id) },
    });
    assertExactly(old, { ...legacy.expected, 'limit.db-size': { count: 1, examples: [] } });
    const severities = Object.fromEntries(defects.findings.map((f: FindingJson) => [f.rule, f.severity]));
    assert.equal(severities['message.content-null'], 'error');
    assert.equal(severities['message.duplicate'], 'warn');
    assert.equal(severities['graph.session-empty'], 'info');
    assert.equal(severities['limit.db-size'], 'warn');
    assert.equal(findingsOf(old)['schema.table-missing'].severity, 'warn');
    assert.equal(findingsOf(old)['schema.core-table-missing'].severity, 'error');

    // JUnit: one test case per rule per Locrit; a failure exactly for each error finding.
    const xml = parseXml(fs.readFileSync(junit, 'utf8'));
    const suites = xml.children;
    assert.deepEqual(suites.map((s) => s.attributes.name), ['defects', 'legacy']);
    for (const [suite, locrit] of [[suites[0], defects], [suites[1], old]] as const) {
      const cases = suite.children.filter((c) => c.name === 'testcase');
      assert.deepEqual(cases.map((c) => c.attributes.name), RULES.map((r) => r.id));
      const failed = cases.filter((c) => c.children.some((x) => x.name === 'failure')).map((c) => c.attributes.name);
      assert.deepEqual(failed, locrit.findings.filter((f: FindingJson) => f.severity === 'error').map((f: FindingJson) => f.rule));
      assert.equal(suite.attributes.failures, String(failed.length));
      const skipped = cases.filter((c) => c.children.some((x) => x.name === 'skipped')).map((c) => c.attributes.name);
      assert.deepEqual(skipped, ['storage.unreadable', 'storage.row-count-mismatch'], 'the --deep rules are skipped without --deep');
    }
    const contentNull = suites[0].children.find((c) => c.attributes.name === 'message.content-null')!;
    assert.match(contentNull.children[0].text, new RegExp(`examples: ${planted.expected['message.content-null'][0]}`));

    // Embeddings while enable_embeddings is false: exactly the messages that carry one.
    const off = writeConfig(data, CLEAN_CONFIG.replace('enable_embeddings: true', 'enable_embeddings: false'), 'off.yaml');
    const disabled = JSON.parse((await runCli(['-c', off, '-d', data, 'validate', 'defects', '--json'])).stdout).locrits[0];
    assertExactly(disabled, { ...planted.expected, 'message.embeddings-disabled': planted.embedded });

    // The table names each rule and what to run next.
    const table = await runCli(['-c', config, '-d', data, 'validate', 'defects']);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /message\.metadata-not-object/);
    // The suggested command carries the run's -c and -d, so that it works when pasted.
    assert.ok(table.stdout.includes(`- locrit-mem -c ${config} -d ${data} validate defects --fix --dry-run, then --fix  [message.content-null, message.timestamp-null, message.metadata-not-object, message.session-id-null, `), table.stdout);
    assert.match(table.stdout, /1 Locrit: 0 ok, 0 with warnings, 1 with errors, 0 unavailable; exit 1/);
  });

  it('--strict fails on warnings and makes limits errors', async (t) => {
    const data = tempDir(t);
    await makeLocrit(data, { name: 'busy', messages: 120 });
    const config = writeConfig(data, `${CLEAN_CONFIG}  max_messages_per_locrit: 100\n`);
    const plain = await runCli(['-c', config, '-d', data, 'validate', '--json']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(findingsOf(JSON.parse(plain.stdout).locrits[0])['limit.messages-per-locrit'].severity, 'warn');
    const strict = await runCli(['-c', config, '-d', data, 'validate', '--strict', '--json']);
    assert.equal(strict.code, 1);
    assert.equal(findingsOf(JSON.parse(strict.stdout).locrits[0])['limit.messages-per-locrit'].severity, 'error');
  });

  it('reports a WAL, checks a held database from a copy (naming its holder), reports a non-Kuzu file and backups, and checks the healthy Locrit (exit 3)', async (t) => {
    const data = tempDir(t);
    const crashy = await makeLocrit(data, { name: 'crashy', messages: 80 });
    const held = await makeLocrit(data, { name: 'held', messages: 50 });
    const notKuzu = await makeLocrit(data, { name: 'notkuzu', messages: 20 });
    await makeLocrit(data, { name: 'zhealthy', messages: 60 });
    const killed = killWriterMidWrite(crashy.dbPath, { committed: 3, uncommitted: 2 });
    writeNotKuzu(notKuzu.dbPath);
    const holder = await holdDatabase(held.dbPath);
    t.after(() => holder.release());
    const config = writeConfig(data, CLEAN_CONFIG);
    const walBefore = sha256File(`${crashy.dbPath}.wal`);
    const junit = path.join(data, 'ci.xml');
    const result = await runCli(['-c', config, '-d', data, 'validate', '--json', '--junit', junit]);
    assert.equal(result.code, 3, result.stderr);
    const report = JSON.parse(result.stdout);
    const [wal, heldReport, bad, healthy] = report.locrits;
    assert.equal(wal.status, 'warn');
    assert.deepEqual(findingsOf(wal)['file.wal-present'].examples, ['kuzu.db.wal']);
    assert.equal(wal.checked.messages, 80 + killed.committedIds.length, 'the committed messages in the WAL are read (replayed in memory)');
    assert.equal(sha256File(`${crashy.dbPath}.wal`), walBefore, 'the WAL is left as it was');
    assert.equal(heldReport.status, 'ok', 'a held database is checked from a private copy, like any other');
    assert.equal(heldReport.checked.messages, 50);
    assert.equal(findingsOf(heldReport)['file.in-use'], undefined);
    assert.equal(heldReport.inUse.pid, holder.pid);
    assert.ok(Date.parse(heldReport.snapshotAt) <= Date.now());
    assert.equal(heldReport.exitCode, 0);
    assert.equal(bad.status, 'unavailable');
    assert.equal(findingsOf(bad)['file.not-kuzu'].severity, 'error');
    assert.equal(healthy.status, 'ok');
    assert.equal(healthy.checked.messages, 60);
    assert.equal(report.summary.rules['file.in-use'], undefined);

    const suites = parseXml(fs.readFileSync(junit, 'utf8')).children;
    const heldCases = suites[1].children.filter((c) => c.name === 'testcase');
    assert.deepEqual(heldCases.filter((c) => c.children.some((x) => x.name === 'error')).map((c) => c.attributes.name), []);
    assert.equal(suites[1].attributes.errors, '0');

    // --fix refuses the held database and changes nothing.
    const heldBefore = sha256File(held.dbPath);
    const fix = await runCli(['-c', config, '-d', data, 'validate', 'held', '--fix', '--json']);
    assert.equal(fix.code, 3);
    assert.equal(JSON.parse(fix.stdout).locrits[0].error.reason, 'in-use');
    assert.equal(sha256File(held.dbPath), heldBefore);
  });

  it('--deep on a file with damaged pages ends as "database damaged" for it, and the healthy Locrit is still reported', async (t) => {
    const data = tempDir(t);
    // The same file on every run, so the same pages are hit: Kuzu's parallel COPY and its HNSW
    // index builds lay pages out differently from run to run (and change the file's size, which
    // moves the pages damagePages picks); the serial reader without vector indexes does not.
    const broken = await makeLocrit(data, { name: 'broken', messages: 300, embeddedShare: 0.5, serialCopy: true, vectorIndexes: false });
    const healthy = await makeLocrit(data, { name: 'healthy', messages: 100 });
    damagePages(broken.dbPath, { seed: 1, pages: 8 });
    const config = writeConfig(data, CLEAN_CONFIG);
    const result = await runCli(['-c', config, '-d', data, 'validate', '--deep', '--json']);
    assert.equal(result.signal, null);
    assert.ok(result.code === 3 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
    const [damaged, fine] = JSON.parse(result.stdout).locrits;
    if (damaged.status === 'unavailable') {
      assert.equal(damaged.error.reason, 'damaged');
      assert.match(damaged.error.message, /damaged/);
      assert.ok(damaged.findings.some((f: FindingJson) => f.rule === 'file.damaged' || f.rule === 'storage.unreadable'));
    } else {
      assert.ok(damaged.findings.some((f: FindingJson) => f.severity === 'error'));
    }
    assert.equal(fine.status, 'ok');
    assert.equal(fine.deep.find((s: { table: string }) => s.table === 'Message').rowsRead, healthy.messageIds.length);
    const table = await runCli(['-c', config, '-d', data, 'validate', '--deep']);
    assert.equal(table.code, result.code);
    assert.match(table.stdout, /healthy .*: ok/);
  });

  it('JUnit escapes what ids and messages may hold', () => {
    const finding = { rule: 'message.role-unknown', severity: 'warn' as const, count: 1, examples: ['a<b>&"c\'\u0001'], detail: null };
    const report = {
      generatedAt: '2026-11-01T12:00:00.000Z',
      options: { strict: true, deep: false, fix: false, dryRun: false },
      rules: RULES.map(({ id, category, severity, title, next, fix }) => ({ id, category, severity, title, next, fix })),
      locrits: [{ name: 'x&y', path: '/d/x&y/kuzu.db', status: 'warn', findings: [finding], exitCode: 1, durationMs: 5, error: null }],
    } as unknown as ValidateReport;
    const xml = parseXml(validateJunit(report));
    const suite = xml.children[0];
    assert.equal(suite.attributes.name, 'x&y');
    assert.equal(suite.attributes.failures, '1', 'a warning fails under --strict');
    const failure = suite.children.find((c) => c.attributes.name === 'message.role-unknown')!.children[0];
    assert.equal(failure.name, 'failure');
    assert.match(failure.text, /examples: a<b>&"c'\n/, 'the control character is dropped, the rest survives');
  });

  it('bad flags and names exit 2 with one line', async (t) => {
    const data = tempDir(t);
    await makeLocrit(data, { name: 'bob', messages: 20 });
    const dryRun = await runCli(['-d', data, 'validate', '--dry-run']);
    assert.equal(dryRun.code, 2);
    assert.match(dryRun.stderr, /^Error: --dry-run only applies to --fix\nTry: /);
    const junit = await runCli(['-d', data, 'validate', '--junit', path.join(data, 'nope', 'r.xml')]);
    assert.equal(junit.code, 2);
    assert.match(junit.stderr, /^Error: --junit .*folder .*nope does not exist/);
    const unknown = await runCli(['-d', data, 'validate', '--deeep']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--deeep'/);
    const name = await runCli(['-d', data, 'validate', 'carol']);
    assert.equal(name.code, 2);
    assert.match(name.stderr, /unknown Locrit 'carol'.*known: bob/);
    assert.equal(name.stdout, '');
  });
});
