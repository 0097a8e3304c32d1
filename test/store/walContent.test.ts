/**
 * A WAL copied in from another Locrit carries no database id, and its file times can look like
 * the file's own; what replaying it would add gives it away: relationship records address nodes
 * by internal offset, so replayed beside another file they join rows the application never joins.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { holdDatabase, killWriterMidWrite } from '../../src/fixtures/damage.js';
import { foreignWalSignsOfLive } from '../../src/store/walContent.js';
import { idsOf, makeLocrit, runCli, sha256File, tempDir, writeConfig } from '../helpers.js';

const SETTINGS = { bufferPoolMb: 64 };

describe('foreign WAL, judged from its content', () => {
  it("finds no sign in a Locrit's own WAL, and signs in another Locrit's WAL; neither file is changed", async (t) => {
    const dir = tempDir(t);
    const alice = await makeLocrit(dir, { name: 'alice', messages: 120, sessions: 3 });
    const bob = await makeLocrit(dir, { name: 'bob', messages: 60, sessions: 2, seed: 7 });
    killWriterMidWrite(alice.dbPath, { committed: 4, uncommitted: 1, seed: 2 });
    killWriterMidWrite(bob.dbPath, { committed: 5, uncommitted: 1, seed: 3 });
    const aliceHash = sha256File(alice.dbPath);
    assert.deepEqual(await foreignWalSignsOfLive(alice.dbPath, SETTINGS), []);
    fs.copyFileSync(`${bob.dbPath}.wal`, `${alice.dbPath}.wal`);
    const signs = await foreignWalSignsOfLive(alice.dbPath, SETTINGS);
    assert.ok(signs.length > 0);
    for (const sign of signs) assert.match(sign, /^\d+ (message\(s\) PART_OF a session other than the one their session_id names|message\(s\) PART_OF two sessions or more|RESPONDS_TO between messages of different sessions)$/);
    assert.equal(sha256File(alice.dbPath), aliceHash);
  });

  it('a WAL checkpointed away or held by its writer shows no sign', async (t) => {
    const alice = await makeLocrit(tempDir(t), { name: 'alice', messages: 120, sessions: 3 });
    // No WAL any more (a closing writer checkpointed it away after it was seen): nothing to replay, no error.
    assert.deepEqual(await foreignWalSignsOfLive(alice.dbPath, SETTINGS), []);
    // A process holding the file writes its own WAL: it is neither judged nor disturbed.
    const holder = await holdDatabase(alice.dbPath);
    t.after(() => holder.release());
    assert.deepEqual(await foreignWalSignsOfLive(alice.dbPath, SETTINGS), []);
    assert.equal(holder.child.exitCode, null);
  });

  it('recover moves it aside instead of replaying it; validate flags it; every message id is as before', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    writeConfig(root, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n');
    const alice = await makeLocrit(memory, { name: 'alice', messages: 120, sessions: 3 });
    const bob = await makeLocrit(path.join(root, 'other'), { name: 'bob', messages: 60, sessions: 2, seed: 7 });
    killWriterMidWrite(bob.dbPath, { committed: 5, uncommitted: 1, seed: 3 });
    const before = await idsOf(alice.dbPath);
    // Copied in after kuzu.db was made: by file times it looks like alice's own.
    fs.copyFileSync(`${bob.dbPath}.wal`, `${alice.dbPath}.wal`);

    const validate = await runCli(['validate', '--json', 'alice'], { cwd: root });
    const findings = JSON.parse(validate.stdout).locrits[0].findings as { rule: string }[];
    assert.ok(findings.some((f) => f.rule === 'file.foreign-wal'), JSON.stringify(findings.map((f) => f.rule)));

    const archive = await runCli(['archive', '--dry-run', '--json', 'alice'], { cwd: root });
    assert.equal(archive.code, 3, 'archive refuses to open a file whose WAL is foreign');

    const recover = await runCli(['recover', '--json', 'alice'], { cwd: root });
    assert.equal(recover.code, 0, recover.stderr);
    const part = JSON.parse(recover.stdout).locrits[0];
    assert.equal(part.problem, 'foreign-wal');
    assert.equal(fs.existsSync(`${alice.dbPath}.wal`), false);
    assert.ok(fs.readdirSync(path.dirname(alice.dbPath)).some((f) => f.startsWith('kuzu.db.wal.locrit-mem-foreign_')));
    assert.deepEqual(await idsOf(alice.dbPath), before);
  });
});
