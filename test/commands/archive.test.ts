/**
 * `archive` on real generated databases: id sets before and after prove that no message is
 * lost, the archive read back equals what was deleted, critical messages are spared, sessions
 * are capped, a dry run changes no byte, compaction shrinks the file and keeps a working index.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readManifest } from '../../src/archive/format.js';
import { holdDatabase, killWriterMidWrite } from '../../src/fixtures/damage.js';
import { acquireRunLock } from '../../src/layout/runLock.js';
import { isLowPriority } from '../../src/policy/retentionRules.js';
import { verifyArchiveWithKuzu } from '../../src/store/archiveIo.js';
import { withStore } from '../../src/store/kuzu.js';
import { archivesOf, messageRows, parquetColumn, sorted } from '../archive/archiveHelpers.js';
import { FIXED_NOW, idsOf, makeLocrit, relCounts, runCli, sha256File, snapshotFolder, tempDir, writeConfig } from '../helpers.js';

const RELS = ['SENT', 'RESPONDS_TO', 'PART_OF', 'MENTIONS', 'DISCUSSES', 'LEARNS', 'RELATES_TO'];
/** --days that puts the cutoff `daysBeforeFixedNow` before the fixtures' fixed "now". */
const daysFlag = (daysBeforeFixedNow: number): string => String((Date.now() - FIXED_NOW.getTime()) / 86_400_000 + daysBeforeFixedNow);

function setup(t: Parameters<typeof tempDir>[0], extra = ''): { data: string; memory: string; archive: string; config: string } {
  const data = tempDir(t);
  const memory = path.join(data, 'memory');
  const archive = path.join(data, 'archive');
  const config = writeConfig(data, `memory:\n  base_path: memory\n  enable_embeddings: true\narchive:\n  dir: archive\n${extra}`);
  return { data, memory, archive, config };
}

async function vectorIndexAnswers(dbPath: string, index: string): Promise<boolean> {
  return withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
    const [sample] = await store.query<{ id: string; v: number[] }>('MATCH (m:Message) WHERE m.content_embedding IS NOT NULL RETURN m.id AS id, m.content_embedding AS v LIMIT 1');
    const hits = await store.query<{ id: string }>(`CALL QUERY_VECTOR_INDEX('Message', '${index}', $v, 3) RETURN node.id AS id`, { v: sample.v });
    return hits.some((h) => h.id === sample.id);
  });
}

