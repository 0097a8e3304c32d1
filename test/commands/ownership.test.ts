/**
 * Files keep their owner and mode. The Locrit application runs as its own user (here uid 1000,
 * which needs no passwd entry) and owns `kuzu.db` (600) in its folder (700); cron runs this
 * tool as root. After every writing command the database still has that owner and mode, the
 * archives and backups give others nothing to read, and a process running as the application's
 * user opens the database read-write through the project's store. Message ids are compared
 * before and after each run. These tests need root (CI runs as root); they are skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { damagePages, killWriterMidWrite } from '../../src/fixtures/damage.js';
import { simulateReset } from '../../src/fixtures/reset.js';
import { userName } from '../../src/layout/ownership.js';
import { archivesOf, sorted } from '../archive/archiveHelpers.js';
import { BIN, FIXED_NOW, ROOT, idsOf, makeLocrit, runCli, snapshotFolder, tempDir, writeConfig } from '../helpers.js';
import { plantDefects } from './validate-fixtures.js';

const APP_UID = 1000;
const APP_GID = 1000;
const OTHER_UID = 1001;
const asRoot = process.getuid?.() === 0;
const skip = asRoot ? false : 'needs root to give files another owner (CI runs as root)';
/** --days that puts the cutoff `daysBeforeFixedNow` before the fixtures' fixed "now". */
const daysFlag = (daysBeforeFixedNow: number): string => String((Date.now() - FIXED_NOW.getTime()) / 86_400_000 + daysBeforeFixedNow);

interface Setup {
  root: string;
  memory: string;
  archive: string;
  config: string;
}

/** A data layout as a host running the application as its own user has it: reachable folders, a private Locrit folder. */
function setup(t: TestContext, extra = ''): Setup {
  const root = tempDir(t, 'locrit-owners-');
  fs.chmodSync(root, 0o755);
  const memory = path.join(root, 'memory');
  fs.mkdirSync(memory, { mode: 0o755 });
  const archive = path.join(root, 'archive');
  const config = writeConfig(root, `memory:\n  base_path: memory\n  enable_embeddings: true\n  embedding_dimension: 16\nkuzu:\n  buffer_pool_mb: 64\narchive:\n  dir: archive\n${extra}`);
  fs.chmodSync(config, 0o644);
  return { root, memory, archive, config };
}

/** Hands a Locrit to the application's user, as the application would have created it. */
function handToApplication(dbPath: string): void {
  const dir = path.dirname(dbPath);
  for (const name of fs.readdirSync(dir)) {
    fs.chownSync(path.join(dir, name), APP_UID, APP_GID);
    fs.chmodSync(path.join(dir, name), 0o600);
  }
  fs.chownSync(dir, APP_UID, APP_GID);
  fs.chmodSync(dir, 0o700);
}

function ownerAndMode(file: string): string {
  const stat = fs.statSync(file);
  return `${stat.uid}:${stat.gid} ${(stat.mode & 0o777).toString(8)}`;
}

/** kuzu.db, any WAL and every backup beside it: the application's user, mode 600. */
function assertDatabaseFilesKept(dbPath: string): void {
  const dir = path.dirname(dbPath);
  assert.equal(ownerAndMode(dir), `${APP_UID}:${APP_GID} 700`, 'the Locrit folder');
  assert.equal(ownerAndMode(dbPath), `${APP_UID}:${APP_GID} 600`, 'kuzu.db keeps its owner and mode');
  for (const name of fs.readdirSync(dir)) {
    if (!/^kuzu\.db(\.wal|\.backup_.*|\.locrit-mem-[a-z-]+_.*)$/.test(name)) continue;
    assert.equal(ownerAndMode(path.join(dir, name)), `${APP_UID}:${APP_GID} 600`, name);
  }
}

/** Every file and folder under `folder`: the application's user, nothing for group or others. */
function assertClosedToOthers(folder: string): number {
  let files = 0;
  const walk = (dir: string): void => {
    assert.equal(fs.statSync(dir).mode & 0o077, 0, `${dir} is closed to group and others`);
    assert.equal(fs.statSync(dir).uid, APP_UID, `${dir} belongs to the application's user`);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        files++;
        assert.equal(ownerAndMode(full), `${APP_UID}:${APP_GID} 600`, full);
      }
    }
  };
  walk(folder);
  return files;
}

