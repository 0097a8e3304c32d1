/**
 * `archive` with a tiny `archive.batch_messages` (37): one archive of many chunks, each with
 * its messages file and one file per relationship table. The ids read back from all the files
 * are exactly the ids deleted, in increasing order across the chunks; relationship rows add up
 * (RESPONDS_TO once each); the verifier catches a tampered, missing or reordered chunk; and
 * `recover --from-archive` puts back exactly the original ids and relationships (twice == once).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { messageEntries, readManifest, writeManifest, type ArchiveManifest } from '../../src/archive/format.js';
import { verifyArchiveWithKuzu } from '../../src/store/archiveIo.js';
import { withStore } from '../../src/store/kuzu.js';
import { archivesOf, parquetColumn, sorted } from '../archive/archiveHelpers.js';
import { FIXED_NOW, idsOf, makeLocrit, relCounts, runCli, tempDir, writeConfig } from '../helpers.js';

const RELS = ['SENT', 'RESPONDS_TO', 'PART_OF', 'MENTIONS', 'DISCUSSES', 'LEARNS', 'RELATES_TO'];
const ARCHIVED_RELS = ['PART_OF', 'SENT', 'RESPONDS_TO', 'MENTIONS'];
const BATCH = 37;
const daysFlag = (daysBeforeFixedNow: number): string => String((Date.now() - FIXED_NOW.getTime()) / 86_400_000 + daysBeforeFixedNow);

/** (from_id, to_id) pairs of a relationship file, in file order. */
async function pairsOf(file: string): Promise<string[]> {
  return withStore(':memory:', { readOnly: false, create: true, bufferPoolMb: 64 }, async (store) =>
    (await store.query<{ f: string; t: string }>(`LOAD FROM '${file}' RETURN from_id AS f, to_id AS t`)).map((r) => `${r.f}->${r.t}`),
  );
}

function copyFolder(from: string, to: string): string {
  fs.cpSync(from, to, { recursive: true });
  return to;
}