describe('archive', () => {
  it('archives by age and conversation size without losing a message, relationships included; a second run has nothing to do', async (t) => {
    const { data, memory, archive, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 300, sessions: 3, criticalShare: 0.1 });
    const original = await idsOf(fixture.dbPath);
    const relsBefore = await relCounts(fixture.dbPath, RELS);
    const sessionsBefore = await idsOf(fixture.dbPath, 'Session');

    const result = await runCli(['-c', config, 'archive', '--json', '--days', daysFlag(20), '--keep', '50', '--max-per-conversation', '60'], { cwd: data });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.version, 1);
    assert.equal(report.command, 'archive');
    assert.equal(report.tool.name, 'locrit-mem');
    const bob = report.locrits[0];
    assert.equal(bob.status, 'done');

    const remaining = await idsOf(fixture.dbPath);
    const [written] = await archivesOf(archive, 'bob');
    assert.equal(written.folder, bob.archive.path);
    // Nothing lost, nothing in two places, and the archive holds exactly what was deleted.
    assert.deepEqual(sorted([...remaining, ...written.ids]), original);
    assert.equal(written.ids.filter((id) => remaining.includes(id)).length, 0);
    assert.equal(written.ids.length, bob.archived);
    assert.equal(bob.deleted, bob.archived);
    assert.equal(bob.before.messages - bob.after.messages, bob.archived);
    assert.ok(bob.archived > 100);

    // Critical messages spared, and counted.
    for (const id of fixture.criticalMessageIds) assert.ok(remaining.includes(id), `critical ${id} was archived`);
    assert.ok(bob.spared > 0);
    assert.equal(bob.rules.find((r: { rule: string }) => r.rule === 'age').applies, true);

    // Relationships: every edge touching an archived message is in the archive, the rest stayed.
    const relsAfter = await relCounts(fixture.dbPath, RELS);
    const { manifest } = readManifest(written.folder);
    for (const rel of ['PART_OF', 'SENT', 'MENTIONS', 'RESPONDS_TO']) {
      assert.equal(relsBefore[rel] - relsAfter[rel], manifest.counts.relationships[rel], rel);
    }
    assert.equal(manifest.counts.relationships.PART_OF, bob.archived);
    for (const rel of ['DISCUSSES', 'LEARNS', 'RELATES_TO']) assert.equal(relsAfter[rel], relsBefore[rel], rel);
    assert.deepEqual(await idsOf(fixture.dbPath, 'Session'), sessionsBefore);
    const partOfFrom = await parquetColumn(path.join(written.folder, 'part_of.parquet'), 'from_id');
    assert.deepEqual(partOfFrom, written.ids);

    // The manifest: tool version, rules, counts, time range, sha256s, id digest; all verifiable.
    assert.equal(manifest.tool.version, report.tool.version);
    assert.equal(manifest.sourceDb, fixture.dbPath);
    assert.deepEqual(manifest.rules.map((r) => r.rule), ['age', 'conversation-size']);
    assert.equal(manifest.counts.messages, bob.archived);
    assert.ok(manifest.timeRange.oldest! <= manifest.timeRange.newest!);
    assert.equal(manifest.files.length, 5);
    const verification = await verifyArchiveWithKuzu(written.folder);
    assert.equal(verification.ok, true, JSON.stringify(verification.checks));
    assert.equal(verification.contentsChecked, true);

    // The per-conversation cap: no session keeps more than 60 messages besides critical ones.
    const rows = await messageRows(fixture.dbPath);
    const perSession = new Map<string, number>();
    for (const r of rows) if (!fixture.criticalMessageIds.includes(r.id)) perSession.set(r.session!, (perSession.get(r.session!) ?? 0) + 1);
    assert.ok([...perSession.values()].every((n) => n <= 60), JSON.stringify([...perSession]));
    assert.ok(Object.values(fixture.sessionSizes).some((n) => n > 60));

    // A second run finds nothing to do and archives nothing twice.
    const again = await runCli(['-c', config, 'archive', '--json', '--days', daysFlag(20), '--keep', '50', '--max-per-conversation', '60'], { cwd: data });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).locrits[0].status, 'nothing-to-do');
    assert.equal((await archivesOf(archive, 'bob')).length, 1);
    assert.deepEqual(await idsOf(fixture.dbPath), remaining);
  });

  it('--dry-run prints the exact plan and changes no byte of any file; the real run then does exactly that', async (t) => {
    const { data, memory, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 200, criticalShare: 0.1 });
    const snapshot = snapshotFolder(data);
    const args = ['-c', config, 'archive', '--days', daysFlag(25), '--keep', '40'];
    const table = await runCli([...args, '--dry-run'], { cwd: data });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /planned/);
    assert.match(table.stdout, /bob age: \d+ messages \(older than .* cutoff .*, oldest .*, newest .*\), \d+ critical spared/);
    assert.match(table.stdout, /Dry run: nothing was changed/);
    const json = await runCli([...args, '--dry-run', '--json'], { cwd: data });
    const plan = JSON.parse(json.stdout);
    assert.equal(plan.dryRun, true);
    assert.deepEqual(snapshotFolder(data), snapshot, 'a dry run must not change any file');
    const bob = plan.locrits[0];
    assert.equal(bob.status, 'planned');
    assert.ok(bob.selected > 0 && bob.expectedBytesBack > 0);
    assert.equal(bob.after.messages, 200 - bob.selected);
    assert.ok(bob.oldestAffected <= bob.newestAffected);

    const real = JSON.parse((await runCli([...args, '--json'], { cwd: data })).stdout).locrits[0];
    assert.equal(real.archived, bob.selected);
    assert.equal(real.spared, bob.spared);
    assert.equal((await idsOf(fixture.dbPath)).length, 200 - bob.selected);
  });

  it('--compact shrinks the file, keeps every row and a working vector index, keeps backup.keep backups', async (t) => {
    const { data, memory, config } = setup(t, 'backup:\n  keep: 1\n');
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 600, sessions: 3, embeddedShare: 0.8 });
    const others = Object.fromEntries(await Promise.all(['User', 'Session', 'Concept', 'Topic', 'Memory'].map(async (table) => [table, await idsOf(fixture.dbPath, table)])));
    const sizeBefore = fs.statSync(fixture.dbPath).size;
    const result = await runCli(['-c', config, 'archive', '--compact', '--json', '--days', daysFlag(20), '--keep', '100'], { cwd: data });
    assert.equal(result.code, 0, result.stderr);
    const bob = JSON.parse(result.stdout).locrits[0];
    assert.ok(bob.compaction, 'compacted');
    assert.ok(bob.compaction.afterBytes < bob.compaction.beforeBytes, `${bob.compaction.afterBytes} < ${bob.compaction.beforeBytes}`);
    assert.ok(fs.statSync(fixture.dbPath).size < sizeBefore);
    assert.equal(bob.after.dbBytes, fs.statSync(fixture.dbPath).size);
    assert.equal(bob.compaction.vectorIndexes.length, 3);
    assert.ok(bob.compaction.vectorIndexes.every((v: { present: boolean; answered: boolean }) => v.present && v.answered));
    assert.equal((await idsOf(fixture.dbPath)).length, bob.after.messages);
    for (const [table, ids] of Object.entries(others)) assert.deepEqual(await idsOf(fixture.dbPath, table), ids, table);
    assert.ok(await vectorIndexAnswers(fixture.dbPath, 'bob_message_embeddings'));
    assert.ok(fs.existsSync(bob.compaction.backup));
    assert.equal(fs.existsSync(`${fixture.dbPath}.wal`), false);

    // --strip-embeddings rebuilds again: one backup kept (backup.keep: 1), only low-priority embeddings gone.
    const rowsBefore = await messageRows(fixture.dbPath);
    const low = rowsBefore.filter((r) => r.embedded && isLowPriority(r, 20)).map((r) => r.id);
    assert.ok(low.length > 0);
    const strip = await runCli(['-c', config, 'archive', '--strip-embeddings', '--json', '--days', '0', '--max-per-conversation', '0'], { cwd: data });
    assert.equal(strip.code, 0, strip.stderr);
    const stripped = JSON.parse(strip.stdout).locrits[0];
    assert.equal(stripped.archived, 0);
    assert.equal(stripped.embeddings.stripped, low.length);
    assert.equal(stripped.embeddings.bytesFreed, low.length * 16 * 4);
    const rowsAfter = await messageRows(fixture.dbPath);
    assert.deepEqual(rowsAfter.map((r) => r.id), rowsBefore.map((r) => r.id));
    for (const r of rowsAfter) assert.equal(r.embedded, rowsBefore.find((b) => b.id === r.id)!.embedded && !low.includes(r.id), r.id);
    assert.ok(await vectorIndexAnswers(fixture.dbPath, 'bob_message_embeddings'));
    const backups = fs.readdirSync(path.dirname(fixture.dbPath)).filter((f) => f.startsWith('kuzu.db.locrit-mem-compact_'));
    assert.equal(backups.length, 1, backups.join(', '));
  });

  it('refuses a database held by another process (exit 3, holder pid) and changes nothing', async (t) => {
    const { data, memory, config } = setup(t);
    const held = await makeLocrit(memory, { name: 'held' });
    const holder = await holdDatabase(held.dbPath);
    t.after(() => holder.release());
    const before = sha256File(held.dbPath);
    const result = await runCli(['-c', config, 'archive', '--json', '--days', daysFlag(10), '--keep', '10'], { cwd: data });
    assert.equal(result.code, 3);
    const locrit = JSON.parse(result.stdout).locrits[0];
    assert.equal(locrit.status, 'unavailable');
    assert.equal(locrit.error.reason, 'in-use');
    assert.equal(locrit.inUse.pid, holder.pid);
    // Compared while the holder still has it open, so only our run can have written (see recover-restore.test.ts).
    assert.equal(sha256File(held.dbPath), before);
    await holder.release();
    assert.equal(fs.existsSync(path.join(data, 'archive')), false);
  });

  it('works on a database left with a WAL by a killed writer: committed messages are kept or archived, none lost', async (t) => {
    const { data, memory, archive, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'crashy', messages: 150 });
    const killed = killWriterMidWrite(fixture.dbPath, { committed: 4, uncommitted: 2 });
    const original = sorted([...fixture.messageIds, ...killed.committedIds]);
    const result = await runCli(['-c', config, 'archive', '--json', '--days', daysFlag(20), '--keep', '20'], { cwd: data });
    assert.equal(result.code, 0, result.stderr);
    const crashy = JSON.parse(result.stdout).locrits[0];
    assert.equal(crashy.before.walPresent, true);
    assert.equal(crashy.before.messages, 154);
    const [written] = await archivesOf(archive, 'crashy');
    assert.deepEqual(sorted([...(await idsOf(fixture.dbPath)), ...written.ids]), original);
    for (const id of killed.uncommittedIds) assert.equal(original.includes(id), false);
  });

  it('refuses a Locrit another locrit-mem run is changing (run lock), exit 3 reason busy', async (t) => {
    const { data, memory, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 100 });
    const lock = acquireRunLock(fixture.dbPath, 'archive (test)');
    t.after(() => lock.release());
    const result = await runCli(['-c', config, 'archive', '--json', '--days', daysFlag(10), '--keep', '10'], { cwd: data });
    assert.equal(result.code, 3, result.stderr);
    const bob = JSON.parse(result.stdout).locrits[0];
    assert.equal(bob.error.reason, 'busy');
    assert.match(bob.error.message, new RegExp(`another locrit-mem run \\(pid ${process.pid}, archive \\(test\\)\\)`));
    assert.equal((await idsOf(fixture.dbPath)).length, 100);
  });

  it('bad flags exit 2 with one Error/Try pair and no output', async (t) => {
    const { data, config } = setup(t);
    fs.mkdirSync(path.join(data, 'memory'));
    for (const [args, message] of [
      [['archive', '--days', '-3'], /--days must be a duration such as 30 \(days\), 30d, 2w or 720h, got '-3'/],
      [['archive', '--keep', 'ten'], /--keep must be a whole number >= 0, got 'ten'/],
      [['archive', '--bogus'], /unknown option '--bogus'/],
      [['emergency-cleanup', '--fraction', '2', '--yes'], /--fraction must be a number from 0 to 1, got '2'/],
      [['emergency-cleanup', '--no-archive'], /--no-archive deletes messages for good and needs --yes/],
      [['emergency-cleanup'], /needs --yes when not run on a terminal/],
    ] as const) {
      const result = await runCli(['-c', config, ...args], { cwd: data });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, message);
      assert.match(result.stderr, /^Error: .*\nTry: /);
    }
  });
});
