import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { holdDatabase, truncateFile } from '../../src/fixtures/damage.js';
import { idsOf, makeLocrit, relCounts, runCli, sha256File, snapshotFolder, tempDir, writeConfig } from '../helpers.js';

const RELS = ['SENT', 'RESPONDS_TO', 'PART_OF', 'MENTIONS', 'DISCUSSES', 'LEARNS', 'RELATES_TO'];

function config(dir: string): string {
  return writeConfig(dir, `memory:\n  embedding_dimension: 16\nkuzu:\n  buffer_pool_mb: 64\narchive:\n  dir: ${path.join(dir, 'archive')}\n`);
}

describe('recover --from-archive, --from-backup, --list', () => {
  it('restoring an archive twice gives the same database as once', async (t) => {
    const root = tempDir(t);
    const data = path.join(root, 'memory');
    const cfg = config(root);
    const fixture = await makeLocrit(data, { name: 'bob' });
    // The archive command makes the archive (145 of the 200 messages are older than 20 days).
    const archived = await runCli(['-c', cfg, '-d', data, 'archive', 'bob', '--days', '20', '--keep', '50', '--include-critical', '--json']);
    assert.equal(archived.code, 0, archived.stderr);
    const folders = fs.readdirSync(path.join(root, 'archive', 'bob')).filter((f) => /^\d{8}T/.test(f));
    assert.equal(folders.length, 1);
    const folder = path.join(root, 'archive', 'bob', folders[0]);
    const left = await idsOf(fixture.dbPath);
    assert.ok(left.length < 200 && left.length >= 50, `archive left ${left.length}`);

    const once = await runCli(['-c', cfg, '-d', data, 'recover', '--from-archive', folder, '--json']);
    assert.equal(once.code, 0, once.stderr);
    const first = JSON.parse(once.stdout).locrits[0];
    assert.equal(first.action, 'restore-archive');
    assert.equal(first.outcome, 'restored');
    assert.equal(first.verification.ok, true);
    assert.equal(first.archiveRestore.messages.created, 200 - left.length);
    assert.ok(first.archiveRestore.checks.every((c: { ok: boolean }) => c.ok));
    assert.ok(fs.existsSync(first.archiveRestore.dbBackup), 'the database before the restore is kept');
    const idsOnce = await idsOf(fixture.dbPath);
    const relsOnce = await relCounts(fixture.dbPath, RELS);
    assert.deepEqual(idsOnce, [...fixture.messageIds].sort());
    assert.deepEqual(relsOnce, fixture.relCounts);

    // Twice (through the manifest this time): nothing changes.
    const twice = await runCli(['-c', cfg, '-d', data, 'recover', '--from-archive', path.join(folder, 'manifest.json'), '--json']);
    assert.equal(twice.code, 0, twice.stderr);
    const second = JSON.parse(twice.stdout).locrits[0];
    assert.equal(second.archiveRestore.messages.created, 0);
    assert.equal(second.archiveRestore.messages.alreadyPresent, 200 - left.length);
    for (const rel of second.archiveRestore.relationships) assert.equal(rel.created, 0, rel.table);
    assert.deepEqual(await idsOf(fixture.dbPath), idsOnce);
    assert.deepEqual(await relCounts(fixture.dbPath, RELS), relsOnce);

    // --list shows the archive with its messages, and the backups with theirs.
    const listed = await runCli(['-c', cfg, '-d', data, 'recover', 'bob', '--list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const entry = JSON.parse(listed.stdout).locrits[0];
    assert.equal(entry.archives.length, 1);
    assert.equal(entry.archives[0].messages, 200 - left.length);
    assert.equal(entry.archives[0].complete, true);
    assert.ok(entry.backups.length >= 2);
    for (const backup of entry.backups) assert.equal(backup.readable, true, backup.path);
    assert.ok(entry.backups.some((b: { messages: number }) => b.messages === left.length));
    const text = await runCli(['-c', cfg, '-d', data, 'recover', 'bob', '--list']);
    assert.match(text.stdout, /archive \(age/);

    // A tampered archive is refused before anything changes.
    const messages = path.join(folder, 'messages.parquet');
    fs.appendFileSync(messages, 'x');
    const before = sha256File(fixture.dbPath);
    const bad = await runCli(['-c', cfg, '-d', data, 'recover', '--from-archive', folder]);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /^Error: archive .* failed its checks: messages\.parquet: size/);
    assert.equal(sha256File(fixture.dbPath), before);
  });

  it('restores the relationships of a large archive within a small buffer pool', async (t) => {
    // RESPONDS_TO joins Message to Message: a pattern lookup planned as a cross product of the
    // two tables filled the pool on a Locrit of about a thousand messages.
    const root = tempDir(t);
    const data = path.join(root, 'memory');
    const cfg = config(root);
    const fixture = await makeLocrit(data, { name: 'big', messages: 1200, sessions: 2, embeddedShare: 0.2 });
    const archived = await runCli(['-c', cfg, '-d', data, 'archive', 'big', '--days', '0', '--max-per-conversation', '300', '--include-critical']);
    assert.equal(archived.code, 0, archived.stderr);
    const folder = path.join(root, 'archive', 'big', fs.readdirSync(path.join(root, 'archive', 'big')).find((f) => /^\d{8}T/.test(f))!);
    assert.ok((await idsOf(fixture.dbPath)).length <= 600);
    const restored = await runCli(['-c', cfg, '-d', data, 'recover', '--from-archive', folder, '--json']);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await idsOf(fixture.dbPath), [...fixture.messageIds].sort());
    assert.deepEqual(await relCounts(fixture.dbPath, RELS), fixture.relCounts);
  });

  it('restores a backup, keeps the current database as a backup, and moves a stray WAL aside', async (t) => {
    const root = tempDir(t);
    const data = path.join(root, 'memory');
    const cfg = config(root);
    const good = await makeLocrit(data, { name: 'alice' });
    const backup = path.join(path.dirname(good.dbPath), 'kuzu.db.backup_20261030_101500');
    fs.copyFileSync(good.dbPath, backup);
    const backupSha = sha256File(backup);
    const current = await makeLocrit(data, { name: 'alice', messages: 120, seed: 7 });
    const currentSha = sha256File(current.dbPath);
    fs.writeFileSync(`${current.dbPath}.wal`, 'a stray WAL that belongs to no one');

    const dry = snapshotFolder(root);
    const planned = await runCli(['-c', cfg, '-d', data, 'recover', '--from-backup', backup, '--dry-run', '--json']);
    assert.equal(planned.code, 0, planned.stderr);
    assert.equal(JSON.parse(planned.stdout).locrits[0].outcome, 'planned');
    assert.deepEqual(snapshotFolder(root), dry);

    const result = await runCli(['-c', cfg, '-d', data, 'recover', '--from-backup', backup, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const locrit = JSON.parse(result.stdout).locrits[0];
    assert.equal(locrit.name, 'alice');
    assert.equal(locrit.outcome, 'restored');
    assert.equal(locrit.verification.ok, true);
    assert.equal(locrit.backupRestore.sourceCounts.Message, 200);
    assert.deepEqual(await idsOf(good.dbPath), [...good.messageIds].sort());
    assert.ok(!fs.existsSync(`${good.dbPath}.wal`), 'no stray WAL beside the restored file');
    assert.equal(sha256File(locrit.backupRestore.keptCurrentAs), currentSha, 'the replaced database is kept byte for byte');
    assert.equal(fs.readFileSync(locrit.backupRestore.movedWal, 'utf8'), 'a stray WAL that belongs to no one');
    assert.deepEqual(await idsOf(locrit.backupRestore.keptCurrentAs), [...current.messageIds].sort());
    assert.equal(sha256File(backup), backupSha, 'the backup itself is untouched');
  });

  it('refuses a backup that does not open, and offers the newest backup for a missing database', async (t) => {
    const root = tempDir(t);
    const data = path.join(root, 'memory');
    const cfg = config(root);
    const fixture = await makeLocrit(data, { name: 'eve' });
    const broken = path.join(path.dirname(fixture.dbPath), 'kuzu.db.backup_20261030_101500');
    fs.copyFileSync(fixture.dbPath, broken);
    truncateFile(broken, 0.5);
    const before = sha256File(fixture.dbPath);
    const refused = await runCli(['-c', cfg, '-d', data, 'recover', 'eve', '--from-backup', broken, '--json']);
    assert.equal(refused.code, 3, refused.stderr);
    const locrit = JSON.parse(refused.stdout).locrits[0];
    assert.equal(locrit.outcome, 'failed');
    assert.match(locrit.problems.join('\n'), /the backup cannot be used: .*truncated/);
    assert.equal(sha256File(fixture.dbPath), before, 'the current database is untouched');
    assert.deepEqual(fs.readdirSync(path.dirname(fixture.dbPath)).sort(), ['kuzu.db', 'kuzu.db.backup_20261030_101500']);

    // kuzu.db gone, only its WAL left: nothing to repair in place, the backups are offered.
    const good = path.join(path.dirname(fixture.dbPath), 'kuzu.db.backup_20261031_090000');
    fs.copyFileSync(fixture.dbPath, good);
    fs.renameSync(fixture.dbPath, path.join(root, 'elsewhere.db'));
    fs.writeFileSync(`${fixture.dbPath}.wal`, 'orphan');
    const missing = await runCli(['-c', cfg, '-d', data, 'recover', '--json']);
    assert.equal(missing.code, 3, missing.stderr);
    const gone = JSON.parse(missing.stdout).locrits[0];
    assert.equal(gone.problem, 'missing');
    assert.equal(gone.outcome, 'unusable');
    assert.match(gone.suggestions[0], /--from-backup .*kuzu\.db\.backup_20261031_090000/);
  });

  it('diagnoses a database held by a running process from a private copy, naming its pid; with nothing to repair, nothing is refused or waited for', async (t) => {
    const root = tempDir(t);
    const data = path.join(root, 'memory');
    const cfg = config(root);
    const fixture = await makeLocrit(data, { name: 'held' });
    const holder = await holdDatabase(fixture.dbPath);
    t.after(() => holder.release());
    const before = sha256File(fixture.dbPath);
    const diagnosed = await runCli(['-c', cfg, '-d', data, 'recover', '--json']);
    assert.equal(diagnosed.code, 0, diagnosed.stderr);
    const locrit = JSON.parse(diagnosed.stdout).locrits[0];
    assert.equal(locrit.problem, 'none');
    assert.equal(locrit.outcome, 'ok');
    assert.equal(locrit.holder.pid, holder.pid);
    assert.match(locrit.holder.command, /holder\.js/);
    assert.ok(locrit.holder.rssBytes > 0);
    assert.ok(Date.parse(locrit.snapshotAt) > 0);
    assert.equal(locrit.error, null);
    const text = await runCli(['-c', cfg, '-d', data, 'recover']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(`held by pid ${holder.pid}`));
    assert.match(text.stdout, /memory \d/);
    // --wait is for a repair that needs the file: there is none, so nothing is waited for.
    const waited = await runCli(['-c', cfg, '-d', data, 'recover', '--wait', '30', '--json']);
    assert.equal(waited.code, 0);
    assert.equal(JSON.parse(waited.stdout).locrits[0].waitedSeconds, null);
    assert.equal(sha256File(fixture.dbPath), before, 'diagnosing a held file changes nothing');
    await holder.release();
    assert.deepEqual(fs.readdirSync(path.dirname(fixture.dbPath)), ['kuzu.db']);
    assert.deepEqual(await idsOf(fixture.dbPath), [...fixture.messageIds].sort());
  });

  it('reports conversations whose message_count exceeds what their session holds', async (t) => {
    const root = tempDir(t);
    const data = path.join(root, 'memory');
    const cfg = config(root);
    const fixture = await makeLocrit(data, { name: 'Bob Technique' });
    const conversations = path.join(root, 'conversations');
    fs.mkdirSync(conversations);
    const [saved, unsaved] = Object.entries(fixture.sessionSizes);
    const header = (id: string, session: string, count: number, locrit = 'Bob Technique'): string =>
      `conversation_id: ${id}\nlocrit_name: ${locrit}\nuser_id: user_1\ncreated_at: '2026-10-01T10:00:00'\nlast_activity: '2026-10-31T18:00:00'\n` +
      `message_count: ${count}\nsession_id: ${session}\nmetadata: {channel: web}\nstatus: active\n`;
    fs.writeFileSync(path.join(conversations, 'conv-saved.yaml'), header('conv-saved', saved[0], saved[1]));
    fs.writeFileSync(path.join(conversations, 'conv-unsaved.yaml'), header('conv-unsaved', unsaved[0], unsaved[1] + 7));
    fs.writeFileSync(path.join(conversations, 'conv-other.yaml'), header('conv-other', 'session_x', 50, 'Somebody Else'));
    fs.writeFileSync(path.join(conversations, 'broken.yaml'), 'conversation_id: [unclosed\n');
    const result = await runCli(['-c', cfg, '-d', data, 'recover', '--conversations-dir', conversations, '--json']);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.conversations.files, 4);
    assert.equal(report.conversations.unreadable.length, 1);
    assert.equal(report.conversations.otherLocrits, 1);
    const bob = report.locrits[0];
    assert.equal(bob.name, 'bob_technique');
    assert.equal(bob.problem, 'unsaved-conversations');
    assert.equal(bob.conversations.checked, 2);
    assert.deepEqual(
      bob.conversations.unsaved.map((u: { conversationId: string; sessionId: string; recorded: number; stored: number; missing: number }) => [u.conversationId, u.sessionId, u.recorded, u.stored, u.missing]),
      [['conv-unsaved', unsaved[0], unsaved[1] + 7, unsaved[1], 7]],
    );
    const text = await runCli(['-c', cfg, '-d', data, 'recover', '--conversations-dir', conversations]);
    assert.match(text.stdout, /Unsaved conversations/);
    assert.match(text.stdout, /conv-unsaved/);
    assert.match(text.stderr, /broken\.yaml cannot be read/);
  });

  it('says so when nothing is wrong, and exits 2 on bad flags', async (t) => {
    const root = tempDir(t);
    const data = path.join(root, 'memory');
    const cfg = config(root);
    await makeLocrit(data, { name: 'fine' });
    const ok = await runCli(['-c', cfg, '-d', data, 'recover']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /fine\s+│ nothing wrong/);
    assert.match(ok.stdout, /Nothing wrong/);
    const cases: [string[], RegExp][] = [
      [['recover', '--wait', 'soon'], /--wait must be a positive number/],
      [['recover', '--wait', '-1'], /--wait/],
      [['recover', '--batch-size', '0'], /--batch-size must be a whole number/],
      [['recover', '--list', '--from-backup', 'x'], /cannot be combined/],
      [['recover', '--from-backup', path.join(root, 'nope')], /does not exist/],
      [['recover', '--from-archive', path.join(root, 'nope')], /does not exist/],
      [['recover', '--no-such-flag'], /unknown option/],
      [['recover', 'carol'], /unknown Locrit 'carol'/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['-c', cfg, '-d', data, ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /^Error: .*\nTry: /);
      assert.equal(result.stdout, '');
    }
  });
});