/** Opens the database read-write through the project's store in a process running as the application's user; returns its message count. */
function applicationOpens(dbPath: string, t: TestContext): Promise<number> {
  const script = path.join(tempDir(t, 'locrit-owners-app-'), 'open.mjs');
  fs.chmodSync(path.dirname(script), 0o755);
  const store = pathToFileURL(path.join(ROOT, 'dist', 'src', 'store', 'kuzu.js')).href;
  fs.writeFileSync(
    script,
    `import { withStore } from ${JSON.stringify(store)};\n` +
      `const n = await withStore(process.argv[2], { readOnly: false, bufferPoolMb: 64 }, (s) => s.scalar('MATCH (m:Message) RETURN count(m)'));\n` +
      `process.stdout.write(String(n));\n`,
  );
  fs.chmodSync(script, 0o644);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dbPath], { uid: APP_UID, gid: APP_GID, env: { PATH: process.env.PATH ?? '' }, cwd: '/' });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('close', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`the application's user could not open ${dbPath} read-write (exit ${code}): ${err}`))));
  });
}

/** The CLI run as another, unprivileged user. */
function runCliAs(uid: number, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, uid, gid: uid, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', LOCRIT_MEM_CONFIG: '' } }, (error, stdout, stderr) => {
      const code = (error as { code?: number } | null)?.code;
      resolve({ code: typeof code === 'number' ? code : error ? -1 : 0, stdout, stderr });
    });
  });
}

