import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { damagePages, killWriterMidWrite, truncateFile } from '../../src/fixtures/damage.js';
import { idsOf, makeLocrit, relCounts, ROOT, runCli, sha256File, snapshotFolder, tempDir, writeConfig } from '../helpers.js';

const NODES = ['User', 'Message', 'Session', 'Concept', 'Topic', 'Memory'];
const RELS = ['SENT', 'RESPONDS_TO', 'PART_OF', 'MENTIONS', 'DISCUSSES', 'LEARNS', 'RELATES_TO'];
/** Small buffer pool, and the fixtures' dimension for a rebuild from nothing. */
const CONFIG = 'memory:\n  embedding_dimension: 16\nkuzu:\n  buffer_pool_mb: 64\n';

async function countsOf(dbPath: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of NODES) counts[table] = (await idsOf(dbPath, table)).length;
  return { ...counts, ...(await relCounts(dbPath, RELS)) };
}

/** The damaged originals recover kept, under our naming (never the application's kuzu.db.backup_*). */
function damagedKept(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => /^kuzu\.db\.locrit-mem-damaged_\d{8}T\d{9}Z$/.test(f));
}

/** The report's per-table recovered counts are exactly what the new database holds, and it opens with the whole schema. */
async function assertHonestSalvage(locrit: any, dbPath: string): Promise<void> {
  assert.equal(locrit.problem, 'unreadable');
  assert.equal(locrit.action, 'salvage');
  assert.equal(locrit.outcome, 'salvaged');
  assert.equal(locrit.verification.ok, true, JSON.stringify(locrit.verification));
  assert.deepEqual(locrit.verification.schemaMissing, []);
  const held = await countsOf(dbPath);
  const reported = Object.fromEntries(locrit.salvage.tables.map((t: { table: string; recovered: number }) => [t.table, t.recovered]));
  assert.deepEqual(reported, held);
  assert.equal(locrit.salvage.totals.recovered, Object.values(held).reduce((a, b) => a + b, 0));
  for (const t of locrit.salvage.tables) if (t.expected !== null) assert.equal(t.lost, t.expected - t.recovered, t.table);
}

