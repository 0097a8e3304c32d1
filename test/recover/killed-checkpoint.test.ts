/**
 * A checkpoint killed between logging itself in the WAL and applying its pages leaves kuzu.db,
 * kuzu.db.wal and kuzu.db.shadow: Kuzu then refuses every read-only open ("Couldn't replay
 * shadow pages under read-only mode"). A killed `recover` (its WAL replay checkpoints) leaves
 * exactly that. The next run must read it (a private copy finishes the checkpoint), repair it,
 * and keep a backup that later runs can read; no message is lost.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { idsOf, makeLocrit, ROOT, runCli, tempDir, writeConfig } from '../helpers.js';

const BULK = 4000;

/** Runs a Kuzu script in a child process; `killWhen` polled every millisecond decides when it gets SIGKILL. */
function child(script: string, dbPath: string, killWhen: (out: string) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', script, dbPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (chunk) => (out += chunk));
    const timer = setInterval(() => {
      if (killWhen(out)) p.kill('SIGKILL');
    }, 1);
    p.on('exit', () => {
      clearInterval(timer);
      resolve();
    });
  });
}

const WRITER = `
import kuzu from 'kuzu';
const db = new kuzu.Database(process.argv[1], 256 * 1024 * 1024, true, false, 2 ** 30);
const c = new kuzu.Connection(db);
const r = await c.query("UNWIND range(1, ${BULK}) AS x CREATE (:Message {id: 'bulk_' + CAST(x AS STRING), role: 'user', content: '${'z'.repeat(300)}', session_id: 'bulk', metadata: '{}'})");
r.close();
process.stdout.write('committed');
setInterval(() => {}, 1000);`;

const OPENER = `
import kuzu from 'kuzu';
const db = new kuzu.Database(process.argv[1], 256 * 1024 * 1024, true, false, 2 ** 30);
const c = new kuzu.Connection(db);
const r = await c.query('MATCH (m:Message) RETURN count(m)');
r.close();
await c.close();
await db.close();`;

/** kuzu.db with a big committed WAL, then an open (which checkpoints) killed once the WAL has logged the checkpoint. */
async function killedCheckpoint(dbPath: string): Promise<boolean> {
  await child(WRITER, dbPath, (out) => out.includes('committed'));
  const walBytes = fs.statSync(`${dbPath}.wal`).size;
  await child(OPENER, dbPath, () => fs.existsSync(`${dbPath}.shadow`) && (fs.statSync(`${dbPath}.wal`, { throwIfNoEntry: false })?.size ?? walBytes) !== walBytes);
  return fs.existsSync(`${dbPath}.shadow`) && fs.existsSync(`${dbPath}.wal`);
}

describe('a checkpoint killed half-way', () => {
  it('is read by stats, repaired by recover with every message, and its backup stays readable', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    writeConfig(root, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n');
    const alice = await makeLocrit(memory, { name: 'alice', messages: 80 });
    const before = await idsOf(alice.dbPath);
    const backup = path.join(root, 'original');
    fs.mkdirSync(backup);
    fs.copyFileSync(alice.dbPath, path.join(backup, 'kuzu.db'));
    // The kill has to land in a window of a few milliseconds: try again from the start a few times.
    let reached = false;
    for (let attempt = 0; attempt < 5 && !reached; attempt++) {
      for (const f of fs.readdirSync(path.dirname(alice.dbPath))) fs.rmSync(path.join(path.dirname(alice.dbPath), f), { recursive: true, force: true });
      fs.copyFileSync(path.join(backup, 'kuzu.db'), alice.dbPath);
      reached = await killedCheckpoint(alice.dbPath);
    }
    assert.ok(reached, 'could not kill a checkpoint half-way');

    const stats = await runCli(['stats', '--json'], { cwd: root });
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(JSON.parse(stats.stdout).locrits[0].database.messages, before.length + BULK);

    const recover = await runCli(['recover', '--json'], { cwd: root });
    assert.equal(recover.code, 0, recover.stderr);
    const part = JSON.parse(recover.stdout).locrits[0];
    assert.equal(part.outcome, 'repaired');
    const after = await idsOf(alice.dbPath);
    assert.equal(after.length, before.length + BULK);
    for (const id of before) assert.ok(after.includes(id), id);
    assert.equal(fs.existsSync(`${alice.dbPath}.shadow`), false);

    const again = await runCli(['stats', '--json'], { cwd: root });
    assert.deepEqual(JSON.parse(again.stdout).locrits[0].resets?.unreadableBackups ?? [], []);
  });
});