describe('files keep their owner and mode', { skip }, () => {
  it('archive --compact: kuzu.db keeps owner and mode, archive and backup are closed to others, the application opens it', async (t) => {
    const { root, memory, archive, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'bob', messages: 300, sessions: 3, embeddedShare: 0.8 });
    handToApplication(fixture.dbPath);
    const before = await idsOf(fixture.dbPath);

    const result = await runCli(['-c', config, 'archive', '--compact', '--json', '--days', daysFlag(20), '--keep', '100'], { cwd: root });
    assert.equal(result.code, 0, result.stderr);
    const bob = JSON.parse(result.stdout).locrits[0];
    assert.equal(bob.compaction.swapped, true, 'the rebuilt file replaced the original');
    assert.ok(fs.existsSync(bob.compaction.backup));

    const after = await idsOf(fixture.dbPath);
    const [written] = await archivesOf(archive, 'bob');
    assert.ok(written.ids.length > 0);
    assert.deepEqual(sorted([...after, ...written.ids]), before, 'every message is in the database or the archive');
    assertDatabaseFilesKept(fixture.dbPath);
    assert.ok(assertClosedToOthers(path.join(archive, 'bob')) > 1, 'Parquet files and manifest');
    assert.equal(await applicationOpens(fixture.dbPath, t), after.length);
  });

  it('emergency-cleanup: the cut and the compaction keep owner and mode; backups copied to backup.dir too', async (t) => {
    const { root, memory, archive, config } = setup(t, 'backup:\n  dir: backups\n');
    const fixture = await makeLocrit(memory, { name: 'eve', messages: 200 });
    handToApplication(fixture.dbPath);
    const before = await idsOf(fixture.dbPath);

    const result = await runCli(['-c', config, 'emergency-cleanup', '--yes', '--json', '--max-messages', '150', '--max-size-mb', '1'], { cwd: root });
    assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
    const eve = JSON.parse(result.stdout).locrits[0];
    assert.ok(eve.compaction, 'compacted');

    const after = await idsOf(fixture.dbPath);
    const [written] = await archivesOf(archive, 'eve');
    assert.ok(written.ids.length > 0);
    assert.deepEqual(sorted([...after, ...written.ids]), before);
    assertDatabaseFilesKept(fixture.dbPath);
    assertClosedToOthers(path.join(archive, 'eve'));
    assert.ok(fs.existsSync(eve.compaction.backup) && path.dirname(eve.compaction.backup) === path.join(root, 'backups'), eve.compaction.backup);
    assert.equal(assertClosedToOthers(path.join(root, 'backups')), 1, 'the copy of kuzu.db, in a folder closed to others');
    assert.deepEqual(await idsOf(eve.compaction.backup), after, 'the backup holds the database as compaction found it (after the cut)');
    assert.equal(await applicationOpens(fixture.dbPath, t), after.length);
  });

  it('a run killed in the middle of an in-place change leaves a WAL as root: validate says so, the next run gives it back', async (t) => {
    const { root, memory, archive, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'cut' });
    handToApplication(fixture.dbPath);
    const before = await idsOf(fixture.dbPath);
    const args = ['-c', config, 'archive', '--json', '--days', daysFlag(20), '--keep', '50'];

    const killed = await runCli(args, { cwd: root, env: { LOCRIT_MEM_TEST: 'kill-at=deleted' } });
    assert.notEqual(killed.code, 0);
    const wal = `${fixture.dbPath}.wal`;
    assert.ok(fs.existsSync(wal), 'the deletion is committed in a WAL the killed run did not checkpoint');
    assert.equal(ownerAndMode(wal), '0:0 644', 'Kuzu made it as the writing process');
    const checked = JSON.parse((await runCli(['-c', config, 'validate', 'cut', '--json'], { cwd: root })).stdout);
    const finding = checked.locrits[0].findings.find((f: { rule: string }) => f.rule === 'file.app-cannot-open');
    assert.deepEqual(finding?.examples, ['kuzu.db.wal']);

    const rerun = await runCli(args, { cwd: root });
    assert.equal(rerun.code, 0, rerun.stderr);
    const after = await idsOf(fixture.dbPath);
    const [written] = await archivesOf(archive, 'cut');
    assert.deepEqual(sorted([...after, ...written.ids]), before, 'finished, not archived twice');
    assertDatabaseFilesKept(fixture.dbPath);
    assert.equal(await applicationOpens(fixture.dbPath, t), after.length);
  });

  it('validate --fix: the quarantine archive is closed to others, the repaired database keeps owner and mode', async (t) => {
    const { root, memory, archive, config } = setup(t);
    const planted = await plantDefects(memory);
    const dbPath = planted.fixture.dbPath;
    handToApplication(dbPath);
    const before = await idsOf(dbPath);

    const result = await runCli(['-c', config, 'validate', '--fix', '--json'], { cwd: root });
    assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
    const after = await idsOf(dbPath);
    const [quarantined] = await archivesOf(archive, 'defects');
    assert.ok(quarantined.ids.length > 0);
    assert.deepEqual(sorted([...after, ...quarantined.ids]), before);
    assertDatabaseFilesKept(dbPath);
    assertClosedToOthers(path.join(archive, 'defects'));
    assert.equal(await applicationOpens(dbPath, t), after.length);
  });

  it('recover, replaying a WAL: the database and the kept pair keep owner and mode', async (t) => {
    const { root, memory, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'crashy' });
    const killed = killWriterMidWrite(fixture.dbPath, { committed: 5, uncommitted: 3 });
    handToApplication(fixture.dbPath);

    const result = await runCli(['-c', config, 'recover', '--json'], { cwd: root });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).locrits[0].outcome, 'repaired');
    const after = await idsOf(fixture.dbPath);
    assert.deepEqual(after, sorted([...fixture.messageIds, ...killed.committedIds]));
    assertDatabaseFilesKept(fixture.dbPath);
    assert.equal(await applicationOpens(fixture.dbPath, t), after.length);
  });

  it('recover, salvaging damaged pages: the rebuilt database gets the owner and mode of the one it replaces', async (t) => {
    const { root, memory, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'pages' });
    damagePages(fixture.dbPath, { pages: 8, seed: 1 });
    handToApplication(fixture.dbPath);

    // Rows are lost and there is no backup: the salvage goes in only with --accept-loss.
    const result = await runCli(['-c', config, 'recover', '--accept-loss', '--json'], { cwd: root });
    assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
    assert.equal(JSON.parse(result.stdout).locrits[0].outcome, 'salvaged');
    const after = await idsOf(fixture.dbPath);
    for (const id of after) assert.ok(fixture.messageIds.includes(id), id);
    assertDatabaseFilesKept(fixture.dbPath);
    assert.equal(await applicationOpens(fixture.dbPath, t), after.length);
  });

  it('recover, merging a reset: the merged database, the backup and the kept file keep owner and mode', async (t) => {
    const { root, memory, config } = setup(t);
    const before = await makeLocrit(memory, { name: 'forgetful', messages: 80 });
    const reset = await simulateReset({ dataDir: memory, name: 'forgetful', at: new Date('2026-11-02T10:00:00'), newMessages: 12, leaveWal: false, dimension: 16 });
    handToApplication(before.dbPath);

    const result = await runCli(['-c', config, 'recover', '--json'], { cwd: root });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).locrits[0].outcome, 'merged');
    const after = await idsOf(before.dbPath);
    assert.deepEqual(after, sorted([...before.messageIds, ...reset.fresh.messageIds]));
    assertDatabaseFilesKept(before.dbPath);
    assert.equal(await applicationOpens(before.dbPath, t), after.length);
  });

  it('recover --from-backup and --from-archive: restored files keep owner and mode', async (t) => {
    const { root, memory, archive, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'alice' });
    const backup = path.join(path.dirname(fixture.dbPath), 'kuzu.db.backup_20261030_101500');
    fs.copyFileSync(fixture.dbPath, backup);
    handToApplication(fixture.dbPath);
    const all = await idsOf(fixture.dbPath);

    const archived = await runCli(['-c', config, 'archive', 'alice', '--days', '20', '--keep', '50', '--include-critical', '--json'], { cwd: root });
    assert.equal(archived.code, 0, archived.stderr);
    const [written] = await archivesOf(archive, 'alice');
    assert.ok(written.ids.length > 0);
    assertClosedToOthers(path.join(archive, 'alice'));
    assertDatabaseFilesKept(fixture.dbPath);

    const fromArchive = await runCli(['-c', config, 'recover', '--from-archive', written.folder, '--json'], { cwd: root });
    assert.equal(fromArchive.code, 0, fromArchive.stderr);
    assert.deepEqual(await idsOf(fixture.dbPath), all, 'every archived message is back');
    assertDatabaseFilesKept(fixture.dbPath);
    assert.equal(await applicationOpens(fixture.dbPath, t), all.length);

    const fromBackup = await runCli(['-c', config, 'recover', '--from-backup', backup, '--json'], { cwd: root });
    assert.equal(fromBackup.code, 0, fromBackup.stderr);
    assert.equal(JSON.parse(fromBackup.stdout).locrits[0].outcome, 'restored');
    assert.deepEqual(await idsOf(fixture.dbPath), all);
    assertDatabaseFilesKept(fixture.dbPath);
    assert.equal(await applicationOpens(fixture.dbPath, t), all.length);
  });

  it('refuses, before changing anything, a user who could not give rewritten files the database owner, and says whom to run as', async (t) => {
    const { root, memory, config } = setup(t);
    const fixture = await makeLocrit(memory, { name: 'bob' });
    handToApplication(fixture.dbPath);
    // The other user may read and write the file (a shared group), so only ownership stands in the way.
    fs.chmodSync(path.dirname(fixture.dbPath), 0o777);
    fs.chmodSync(fixture.dbPath, 0o666);
    fs.chmodSync(root, 0o777);
    const before = snapshotFolder(root);

    const result = await runCliAs(OTHER_UID, ['-c', config, 'archive', '--compact', '--days', daysFlag(20), '--keep', '100'], root);
    assert.equal(result.code, 3, result.stdout + result.stderr);
    const said = result.stdout + result.stderr;
    assert.ok(said.includes(`belongs to ${userName(APP_UID)} (uid ${APP_UID})`), said);
    assert.match(said, new RegExp(`Try: run it as the database's owner: sudo -u ${userName(APP_UID).replace('#', '\\#')} locrit-mem .*archive`), said);
    assert.deepEqual(snapshotFolder(root), before, 'nothing was changed');
  });

  it('does not write through a Locrit folder that is a symlink leading outside the data directory; stats still reads it', async (t) => {
    const { root, memory, config } = setup(t);
    const elsewhere = tempDir(t, 'locrit-owners-elsewhere-');
    const fixture = await makeLocrit(elsewhere, { name: 'far' });
    fs.symlinkSync(path.dirname(fixture.dbPath), path.join(memory, 'far'));
    const before = snapshotFolder(elsewhere);

    // Named by its path (a name is refused for every command when it resolves outside the data directory).
    const linked = path.join(memory, 'far', 'kuzu.db');
    const result = await runCli(['-c', config, 'archive', linked, '--compact', '--days', daysFlag(20), '--keep', '100'], { cwd: root });
    assert.equal(result.code, 3, result.stdout + result.stderr);
    assert.match(result.stdout + result.stderr, /is a symlink to .* outside the data directory .*; locrit-mem does not write through it/);
    assert.deepEqual(snapshotFolder(elsewhere), before, 'nothing was written through the link');
    const stats = await runCli(['-c', config, 'stats', linked, '--json'], { cwd: root });
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(JSON.parse(stats.stdout).locrits[0].database.messages, fixture.messageIds.length);
  });
});

