import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { idDigestOf, listArchives, readManifest } from '../../src/archive/format.js';
import { journalPath } from '../../src/archive/journal.js';
import { holdDatabase, killWriterMidWrite } from '../../src/fixtures/damage.js';
import { verifyArchiveWithKuzu } from '../../src/store/archiveIo.js';
import { TEST_KNOBS_ENV } from '../../src/testKnobs.js';
import { runLockPath } from '../../src/layout/runLock.js';
import { RULES } from '../../src/policy/integrityRules.js';
import { withStore } from '../../src/store/kuzu.js';
import { idsOf, relCounts, runCli, sha256File, tempDir, writeConfig } from '../helpers.js';
import { CLEAN_CONFIG, plantDefects } from './validate-fixtures.js';

const RELS = ['SENT', 'RESPONDS_TO', 'PART_OF', 'MENTIONS', 'DISCUSSES', 'LEARNS', 'RELATES_TO'];
const FIXED_RULES = RULES.filter((r) => r.fix !== null).map((r) => r.id);

interface MessageState {
  timestamp: string;
  sessionId: string | null;
  embedded: boolean;
  links: string[];
}

/** What a message looks like in the database: exact timestamp text, session_id, embedding or not, every relationship. */
async function messageStates(dbPath: string, ids: string[]): Promise<Record<string, MessageState>> {
  return withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
    const states: Record<string, MessageState> = {};
    for (const id of ids) {
      const [row] = await store.query<{ t: string; s: string | null; e: boolean }>(
        'MATCH (m:Message {id: $id}) RETURN CAST(m.timestamp AS STRING) AS t, m.session_id AS s, m.content_embedding IS NOT NULL AS e',
        { id },
      );
      const out = await store.query<{ l: string }>('MATCH (m:Message {id: $id})-[r]->(o) RETURN label(r) + ">" + o.id + ":" + CAST(r AS STRING) AS l', { id });
      const into = await store.query<{ l: string }>('MATCH (o)-[r]->(m:Message {id: $id}) RETURN label(r) + "<" + o.id + ":" + CAST(r AS STRING) AS l', { id });
      const links = [...out, ...into].map((r) => r.l.replace(/_ID: [^,}]+,?\s*/g, '').replace(/_(SRC|DST): [^,}]+,?\s*/g, '')).sort();
      states[id] = { timestamp: row.t, sessionId: row.s, embedded: row.e, links };
    }
    return states;
  });
}