describe('recover', () => {
  it('replays the WAL of a writer killed mid-write: every committed message back, none of the uncommitted', async (t) => {
    const data = tempDir(t);
    const config = writeConfig(data, CONFIG);
    const fixture = await makeLocrit(data, { name: 'crashy' });
    const killed = killWriterMidWrite(fixture.dbPath, { committed: 5, uncommitted: 3 });
    assert.ok(killed.walBytes > 0);
    const dbBefore = sha256File(fixture.dbPath);
    const walBefore = sha256File(`${fixture.dbPath}.wal`);
    const result = await runCli(['-c', config, '-d', data, 'recover', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.command, 'recover');
    assert.equal(report.version, 1);
    assert.equal(report.exitCode, 0);
    const locrit = report.locrits[0];
    assert.equal(locrit.problem, 'unclean-stop');
    assert.equal(locrit.action, 'replay-wal');
    assert.equal(locrit.outcome, 'repaired');
    assert.equal(locrit.verification.ok, true);
    assert.deepEqual(locrit.replay.replayed, { Message: 5, PART_OF: 5 });
    assert.equal(locrit.replay.countsBefore.Message, 200);
    assert.equal(locrit.replay.countsExpected.Message, 205);
    const ids = await idsOf(fixture.dbPath);
    assert.deepEqual(ids, [...fixture.messageIds, ...killed.committedIds].sort());
    for (const id of killed.uncommittedIds) assert.ok(!ids.includes(id), id);
    assert.ok(!fs.existsSync(`${fixture.dbPath}.wal`), 'the WAL is replayed and gone');
    // The untouched pair is kept, byte for byte.
    assert.equal(sha256File(locrit.replay.dbBackup), dbBefore);
    assert.equal(sha256File(locrit.replay.walBackup), walBefore);
    // A second run finds nothing wrong.
    const again = await runCli(['-c', config, '-d', data, 'recover']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Nothing wrong/);
  });

  it('a truncated file with nothing to rebuild from is not swapped for an empty database without --accept-loss, and stays flagged until acknowledged', async (t) => {
    const data = tempDir(t);
    const config = writeConfig(data, CONFIG);
    const fixture = await makeLocrit(data, { name: 'cut' });
    truncateFile(fixture.dbPath, 0.5);
    const damaged = sha256File(fixture.dbPath);
    const refused = await runCli(['-c', config, '-d', data, 'recover', '--json']);
    assert.equal(refused.code, 3, refused.stderr);
    const held = JSON.parse(refused.stdout).locrits[0];
    assert.equal(held.outcome, 'refused');
    assert.equal(held.salvage.swapped, false);
    assert.equal(held.salvage.messages, 0);
    assert.match(held.error.message, /would hold 0 message\(s\), and how many the damaged file held is unknown: not swapped in/);
    assert.match(held.error.hint, /--accept-loss/);
    assert.equal(sha256File(fixture.dbPath), damaged, 'kuzu.db is unchanged');
    assert.deepEqual(damagedKept(path.dirname(fixture.dbPath)), []);

    const result = await runCli(['-c', config, '-d', data, 'recover', '--accept-loss', '--json']);
    assert.equal(result.code, 1, result.stderr);
    const locrit = JSON.parse(result.stdout).locrits[0];
    await assertHonestSalvage(locrit, fixture.dbPath);
    assert.equal(locrit.salvage.nothingReadable, true);
    assert.equal(locrit.salvage.opened, false);
    assert.match(locrit.salvage.openError, /truncated/);
    assert.equal(locrit.salvage.totals.recovered, 0);
    assert.equal(locrit.salvage.totals.lost, null, 'an unreadable file cannot say how much it held');
    assert.ok(locrit.problems.some((p: string) => /nothing could be read/.test(p)));
    assert.ok(locrit.suggestions.some((s: string) => /--list/.test(s)));
    // The damaged bytes are kept under our naming, not the application's backup pattern.
    const [kept] = damagedKept(path.dirname(fixture.dbPath));
    assert.ok(kept, 'kuzu.db.locrit-mem-damaged_<UTC stamp> exists');
    assert.equal(sha256File(path.join(path.dirname(fixture.dbPath), kept)), damaged);
    assert.equal(locrit.salvage.movedAsideTo, path.join(path.dirname(fixture.dbPath), kept));
    // Flagged in stats and validate until acknowledged.
    const stats = JSON.parse((await runCli(['-c', config, '-d', data, 'stats', '--json'])).stdout).locrits[0];
    assert.equal(stats.salvagedWithLosses.messages, 0);
    const prometheus = await runCli(['-c', config, '-d', data, 'stats', '--format', 'prometheus']);
    assert.match(prometheus.stdout, /^locrit_salvaged_with_losses\{locrit="cut"\} 1$/m);
    const validate = JSON.parse((await runCli(['-c', config, '-d', data, 'validate', '--json'])).stdout).locrits[0];
    assert.equal(validate.findings.find((f: { rule: string }) => f.rule === 'file.salvaged-with-losses')?.severity, 'error');
    const acknowledged = await runCli(['-c', config, '-d', data, 'recover', 'cut', '--acknowledge-loss', '--json']);
    assert.equal(acknowledged.code, 0, acknowledged.stderr);
    assert.equal(JSON.parse(acknowledged.stdout).locrits[0].steps[0].step, 'acknowledge');
    const after = JSON.parse((await runCli(['-c', config, '-d', data, 'stats', '--json'])).stdout).locrits[0];
    assert.equal(after.salvagedWithLosses, null);
  });

  it('a truncated file with a backup comes back with the backup\'s messages, minus those a complete archive holds', async (t) => {
    const data = tempDir(t);
    const config = writeConfig(data, CONFIG);
    const fixture = await makeLocrit(data, { name: 'cut' });
    const dir = path.dirname(fixture.dbPath);
    fs.copyFileSync(fixture.dbPath, path.join(dir, 'kuzu.db.backup_20261031_090000'));
    // Then the older messages of each session are archived on purpose: they must not come back.
    const archived = await runCli(['-c', config, '-d', data, 'archive', '--json', '--days', '0', '--keep', '0', '--max-per-conversation', '30']);
    assert.equal(archived.code, 0, archived.stderr);
    const kept = await idsOf(fixture.dbPath);
    const gone = 200 - kept.length;
    assert.ok(gone > 0);
    truncateFile(fixture.dbPath, 0.5);
    const result = await runCli(['-c', config, '-d', data, 'recover', '--json']);
    assert.equal(result.code, 1, result.stderr);
    const locrit = JSON.parse(result.stdout).locrits[0];
    assert.equal(locrit.outcome, 'salvaged');
    assert.equal(locrit.salvage.swapped, true);
    assert.equal(locrit.salvage.lastKnownMessages, kept.length);
    assert.deepEqual(
      locrit.salvage.sources.map((s: { role: string; messagesAdded: number; archivedLeftOut: number }) => [s.role, s.messagesAdded, s.archivedLeftOut]),
      [['damaged', 0, 0], ['backup', kept.length, gone]],
    );
    assert.deepEqual(await idsOf(fixture.dbPath), kept);
    assert.equal(damagedKept(dir).length, 1);
    assert.ok(fs.existsSync(path.join(dir, 'kuzu.db.backup_20261031_090000')), 'the backup stays');
  });

  it('salvages a file with damaged pages (damagePages) and reports exactly what the new database holds', async (t) => {
    const data = tempDir(t);
    const config = writeConfig(data, CONFIG);
    // Serial COPY and no vector index: the same layout and size on every run, so the same pages are hit.
    const fixture = await makeLocrit(data, { name: 'pages', serialCopy: true, vectorIndexes: false });
    damagePages(fixture.dbPath, { pages: 8, seed: 1 });
    const damaged = sha256File(fixture.dbPath);
    // Rows may be lost here and there is no backup: --accept-loss lets the salvage in.
    const result = await runCli(['-c', config, '-d', data, 'recover', '--accept-loss', '--json']);
    assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
    const locrit = JSON.parse(result.stdout).locrits[0];
    await assertHonestSalvage(locrit, fixture.dbPath);
    const [kept] = damagedKept(path.dirname(fixture.dbPath));
    assert.equal(sha256File(path.join(path.dirname(fixture.dbPath), kept)), damaged);
    // Whatever came back is real: every recovered message id is one the fixture wrote.
    const ids = await idsOf(fixture.dbPath);
    for (const id of ids) assert.ok(fixture.messageIds.includes(id), id);
  });

  it('keeps the rows of a damaged column page, with that column left NULL, and isolates every crash', async (t) => {
    const data = tempDir(t);
    const config = writeConfig(data, CONFIG);
    const fixture = await makeLocrit(data, { name: 'column' });
    // Page 578 of this fixture holds Message.content data: reading it crashes Kuzu (SIGSEGV), opening does not.
    const fd = fs.openSync(fixture.dbPath, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096, 0xab), 0, 4096, 578 * 4096);
    fs.closeSync(fd);
    const result = await runCli(['-c', config, '-d', data, 'recover', '--json'], { env: { LOCRIT_MEM_TEST: 'salvage-crash-budget=6' } });
    assert.equal(result.code, 1, result.stderr);
    const locrit = JSON.parse(result.stdout).locrits[0];
    await assertHonestSalvage(locrit, fixture.dbPath);
    assert.ok(locrit.salvage.crashes > 0, 'Kuzu crashed on the damaged page, in a child process');
    assert.equal(locrit.salvage.opened, true);
    const message = locrit.salvage.tables.find((t: { table: string }) => t.table === 'Message');
    assert.equal(message.expected, 200);
    assert.equal(message.recovered, 200, 'every message row came back');
    assert.ok(message.partialRows > 0);
    assert.deepEqual(message.nulledColumns, ['content']);
    assert.deepEqual(await idsOf(fixture.dbPath), [...fixture.messageIds].sort());
    assert.deepEqual(await relCounts(fixture.dbPath, RELS), fixture.relCounts);
  });

  it('--dry-run lists the plan for each problem and changes no byte', async (t) => {
    const data = tempDir(t);
    const config = writeConfig(data, CONFIG);
    const wal = await makeLocrit(data, { name: 'wal' });
    killWriterMidWrite(wal.dbPath, { committed: 2, uncommitted: 1 });
    const cut = await makeLocrit(data, { name: 'cut' });
    truncateFile(cut.dbPath, 0.4);
    await makeLocrit(data, { name: 'fine' });
    const before = snapshotFolder(data);
    const result = await runCli(['-c', config, '-d', data, 'recover', '--dry-run', '--json']);
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(snapshotFolder(data), before);
    const report = JSON.parse(result.stdout);
    assert.equal(report.dryRun, true);
    const byName = Object.fromEntries(report.locrits.map((l: { name: string }) => [l.name, l]));
    assert.equal(byName.wal.action, 'replay-wal');
    assert.equal(byName.wal.outcome, 'planned');
    assert.match(byName.wal.plan.join('\n'), /CHECKPOINT/);
    assert.equal(byName.cut.action, 'salvage');
    assert.match(byName.cut.plan.join('\n'), /kuzu\.db\.locrit-mem-damaged_<UTC stamp>/);
    assert.match(byName.cut.plan.join('\n'), /--accept-loss/);
    assert.equal(byName.fine.problem, 'none');
    assert.equal(byName.fine.exitCode, 0);
    const text = await runCli(['-c', config, '-d', data, 'recover', '--dry-run']);
    assert.match(text.stdout, /Dry run: nothing will be changed/);
    assert.match(text.stdout, /Plan:/);
    assert.deepEqual(snapshotFolder(data), before);
  });
});