describe('validate: permission rules on real files', { skip }, () => {
  it('flags exactly a kuzu.db the application user cannot open, and exactly archives others can read', async (t) => {
    const { root, memory, archive, config } = setup(t);
    const healthy = await makeLocrit(memory, { name: 'healthy', messages: 40 });
    const locked = await makeLocrit(memory, { name: 'locked', messages: 40, seed: 2 });
    const exposed = await makeLocrit(memory, { name: 'exposed', messages: 40, seed: 3 });
    for (const fixture of [healthy, locked, exposed]) handToApplication(fixture.dbPath);
    // What an earlier version left after a nightly compaction as root: kuzu.db root:root 644.
    fs.chownSync(locked.dbPath, 0, 0);
    fs.chmodSync(locked.dbPath, 0o644);
    // An archive written with ordinary modes, readable by every local user.
    const leaked = path.join(archive, 'exposed', '20261101T120000000Z');
    fs.mkdirSync(leaked, { recursive: true });
    fs.writeFileSync(path.join(leaked, 'manifest.json'), '{}', { mode: 0o644 });
    fs.chmodSync(archive, 0o755);
    fs.chmodSync(path.join(archive, 'exposed'), 0o755);
    fs.chmodSync(leaked, 0o755);

    const result = await runCli(['-c', config, 'validate', '--json'], { cwd: root });
    const report = JSON.parse(result.stdout);
    const byName = Object.fromEntries(report.locrits.map((l: { name: string; findings: { rule: string }[] }) => [l.name, l]));
    const rules = (name: string): string[] => byName[name].findings.map((f: { rule: string }) => f.rule).filter((r: string) => r.startsWith('file.app-') || r.startsWith('file.archive-'));
    assert.deepEqual(rules('healthy'), []);
    assert.deepEqual(rules('locked'), ['file.app-cannot-open']);
    assert.deepEqual(rules('exposed'), ['file.archive-open-to-others']);
    const lockedFinding = byName.locked.findings.find((f: { rule: string }) => f.rule === 'file.app-cannot-open');
    assert.deepEqual(lockedFinding.examples, ['kuzu.db']);
    assert.equal(lockedFinding.severity, 'error');
    assert.deepEqual(byName.exposed.findings.find((f: { rule: string }) => f.rule === 'file.archive-open-to-others').examples, ['20261101T120000000Z/manifest.json']);
    assert.equal(result.code, 1, 'an error finding fails the run');

    // Configured, run.app_user is the reference instead of the folder's owner.
    const asAppUser = writeConfig(root, `memory:\n  base_path: memory\n  embedding_dimension: 16\nrun:\n  app_user: '${APP_UID + 5}'\n`, 'other.yaml');
    const other = JSON.parse((await runCli(['-c', asAppUser, 'validate', 'healthy', '--json'], { cwd: root })).stdout);
    assert.deepEqual(other.locrits[0].findings.filter((f: { rule: string }) => f.rule === 'file.app-cannot-open').map((f: { detail: string }) => /run\.app_user/.test(f.detail)), [true]);
  });
});