describe('validate --fix', () => {
  it('lists the plan with --dry-run, then quarantines into a verified archive, repairs, and leaves a database that validates clean', async (t) => {
    const data = tempDir(t);
    const planted = await plantDefects(data);
    const dbPath = planted.fixture.dbPath;
    const archiveDir = path.join(data, 'archive');
    const config = writeConfig(data, `${CLEAN_CONFIG}archive:\n  dir: ${archiveDir}\n`);
    const idsBefore = await idsOf(dbPath);
    const relsBefore = await relCounts(dbPath, RELS);
    const repaired = [...planted.embeddingFixes, ...Object.keys(planted.sessionFixes)];
    const statesBefore = await messageStates(dbPath, repaired);
    const sha = sha256File(dbPath);

    // Dry run: exactly what would happen, and not one byte changed.
    const dry = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--dry-run', '--json']);
    assert.equal(dry.code, 1, dry.stderr);
    assert.equal(sha256File(dbPath), sha);
    assert.equal(fs.existsSync(archiveDir), false);
    assert.equal(fs.existsSync(runLockPath(dbPath)), false);
    const plan = JSON.parse(dry.stdout).locrits[0].fix;
    assert.equal(plan.dryRun, true);
    assert.equal(plan.applied, null);
    assert.deepEqual(plan.plan.quarantine.map((q: { id: string }) => q.id), planted.quarantine);
    assert.deepEqual(Object.fromEntries(plan.plan.sessionFromGraph.map((s: { id: string; to: string }) => [s.id, s.to])), planted.sessionFixes);
    assert.deepEqual(plan.plan.embeddingToNull, planted.embeddingFixes);
    const dryTable = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--dry-run']);
    assert.match(dryTable.stdout, /Fix plan \(dry run: nothing changed\):/);
    for (const id of [...planted.quarantine, ...repaired]) assert.ok(dryTable.stdout.includes(id), id);

    // The real run.
    const fixed = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--json']);
    assert.equal(fixed.code, 0, fixed.stderr);
    const locrit = JSON.parse(fixed.stdout).locrits[0];
    assert.deepEqual(locrit.fix.applied, { quarantined: 7, deleted: 7, sessionIdsCorrected: 2, embeddingsNulled: 3 });
    assert.equal(fs.existsSync(runLockPath(dbPath)), false, 'the run lock is released');
    assert.ok(locrit.fix.findingsBefore.some((f: { rule: string }) => f.rule === 'message.content-null'));
    for (const f of locrit.findings) assert.ok(!FIXED_RULES.includes(f.rule) && f.severity !== 'error', `${f.rule} still fires after --fix`);

    // Nothing lost: removed ids == quarantined ids == the ids in the archive.
    const idsAfter = await idsOf(dbPath);
    const removed = idsBefore.filter((id) => !idsAfter.includes(id));
    assert.deepEqual(removed, planted.quarantine);
    assert.equal(idsAfter.length, idsBefore.length - planted.quarantine.length);
    const { folder, manifest } = readManifest(locrit.fix.archive.folder);
    assert.equal(path.dirname(folder), path.join(archiveDir, 'defects'));
    assert.equal(manifest.reason, 'validate-fix');
    assert.equal(manifest.counts.messages, planted.quarantine.length);
    assert.equal(manifest.idDigest.value, idDigestOf(planted.quarantine));
    const verification = await verifyArchiveWithKuzu(folder);
    assert.ok(verification.ok, JSON.stringify(verification.checks.filter((c) => !c.ok)));
    assert.equal(fs.existsSync(journalPath(dbPath)), false, 'the journal is removed once the delete committed');
    const archivedIds = await withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) =>
      (await store.query<{ id: string }>(`LOAD FROM '${path.join(folder, 'messages.parquet')}' RETURN id ORDER BY id`)).map((r) => r.id),
    );
    assert.deepEqual(archivedIds, planted.quarantine);
    // Every relationship removed is in the archive.
    const relsAfter = await relCounts(dbPath, RELS);
    for (const table of RELS) assert.equal(relsAfter[table], relsBefore[table] - (manifest.counts.relationships[table as 'SENT'] ?? 0), table);

    // Repaired messages keep their exact timestamp and every relationship; only what was wrong changed.
    const statesAfter = await messageStates(dbPath, repaired);
    // Links to quarantined messages went into the archive with them.
    for (const state of Object.values(statesBefore)) state.links = state.links.filter((l) => !planted.quarantine.some((id) => l.includes(id)));
    for (const id of planted.embeddingFixes) {
      assert.equal(statesAfter[id].embedded, false, id);
      assert.deepEqual({ ...statesAfter[id], embedded: true }, statesBefore[id], id);
    }
    for (const [id, session] of Object.entries(planted.sessionFixes)) {
      assert.equal(statesAfter[id].sessionId, session);
      assert.deepEqual(statesAfter[id].links, statesBefore[id].links);
    }

    // A second look: clean (no error), and --fix has nothing left to do.
    const again = await runCli(['-c', config, '-d', data, 'validate', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const second = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--json']);
    assert.equal(second.code, 0);
    assert.equal(JSON.parse(second.stdout).locrits[0].fix.archive, null);
    assert.equal(fs.readdirSync(path.join(archiveDir, 'defects')).length, 1, 'no second archive');
  });

  it('a --fix killed (SIGKILL) while archiving or before deleting loses nothing, and the next runs finish the job', async (t) => {
    const data = tempDir(t);
    const planted = await plantDefects(data);
    const dbPath = planted.fixture.dbPath;
    const archiveDir = path.join(data, 'archive');
    const config = writeConfig(data, `${CLEAN_CONFIG}archive:\n  dir: ${archiveDir}\n`);
    const idsBefore = await idsOf(dbPath);
    const archivedIds = async (): Promise<string[]> => {
      const ids: string[] = [];
      for (const folder of listArchives(archiveDir, 'defects').complete) {
        await withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
          for (const row of await store.query<{ id: string }>(`LOAD FROM '${path.join(folder, 'messages.parquet')}' RETURN id`)) ids.push(row.id);
        });
      }
      return ids;
    };
    const nothingLost = async (): Promise<string[]> => {
      const present = await idsOf(dbPath);
      const archived = await archivedIds();
      for (const id of idsBefore) assert.ok(present.includes(id) || archived.includes(id), `${id} lost`);
      return present;
    };

    // Killed after the Parquet files and the manifest, before verification: nothing deleted, no complete archive.
    const exported = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--json'], { env: { [TEST_KNOBS_ENV]: 'kill-at=quarantine-exported' } });
    assert.equal(exported.code, 3);
    assert.match(JSON.parse(exported.stdout).locrits[0].error.message, /SIGKILL/);
    assert.deepEqual(await nothingLost(), idsBefore);
    assert.deepEqual(listArchives(archiveDir, 'defects').complete, []);
    assert.equal(listArchives(archiveDir, 'defects').partial.length, 1);

    // Killed after the archive is complete and journaled, before the delete: the messages are in both.
    const archived = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--json'], { env: { [TEST_KNOBS_ENV]: 'kill-at=quarantine-archived' } });
    assert.equal(archived.code, 3);
    assert.deepEqual(await nothingLost(), idsBefore);
    assert.deepEqual(listArchives(archiveDir, 'defects').partial, [], 'the interrupted .partial folder was cleared');
    assert.deepEqual((await archivedIds()).sort(), planted.quarantine);
    assert.ok(fs.existsSync(journalPath(dbPath)));

    // --fix will not start over the journal; `archive` finishes the interrupted delete.
    const refused = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--json']);
    assert.match(JSON.parse(refused.stdout).locrits[0].fix.skipped, /interrupted validate --fix run/);
    const finish = await runCli(['-c', config, '-d', data, 'archive', 'defects']);
    assert.equal(finish.code, 0, finish.stderr);
    assert.equal(fs.existsSync(journalPath(dbPath)), false);
    const present = await nothingLost();
    assert.deepEqual(present, idsBefore.filter((id) => !planted.quarantine.includes(id)));

    // The rest of the repairs, and a clean database; still exactly one archive.
    const rest = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--json']);
    assert.equal(rest.code, 0, rest.stderr);
    assert.deepEqual(JSON.parse(rest.stdout).locrits[0].fix.applied, { quarantined: 0, deleted: 0, sessionIdsCorrected: 2, embeddingsNulled: 3 });
    assert.equal(listArchives(archiveDir, 'defects').complete.length, 1);
  });

  it('refuses while another locrit-mem run holds the Locrit, an interrupted run left its journal, or a WAL is present', async (t) => {
    const data = tempDir(t);
    const planted = await plantDefects(data);
    fs.writeFileSync(runLockPath(planted.fixture.dbPath), JSON.stringify({ pid: process.pid, command: 'archive' }));
    const sha = sha256File(planted.fixture.dbPath);
    const config = writeConfig(data, `${CLEAN_CONFIG}archive:\n  dir: ${path.join(data, 'archive')}\n`);
    const result = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--json']);
    assert.equal(result.code, 3);
    const locrit = JSON.parse(result.stdout).locrits[0];
    assert.equal(locrit.error.reason, 'busy');
    assert.equal(locrit.findings[0].rule, 'file.busy');
    assert.equal(sha256File(planted.fixture.dbPath), sha);
    assert.equal(fs.existsSync(path.join(data, 'archive')), false);
    fs.rmSync(runLockPath(planted.fixture.dbPath));

    // An interrupted archive run: its journal must be finished first.
    fs.writeFileSync(journalPath(planted.fixture.dbPath), JSON.stringify({ command: 'archive', archive: null }));
    const journal = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--json']);
    assert.equal(journal.code, 1);
    assert.match(JSON.parse(journal.stdout).locrits[0].fix.skipped, /interrupted archive run left kuzu\.db\.locrit-mem-journal\.json: run `locrit-mem archive defects`/);
    assert.equal(sha256File(planted.fixture.dbPath), sha);
    fs.rmSync(journalPath(planted.fixture.dbPath));

    // A WAL: --fix would replay it; `recover` is the tool for that.
    killWriterMidWrite(planted.fixture.dbPath, { committed: 2, uncommitted: 1 });
    const shas = [sha256File(planted.fixture.dbPath), sha256File(`${planted.fixture.dbPath}.wal`)];
    const wal = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--json']);
    assert.equal(wal.code, 1);
    const walLocrit = JSON.parse(wal.stdout).locrits[0];
    assert.match(walLocrit.fix.skipped, /a WAL is present/);
    assert.equal(walLocrit.fix.applied, null);
    assert.deepEqual([sha256File(planted.fixture.dbPath), sha256File(`${planted.fixture.dbPath}.wal`)], shas);
    assert.equal(fs.existsSync(path.join(data, 'archive')), false);
  });
});

