/**
 * Locrit names the application allows: `-`, spaces (folder `_`), letters beyond ASCII. Its
 * vector index names embed the folder name, and Kuzu cannot create an index whose name holds
 * `-`: such a Locrit has none, and every command must still work on it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { killWriterMidWrite } from '../../src/fixtures/damage.js';
import { vectorIndexNameUsable } from '../../src/schema/locrit.js';
import { withStore } from '../../src/store/kuzu.js';
import { archivesOf, sorted } from '../archive/archiveHelpers.js';
import { FIXED_NOW, idsOf, makeLocrit, runCli, tempDir } from '../helpers.js';

async function indexNames(dbPath: string): Promise<string[]> {
  return withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
    const rows = await store.query<{ index_name: string }>('CALL show_indexes() RETURN *');
    return rows.map((r) => r.index_name).sort();
  });
}

describe('Locrit names with -, spaces and non-ASCII letters', () => {
  it('Kuzu takes letters, digits and _ in an index name, not - or a space', () => {
    assert.ok(vectorIndexNameUsable('élodie_ünïcode_message_embeddings'));
    assert.ok(vectorIndexNameUsable('日本_message_embeddings'));
    assert.ok(!vectorIndexNameUsable('my-bot_message_embeddings'));
    assert.ok(!vectorIndexNameUsable('a b_message_embeddings'));
  });

  it('the generator builds them (without the index Kuzu cannot name), and every command works on them', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'data', 'memory');
    const names = ['my-bot', 'Élodie Ünïcode', 'Bob Technique'];
    const fixtures = await Promise.all(names.map((name) => makeLocrit(memory, { name, messages: 150, sessions: 2, vectorIndexes: true })));
    assert.deepEqual(fixtures.map((f) => f.folder), ['my-bot', 'élodie_ünïcode', 'bob_technique']);
    assert.deepEqual(await indexNames(fixtures[0].dbPath), []);
    assert.deepEqual(await indexNames(fixtures[1].dbPath), ['élodie_ünïcode_concept_embeddings', 'élodie_ünïcode_memory_embeddings', 'élodie_ünïcode_message_embeddings']);
    killWriterMidWrite(fixtures[2].dbPath);
    const config = ['-d', memory];

    const stats = await runCli([...config, 'stats', '--json'], { cwd: root });
    assert.equal(stats.code, 0, stats.stderr);
    assert.deepEqual(JSON.parse(stats.stdout).locrits.map((l: { name: string; status: string }) => l.status === 'unavailable'), [false, false, false]);
    for (const name of ['my-bot', '"Élodie Ünïcode"', 'élodie_ünïcode']) {
      const one = await runCli([...config, 'stats', name.replace(/"/g, ''), '--json'], { cwd: root });
      assert.equal(one.code, 0, `${name}: ${one.stderr}`);
    }
    const validate = await runCli([...config, 'validate', '--json'], { cwd: root });
    const byName = Object.fromEntries(JSON.parse(validate.stdout).locrits.map((l: { name: string; findings: { rule: string }[]; error: unknown }) => [l.name, l]));
    for (const folder of ['my-bot', 'élodie_ünïcode', 'bob_technique']) assert.equal(byName[folder].error, null, folder);
    assert.ok(byName['my-bot'].findings.some((f: { rule: string }) => f.rule === 'schema.vector-index-missing'));

    const recover = await runCli([...config, 'recover', 'Bob Technique'], { cwd: root });
    assert.equal(recover.code, 0, recover.stdout + recover.stderr);
    const days = String(Math.ceil((Date.now() - FIXED_NOW.getTime()) / 86_400_000) + 10);
    const archive = await runCli([...config, 'archive', '--compact', '--json', '--days', days, '--keep', '40', '--max-per-conversation', '0'], { cwd: root });
    assert.equal(archive.code, 0, archive.stderr);
    for (const l of JSON.parse(archive.stdout).locrits) {
      assert.equal(l.error, null, l.name);
      assert.ok(l.compaction?.swapped, `${l.name} was compacted`);
    }
    for (const fixture of fixtures.slice(0, 2)) {
      const kept = await idsOf(fixture.dbPath);
      const archived = (await archivesOf(path.join(root, 'data', 'archive'), fixture.folder)).flatMap((a) => a.ids);
      assert.deepEqual(sorted([...kept, ...archived]), sorted(fixture.messageIds), fixture.folder);
    }
    assert.deepEqual(await indexNames(fixtures[1].dbPath), ['élodie_ünïcode_concept_embeddings', 'élodie_ünïcode_memory_embeddings', 'élodie_ünïcode_message_embeddings'], 'the rebuild kept the indexes');
    const list = await runCli([...config, 'recover', 'my-bot', '--list'], { cwd: root });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /archive/);
  });
});