describe('archive in chunks (archive.batch_messages)', () => {
  it('writes many chunk files that hold exactly the deleted messages and their relationships, verifiably, and restore puts everything back', async (t) => {
    const data = tempDir(t);
    const memory = path.join(data, 'memory');
    const archive = path.join(data, 'archive');
    const config = writeConfig(data, `memory:\n  base_path: memory\nkuzu:\n  buffer_pool_mb: 64\narchive:\n  dir: archive\n  batch_messages: ${BATCH}\n`);
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 300, sessions: 3, criticalShare: 0.1 });
    const original = await idsOf(fixture.dbPath);
    const relsBefore = await relCounts(fixture.dbPath, RELS);

    const result = await runCli(['-c', config, 'archive', '--json', '--days', daysFlag(20), '--keep', '50', '--max-per-conversation', '60'], { cwd: data });
    assert.equal(result.code, 0, result.stderr);
    const bob = JSON.parse(result.stdout).locrits[0];
    assert.equal(bob.status, 'done');
    assert.ok(bob.archived > 4 * BATCH, `only ${bob.archived} archived: too few for several chunks`);

    // The manifest: one messages file and one file per relationship table for every chunk.
    const { folder, manifest } = readManifest(bob.archive.path);
    const chunks = Math.ceil(bob.archived / BATCH);
    assert.deepEqual(manifest.chunking, { maxMessagesPerChunk: BATCH, chunks });
    assert.equal(manifest.formatVersion, 2);
    const messageFiles = messageEntries(manifest);
    assert.deepEqual(messageFiles.map((f) => f.name), Array.from({ length: chunks }, (_, i) => `messages-${String(i + 1).padStart(5, '0')}.parquet`));
    for (const rel of ARCHIVED_RELS) assert.equal(manifest.files.filter((f) => f.table === rel).length, chunks, rel);
    assert.equal(manifest.files.length, chunks * 5);
    assert.equal(bob.archive.files, chunks * 5 + 1);

    // Ids read back from every messages file, in chunk order: strictly increasing across files, at most BATCH per file.
    const archived: string[] = [];
    for (const entry of messageFiles) {
      const ids = await parquetColumn(path.join(folder, entry.name));
      assert.ok(ids.length <= BATCH && ids.length === entry.rows, `${entry.name}: ${ids.length} rows`);
      if (archived.length) assert.ok(archived[archived.length - 1] < ids[0], `${entry.name} does not follow the previous chunk`);
      archived.push(...ids);
    }
    assert.deepEqual(archived, sorted(new Set(archived)), 'ids are unique and sorted across the chunks');
    assert.deepEqual((await archivesOf(archive, 'bob'))[0].ids, archived);
    // archived == deleted; remaining ∪ archived == original; nothing in two places.
    const remaining = await idsOf(fixture.dbPath);
    const deleted = original.filter((id) => !remaining.includes(id));
    assert.deepEqual(archived, deleted);
    assert.deepEqual(sorted([...remaining, ...archived]), original);
    assert.equal(archived.length, bob.archived);
    assert.equal(bob.deleted, bob.archived);
    for (const id of fixture.criticalMessageIds) assert.ok(remaining.includes(id), `critical ${id} was archived`);

    // Relationships: the chunk files add up to what left the database; RESPONDS_TO exactly once.
    const relsAfter = await relCounts(fixture.dbPath, RELS);
    for (const rel of ARCHIVED_RELS) {
      const pairs: string[] = [];
      for (const entry of manifest.files.filter((f) => f.table === rel)) {
        const filePairs = await pairsOf(path.join(folder, entry.name));
        assert.equal(filePairs.length, entry.rows, entry.name);
        pairs.push(...filePairs);
      }
      assert.equal(pairs.length, manifest.counts.relationships[rel], rel);
      assert.equal(relsBefore[rel] - relsAfter[rel], pairs.length, rel);
      assert.equal(new Set(pairs).size, pairs.length, `${rel}: a row is archived twice`);
    }
    // A RESPONDS_TO row goes with its from message when that one left, else with its to message
    // (written by two statements and merged): every file sorted by (from_id, to_id), every row in
    // the chunk of the message it goes with, and rows of both kinds present.
    const chunkOf = new Map<string, number>();
    for (const entry of messageFiles) for (const id of await parquetColumn(path.join(folder, entry.name))) chunkOf.set(id, entry.chunk);
    let withFrom = 0;
    let withTo = 0;
    for (const entry of manifest.files.filter((f) => f.table === 'RESPONDS_TO')) {
      const filePairs = (await pairsOf(path.join(folder, entry.name))).map((pair) => pair.split('->'));
      assert.deepEqual(filePairs, [...filePairs].sort(([f1, t1], [f2, t2]) => (f1 < f2 ? -1 : f1 > f2 ? 1 : t1 < t2 ? -1 : t1 > t2 ? 1 : 0)), `${entry.name} is not sorted`);
      for (const [from, to] of filePairs) {
        if (chunkOf.has(from)) {
          withFrom++;
          assert.equal(chunkOf.get(from), entry.chunk, `${from}->${to} is not in its from message's chunk`);
        } else {
          withTo++;
          assert.equal(chunkOf.get(to), entry.chunk, `${from}->${to} is not in its to message's chunk`);
        }
      }
    }
    assert.ok(withFrom > 0 && withTo > 0, `RESPONDS_TO rows with the from message ${withFrom}, with the to message only ${withTo}`);
    for (const rel of ['DISCUSSES', 'LEARNS', 'RELATES_TO']) assert.equal(relsAfter[rel], relsBefore[rel], rel);
    const partOf: string[] = [];
    for (const entry of manifest.files.filter((f) => f.table === 'PART_OF')) partOf.push(...(await parquetColumn(path.join(folder, entry.name), 'from_id')));
    assert.deepEqual(sorted(partOf), archived);

    // The verifier: passes, and catches a tampered, a missing and a reordered chunk.
    const verification = await verifyArchiveWithKuzu(folder);
    assert.equal(verification.ok, true, JSON.stringify(verification.checks.filter((c) => !c.ok)));
    assert.ok(verification.checks.some((c) => c.name === 'id digest' && c.ok && c.detail === `${archived.length} ids match`));

    const tampered = copyFolder(folder, path.join(data, 'tampered'));
    fs.appendFileSync(path.join(tampered, 'messages-00002.parquet'), 'x');
    const tamperedCheck = await verifyArchiveWithKuzu(tampered);
    assert.equal(tamperedCheck.ok, false);
    assert.deepEqual(tamperedCheck.checks.filter((c) => !c.ok).map((c) => c.name), ['messages-00002.parquet']);

    const missing = copyFolder(folder, path.join(data, 'missing'));
    fs.rmSync(path.join(missing, 'responds_to-00003.parquet'));
    const missingCheck = await verifyArchiveWithKuzu(missing);
    assert.equal(missingCheck.ok, false);
    assert.deepEqual(missingCheck.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`), ['responds_to-00003.parquet: missing']);

    // Chunks 1 and 2 swapped (files and manifest entries agree, so every sha256 matches): the id order check fails.
    const swapped = copyFolder(folder, path.join(data, 'swapped'));
    const swappedManifest: ArchiveManifest = JSON.parse(fs.readFileSync(path.join(swapped, 'manifest.json'), 'utf8'));
    const [one, two] = messageEntries(swappedManifest);
    fs.renameSync(path.join(swapped, one.name), path.join(swapped, 'tmp.parquet'));
    fs.renameSync(path.join(swapped, two.name), path.join(swapped, one.name));
    fs.renameSync(path.join(swapped, 'tmp.parquet'), path.join(swapped, two.name));
    [one.rows, two.rows] = [two.rows, one.rows];
    [one.bytes, two.bytes] = [two.bytes, one.bytes];
    [one.sha256, two.sha256] = [two.sha256, one.sha256];
    writeManifest(swapped, swappedManifest);
    const swappedCheck = await verifyArchiveWithKuzu(swapped);
    assert.equal(swappedCheck.ok, false);
    assert.match(swappedCheck.checks.find((c) => !c.ok)!.detail, /^messages-00002\.parquet: its first id .* does not follow the last id .* of messages-00001\.parquet/);

    // A manifest of another format version is refused with a clear error.
    const old = copyFolder(folder, path.join(data, 'old'));
    fs.writeFileSync(path.join(old, 'manifest.json'), JSON.stringify({ ...manifest, formatVersion: 1 }));
    assert.throws(() => readManifest(old), /archive format version 1; this locrit-mem reads version 2 only/);
    const refused = await runCli(['-c', config, 'recover', '--from-archive', old], { cwd: data });
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /^Error: archive .* failed its checks: manifest\.json: .* has archive format version 1/);

    // recover --from-archive: the exact original ids and relationship counts; twice == once.
    const once = await runCli(['-c', config, 'recover', '--from-archive', folder, '--json'], { cwd: data });
    assert.equal(once.code, 0, once.stderr);
    const first = JSON.parse(once.stdout).locrits[0];
    assert.equal(first.outcome, 'restored');
    assert.equal(first.archiveRestore.messages.created, archived.length);
    assert.deepEqual(first.archiveRestore.relationships.map((r: { table: string }) => r.table).sort(), [...ARCHIVED_RELS].sort());
    assert.deepEqual(await idsOf(fixture.dbPath), original);
    assert.deepEqual(await relCounts(fixture.dbPath, RELS), relsBefore);
    const twice = await runCli(['-c', config, 'recover', '--from-archive', folder, '--json'], { cwd: data });
    assert.equal(twice.code, 0, twice.stderr);
    const second = JSON.parse(twice.stdout).locrits[0];
    assert.equal(second.archiveRestore.messages.created, 0);
    assert.equal(second.archiveRestore.messages.alreadyPresent, archived.length);
    for (const rel of second.archiveRestore.relationships) assert.equal(rel.created, 0, rel.table);
    assert.deepEqual(await idsOf(fixture.dbPath), original);
    assert.deepEqual(await relCounts(fixture.dbPath, RELS), relsBefore);
  });
});
