/**
 * recover beside a running application: the application resets a Locrit (moves kuzu.db aside,
 * starts a fresh one) while `recover --from-archive` holds it, just before the restore commits;
 * the restore must stop there, change nothing more and keep every file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TEST_KNOBS_ENV } from '../../src/testKnobs.js';
import { archivesOf, sorted } from '../archive/archiveHelpers.js';
import { idsOf, makeLocrit, runCli, sha256File, tempDir, writeConfig } from '../helpers.js';

async function waitForFile(file: string, running: Promise<unknown>): Promise<void> {
  let finished = false;
  void running.then(() => (finished = true));
  while (!fs.existsSync(file)) {
    assert.ok(!finished, `the run ended before reaching ${path.basename(file)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('recover beside a running application', () => {
  it('--from-archive stops before its commit when the application reset the Locrit meanwhile: nothing lost, every file kept', async (t) => {
    const root = tempDir(t);
    const data = path.join(root, 'memory');
    const pauses = path.join(root, 'pauses');
    fs.mkdirSync(pauses);
    const cfg = writeConfig(root, `memory:\n  embedding_dimension: 16\nkuzu:\n  buffer_pool_mb: 64\narchive:\n  dir: ${path.join(root, 'archive')}\n`);
    const fixture = await makeLocrit(data, { name: 'bob' });
    const archived = await runCli(['-c', cfg, '-d', data, 'archive', 'bob', '--days', '20', '--keep', '50', '--include-critical', '--json']);
    assert.equal(archived.code, 0, archived.stderr);
    const [folderName] = fs.readdirSync(path.join(root, 'archive', 'bob')).filter((f) => /^\d{8}T/.test(f));
    const folder = path.join(root, 'archive', 'bob', folderName);
    const archiveHashes = Object.fromEntries(fs.readdirSync(folder).map((f) => [f, sha256File(path.join(folder, f))]));
    const left = await idsOf(fixture.dbPath);
    assert.ok(left.length < 200);

    const running = runCli(['-c', cfg, '-d', data, 'recover', '--from-archive', folder, '--json'], { env: { [TEST_KNOBS_ENV]: `pause-at=restoring@${pauses}` } });
    const marker = path.join(pauses, 'bob.restoring');
    await waitForFile(marker, running);
    // What the application does when its open fails on our lock: kuzu.db moves aside, a fresh one takes its place.
    const movedTo = path.join(path.dirname(fixture.dbPath), 'kuzu.db.backup_20261101_120000');
    fs.renameSync(fixture.dbPath, movedTo);
    const fresh = await makeLocrit(tempDir(t), { name: 'fresh', messages: 3, sessions: 1 });
    fs.renameSync(fresh.dbPath, fixture.dbPath);
    const freshHash = sha256File(fixture.dbPath);
    fs.rmSync(marker);

    const result = await running;
    assert.equal(result.code, 3, result.stderr);
    const bob = JSON.parse(result.stdout).locrits[0];
    assert.equal(bob.outcome, 'failed');
    assert.equal(bob.error.reason, 'replaced');
    assert.match(bob.error.message, /Stopped before committing the restored messages/);
    assert.match(bob.error.message, /kuzu\.db\.backup_20261101_120000/);
    assert.match(bob.error.hint, /locrit-mem recover bob/);
    // The application's fresh database is left as it made it, with no WAL of ours beside it.
    assert.equal(sha256File(fixture.dbPath), freshHash);
    assert.equal(fs.existsSync(`${fixture.dbPath}.wal`), false);
    // The restore was rolled back: the moved-aside file and our backup hold what was there before, the archive is untouched.
    assert.deepEqual(await idsOf(movedTo), left);
    assert.ok(fs.existsSync(bob.archiveRestore.dbBackup));
    assert.deepEqual(await idsOf(bob.archiveRestore.dbBackup), left);
    assert.deepEqual(Object.fromEntries(fs.readdirSync(folder).map((f) => [f, sha256File(path.join(folder, f))])), archiveHashes);
    // Nothing lost: every message is in the moved-aside file or the archive.
    const archivedIds = (await archivesOf(path.join(root, 'archive'), 'bob')).flatMap((a) => a.ids);
    assert.deepEqual(sorted([...left, ...archivedIds]), sorted(fixture.messageIds));
    assert.equal(bob.archiveRestore.messages, null);
  });
});
