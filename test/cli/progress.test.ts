import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { LiveDisplay } from '../../src/cli/progress.js';
import type { LocritTarget } from '../../src/layout/locrits.js';
import type { RunEvent } from '../../src/runner/pool.js';
import { Screen } from './screen.js';

const target = (name: string): LocritTarget => ({ name, dir: `/data/${name}`, dbPath: `/data/${name}/kuzu.db` });
const done = (index: number, name: string): RunEvent => ({ kind: 'end', index, total: 3, outcome: { target: target(name), ok: true, value: null, durationMs: 5 } });

/** Three Locrits on two jobs: starts, phases, ends out of order, the end of the run. */
const RUN: RunEvent[] = [
  { kind: 'start', index: 0, total: 3, target: target('alice') },
  { kind: 'phase', index: 0, total: 3, target: target('alice'), phase: 'copying' },
  { kind: 'start', index: 1, total: 3, target: target('bob') },
  { kind: 'phase', index: 1, total: 3, target: target('bob'), phase: 'copying' },
  { kind: 'phase', index: 0, total: 3, target: target('alice'), phase: 'reading' },
  { kind: 'phase', index: 1, total: 3, target: target('bob'), phase: 'reading' },
  done(1, 'bob'),
  { kind: 'start', index: 2, total: 3, target: target('carol') },
  { kind: 'phase', index: 2, total: 3, target: target('carol'), phase: 'reading' },
  done(0, 'alice'),
  done(2, 'carol'),
  { kind: 'finish', total: 3 },
];

function play(terminal: Screen): void {
  const display = new LiveDisplay(terminal, new Chalk({ level: 0 }));
  for (const event of RUN) display.event(event);
  display.stop();
}

describe('LiveDisplay', () => {
  for (const [where, startRow] of [['at the top of a cleared screen', 0], ['at the bottom of a full screen', 5]] as const) {
    it(`leaves each finished Locrit once and no live line, on the screen or in the scrollback, ${where}`, () => {
      const terminal = new Screen(6, { startRow });
      if (startRow > 0) terminal.write('$ earlier\n'.repeat(startRow));
      play(terminal);
      const shown = terminal.all.filter((line) => line !== '$ earlier');
      assert.deepEqual(shown, ['✓ Locrit 2/3 bob: done in 0s', '✓ Locrit 1/3 alice: done in 0s', '✓ Locrit 3/3 carol: done in 0s']);
    });
  }

  it('leaves no line for a Locrit whose run was one step of a command that reports it itself', () => {
    const terminal = new Screen(10);
    const display = new LiveDisplay(terminal, new Chalk({ level: 0 }));
    const carol = target('carol');
    for (const step of ['reading every table', 'replaying the WAL', 'reading every table']) {
      display.event({ kind: 'start', index: 0, total: 1, target: carol });
      display.event({ kind: 'phase', index: 0, total: 1, target: carol, phase: step });
      assert.deepEqual(terminal.all, [`… carol: ${step} 0s`]);
      display.event({ kind: 'end', index: 0, total: 1, outcome: { target: carol, ok: true, value: null, durationMs: 5 }, step: true });
    }
    display.stop();
    assert.deepEqual(terminal.all, []);
  });

  it('shows one live line per running Locrit while they run', () => {
    const terminal = new Screen(10);
    const display = new LiveDisplay(terminal, new Chalk({ level: 0 }));
    for (const event of RUN.slice(0, 6)) display.event(event);
    assert.deepEqual(terminal.all, ['… Locrit 1/3 alice: reading 0s', '… Locrit 2/3 bob: reading 0s']);
    display.stop();
    assert.deepEqual(terminal.all, []);
  });
});
