/** The command line on a real terminal (a pseudo-terminal): prompts, Ctrl-C, live progress. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { archivesOf, sorted } from '../archive/archiveHelpers.js';
import { idsOf, makeLocrit, snapshotFolder, tempDir, writeConfig } from '../helpers.js';
import { inTerminal, PROMPT, type TerminalRun } from './pty.js';
import { Screen } from './screen.js';

/** Starts a terminal session that is ended when the test ends, whatever happens. */
function session(t: { after(fn: () => void): void }, ...args: Parameters<typeof inTerminal>): TerminalRun {
  const run = inTerminal(...args);
  t.after(() => run.kill());
  return run;
}

// A loaded machine can take long to start the first run (the waits are generous, never fixed sleeps).
describe('on a terminal', () => {
  it('Ctrl-C at the emergency-cleanup prompt cancels (exit 130) and changes nothing; a deliberate "n" gets no advice', async (t) => {
    const root = tempDir(t);
    await makeLocrit(path.join(root, 'memory'), { name: 'carol' });
    writeConfig(root, 'memory:\n  base_path: memory\n  max_messages_per_locrit: 100\n');
    const before = snapshotFolder(root);

    const interrupted = session(t, ['emergency-cleanup'], { cwd: root });
    await interrupted.waitFor(PROMPT, 150_000);
    interrupted.interrupt();
    assert.equal(await interrupted.exited, 130, interrupted.output());
    assert.match(interrupted.output(), /Archive and delete [\d,]+ messages from 1 Locrit\? \[y\/N\] .*\nError: cancelled: nothing was changed\n/s);
    assert.doesNotMatch(interrupted.output(), /internal error|Try:/);

    const declined = session(t, ['emergency-cleanup'], { cwd: root });
    await declined.waitFor(PROMPT, 150_000);
    declined.type('n\r');
    assert.equal(await declined.exited, 2, declined.output());
    assert.match(declined.output(), /Error: cancelled: nothing was changed\n/);
    assert.doesNotMatch(declined.output(), /Try:/);
    assert.deepEqual(snapshotFolder(root), before);
  });

  it('Ctrl-C during a run over several Locrits finishes the one in progress, starts no other, prints what was done and exits 130; no message is lost', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    const names = ['alice', 'bob', 'carol', 'dave'];
    const fixtures = await Promise.all(names.map((name) => makeLocrit(memory, { name, messages: 300, sessions: 3 })));
    writeConfig(root, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n');
    const run = session(t, ['-j', '1', 'archive', '--days', '1', '--keep', '50', '--max-per-conversation', '0'], { cwd: root });
    // A finished Locrit shows at once, above the live lines.
    await run.waitFor(/✓ Locrit 1\/4 alice: done in \d+s\n/, 150_000);
    run.interrupt();
    assert.equal(await run.exited, 130, run.output());
    const out = run.output();
    assert.match(out, /Interrupted: finishing the Locrits in progress and starting no other/);
    assert.match(out, /│ alice +│ done +│/);
    assert.match(out, /│ dave +│ unavailable +│/);
    assert.match(out, /dave: not started: the run was interrupted\n\s+Try: run the same command again to do it/);
    for (const fixture of fixtures) {
      const kept = await idsOf(fixture.dbPath);
      const archived = (await archivesOf(path.join(root, 'archive'), fixture.folder)).flatMap((a) => a.ids);
      assert.deepEqual(sorted([...kept, ...archived]), sorted(fixture.messageIds), fixture.folder);
    }
    const alice = await idsOf(fixtures[0].dbPath);
    assert.ok(alice.length < 100, 'alice was archived before the interrupt (critical messages spared)');
    assert.equal((await idsOf(fixtures[3].dbPath)).length, 300, 'dave was not touched');
  });

  it('shows one live line per running job with Locrit i/n, phase and elapsed time, cut to the width', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    await Promise.all(['alice', 'bob', 'carol'].map((name) => makeLocrit(memory, { name, messages: 100, sessions: 2 })));
    const run = session(t, ['-d', memory, '-j', '2', 'stats'], { cwd: root, columns: 60 });
    assert.equal(await run.exited, 0, run.output());
    const out = run.output();
    assert.match(out, /… Locrit [12]\/3 (alice|bob): [^\n]* \d+s/);
    assert.match(out, /✓ Locrit 3\/3 carol: done in \d+s/);
    const live = out.split(/\n|\x1b\[2K/).map((line) => line.replace(/\x1b\[[0-9;]*[A-Za-z]|\r/g, '')).filter((line) => line.startsWith('… '));
    assert.ok(live.length > 0);
    for (const line of live) assert.ok([...line].length < 60, `too wide: ${line}`);
    // The table fits the terminal: columns are left out (and said so), rows never wrap.
    const table = out.split('\n').filter((line) => /^[┌│└]/.test(line));
    assert.ok(table.length >= 5, out);
    for (const line of table) assert.ok([...line].length <= 60, `too wide: ${line}`);
    assert.match(out, /│ carol +│ \w+ +│/);
    assert.match(out, /\(not shown, to fit: Emb\. stored, .*; --wide shows all\)/);
    const wide = session(t, ['-d', memory, '--wide', 'stats'], { cwd: root, columns: 60 });
    assert.equal(await wide.exited, 0);
    assert.ok(wide.output().includes('Emb. stored'));
    assert.doesNotMatch(wide.output(), /not shown, to fit/);
  });

  it('stats --watch writes each report over the last: one report on the screen, none piled up in the scrollback', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    await Promise.all(['alice', 'bob'].map((name) => makeLocrit(memory, { name, messages: 100, sessions: 2 })));
    const run = session(t, ['-d', memory, 'stats', '--watch', '1'], { cwd: root });
    await run.waitFor(/(Every 1s[^]*){3}/, 150_000);
    run.interrupt();
    assert.equal(await run.exited, 0, run.output());
    const screen = new Screen(40, { columns: 100 });
    screen.write(run.output());
    const shown = screen.all;
    assert.equal(shown.filter((line) => line.startsWith('Every 1s')).length, 1, shown.join('\n'));
    assert.equal(shown.filter((line) => /^│ alice /.test(line)).length, 1, shown.join('\n'));
    assert.deepEqual(screen.scrollback, []);
  });

  it('recover --list fits a narrow terminal: file names under their folders, columns left out and named', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    await makeLocrit(memory, { name: 'carol', messages: 200, sessions: 2 });
    writeConfig(root, 'memory:\n  base_path: memory\narchive:\n  dir: archive\n');
    const archived = session(t, ['archive', '--compact', '--days', '1', '--keep', '50'], { cwd: root });
    assert.equal(await archived.exited, 0, archived.output());
    const list = session(t, ['recover', 'carol', '--list'], { cwd: root, columns: 70 });
    assert.equal(await list.exited, 0, list.output());
    const out = list.output();
    const table = out.split('\n').map((line) => line.replace(/\x1b\[[0-9;]*[A-Za-z]|\r/g, '')).filter((line) => /^[┌│└]/.test(line));
    assert.ok(table.length >= 4, out);
    for (const line of table) assert.ok([...line].length <= 70, `too wide: ${line}`);
    assert.match(out, /│ kuzu\.db\.locrit-mem-compact_\d{8}T\d{9}Z +│/);
    assert.ok(out.includes(`  in ${path.join(root, 'archive', 'carol')}/`), out);
  });
});