describe("recover with the application's own config.yaml", () => {
  it('names each Locrit by its display name and carries the registry notes, with nothing on stderr', async (t) => {
    const dir = tempDir(t);
    writeConfig(dir, fs.readFileSync(path.join(ROOT, 'test', 'config', 'application-config.yaml'), 'utf8'), 'config.yaml');
    const fixture = await makeLocrit(path.join(dir, 'data', 'memory'), { name: '\u00c9lise Caf\u00e9', messages: 30, sessions: 2, vectorIndexes: false });
    const before = snapshotFolder(path.dirname(fixture.dbPath));
    const result = await runCli(['-c', 'config.yaml', 'recover', '--dry-run', '--json'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const report = JSON.parse(result.stdout);
    assert.deepEqual(report.locrits.map((l: { name: string; displayName: string; active: boolean }) => [l.name, l.displayName, l.active]), [['\u00e9lise_caf\u00e9', '\u00c9lise Caf\u00e9', false]]);
    assert.ok(report.configNotes.some((n: { code: string; locrit: string }) => n.code === 'never-started' && n.locrit === 'bob_technique'));
    const table = await runCli(['-c', 'config.yaml', 'recover', '--dry-run'], { cwd: dir });
    assert.match(table.stdout, /\u00e9lise_caf\u00e9 \(\u00c9lise Caf\u00e9\) inactive/);
    assert.deepEqual(snapshotFolder(path.dirname(fixture.dbPath)), before);
  });
});
