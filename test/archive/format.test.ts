import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  ArchiveError, IdDigest, idDigestOf, listArchives, partialFolderName, readManifest, sha256OfFile, verifyArchive, writeManifest, type ArchiveManifest,
} from '../../src/archive/format.js';
import { tempDir } from '../helpers.js';

function fakeArchive(dir: string): string {
  const folder = path.join(dir, 'bob', '20261101T120000123Z');
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'messages.parquet'), 'not really parquet');
  const manifest: ArchiveManifest = {
    format: 'locrit-mem-archive', formatVersion: 2, tool: { name: 'locrit-mem', version: '0.0.0' }, createdAt: '2026-11-01T12:00:00.000Z', runId: 'r',
    reason: 'archive', locrit: 'bob', sourceDb: '/x/kuzu.db', rules: [], counts: { messages: 2, messagesWithEmbedding: 0, relationships: {} },
    timeRange: { oldest: null, newest: null }, embeddingDimension: 16, chunking: { maxMessagesPerChunk: 10000, chunks: 1 },
    files: [{ name: 'messages.parquet', table: 'Message', chunk: 1, rows: 2, bytes: 18, sha256: sha256OfFile(path.join(folder, 'messages.parquet')), columns: [{ name: 'id', type: 'STRING' }] }],
    idDigest: { algorithm: 'sha256', of: 'sorted message ids, each followed by \\n', count: 2, value: idDigestOf(['b', 'a']) },
  };
  writeManifest(folder, manifest);
  return folder;
}

describe('archive format', () => {
  it('digests a sorted id set, refuses unsorted or repeated input', () => {
    const digest = new IdDigest();
    digest.add('a');
    digest.add('b');
    assert.equal(digest.digest(), idDigestOf(['b', 'a', 'a']));
    const bad = new IdDigest();
    bad.add('b');
    assert.throws(() => bad.add('a'), /strictly increasing/);
  });

  it('verifies sha256s and, with a reader, counts and the id digest; reports tampering without throwing', async (t) => {
    const dir = tempDir(t);
    const folder = fakeArchive(dir);
    const reader = { rowCount: async () => 2, sortedIds: async (_f: string, onId: (id: string) => void) => ['a', 'b'].forEach(onId) };
    assert.equal((await verifyArchive(folder, reader)).ok, true);
    assert.equal((await verifyArchive(path.join(folder, 'manifest.json'))).contentsChecked, false);
    const wrongIds = { ...reader, sortedIds: async (_f: string, onId: (id: string) => void) => ['a', 'c'].forEach(onId) };
    const idCheck = await verifyArchive(folder, wrongIds);
    assert.equal(idCheck.ok, false);
    assert.match(idCheck.checks.find((c) => !c.ok)!.name, /id digest/);
    fs.appendFileSync(path.join(folder, 'messages.parquet'), 'x');
    const tampered = await verifyArchive(folder, reader);
    assert.equal(tampered.ok, false);
    assert.match(tampered.checks.find((c) => !c.ok)!.detail, /size 19 bytes, manifest says 18/);
  });

  it('reads manifests with clear errors, and lists complete and partial folders', (t) => {
    const dir = tempDir(t);
    const folder = fakeArchive(dir);
    fs.mkdirSync(path.join(dir, 'bob', partialFolderName('20261101T130000000Z')));
    fs.mkdirSync(path.join(dir, 'bob', '20261101T140000000Z')); // no manifest: not complete
    assert.deepEqual(listArchives(dir, 'bob'), { complete: [folder], partial: [path.join(dir, 'bob', '.20261101T130000000Z.partial')] });
    assert.equal(readManifest(folder).manifest.locrit, 'bob');
    assert.throws(() => readManifest(path.join(dir, 'bob', '20261101T140000000Z')), ArchiveError);
    fs.writeFileSync(path.join(folder, 'manifest.json'), '{"format":"other"}');
    assert.throws(() => readManifest(folder), /not a locrit-mem archive manifest/);
  });
});