describe('validate --fix beside a running application', () => {
  it('plans on a copy of a held database (--dry-run), refuses to fix it at once, and with --wait fixes it once the holder lets go', async (t) => {
    const data = tempDir(t);
    const planted = await plantDefects(data);
    const dbPath = planted.fixture.dbPath;
    const config = writeConfig(data, `${CLEAN_CONFIG}archive:\n  dir: ${path.join(data, 'archive')}\n`);
    const idsBefore = await idsOf(dbPath);
    const holder = await holdDatabase(dbPath);
    t.after(() => holder.release());
    const dry = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--dry-run', '--json']);
    assert.equal(dry.code, 1, dry.stderr);
    const planned = JSON.parse(dry.stdout).locrits[0];
    assert.equal(planned.inUse.pid, holder.pid);
    assert.deepEqual(planned.fix.plan.quarantine.map((q: { id: string }) => q.id).sort(), [...planted.quarantine].sort());
    assert.match(planned.fix.skipped, new RegExp(`pid ${holder.pid} holds the database`));
    const refused = await runCli(['-c', config, '-d', data, 'validate', '--fix', '--json']);
    assert.equal(refused.code, 3);
    assert.match(JSON.parse(refused.stdout).locrits[0].error.hint, /--wait/);
    const waiting = runCli(['-c', config, '-d', data, 'validate', '--fix', '--wait', '60', '--json']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await holder.release();
    const fixed = await waiting;
    assert.equal(fixed.code, 0, fixed.stderr);
    const report = JSON.parse(fixed.stdout).locrits[0];
    assert.equal(report.fix.applied.quarantined, planted.quarantine.length);
    const archived = report.fix.archive.messages;
    assert.equal(archived, planted.quarantine.length);
    assert.deepEqual(await idsOf(dbPath), idsBefore.filter((id) => !planted.quarantine.includes(id)));
    const wrongUse = await runCli(['-c', config, '-d', data, 'validate', '--wait', '5']);
    assert.equal(wrongUse.code, 2);
    assert.match(wrongUse.stderr, /--wait only applies to --fix/);
  });
});
