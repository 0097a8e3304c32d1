import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { LiveDisplay } from '../../src/cli/progress.js';
import type { LocritTarget } from '../../src/layout/locrits.js';
import type { RunEvent } from '../../src/runner/pool.js';

/**
 * Just enough of a terminal for the live lines: a screen of `height` rows, its scrollback, the
 * cursor, and the sequences LiveDisplay writes. Like tmux (scroll-on-clear, its default), an
 * "erase below" from the top-left corner saves the whole screen to the scrollback first.
 */
class Terminal {
  screen: string[];
  scrollback: string[] = [];
  private row = 0;
  private column = 0;
  readonly columns = 80;

  constructor(readonly height: number, startRow = 0) {
    this.screen = Array(height).fill('');
    this.row = startRow;
  }

  write(data: string): boolean {
    for (let i = 0; i < data.length; i++) {
      const char = data[i];
      if (char === '\x1b') {
        const sequence = /^\x1b\[(\d*)([A-Za-z])/.exec(data.slice(i));
        assert.ok(sequence, `unknown escape at ${JSON.stringify(data.slice(i, i + 8))}`);
        this.control(Number(sequence[1] || '1'), sequence[1], sequence[2]);
        i += sequence[0].length - 1;
      } else if (char === '\r') {
        this.column = 0;
      } else if (char === '\n') {
        // The terminal driver turns a newline into carriage return + line feed (onlcr).
        this.column = 0;
        this.row++;
        if (this.row === this.height) {
          this.scrollback.push(this.screen.shift()!);
          this.screen.push('');
          this.row = this.height - 1;
        }
      } else {
        this.screen[this.row] = this.screen[this.row].padEnd(this.column).slice(0, this.column) + char + this.screen[this.row].slice(this.column + 1);
        this.column++;
      }
    }
    return true;
  }

  private control(count: number, given: string, command: string): void {
    if (command === 'A') this.row = Math.max(0, this.row - count);
    else if (command === 'K' && given === '2') this.screen[this.row] = '';
    else if (command === 'J' && (given === '' || given === '0')) {
      if (this.row === 0 && this.column === 0) this.scrollback.push(...this.screen.filter((line) => line !== ''));
      this.screen[this.row] = this.screen[this.row].slice(0, this.column);
      for (let r = this.row + 1; r < this.height; r++) this.screen[r] = '';
    } else assert.fail(`unexpected sequence ${given}${command}`);
  }

  /** Everything ever shown, scrollback then screen, without blank rows. */
  get all(): string[] {
    return [...this.scrollback, ...this.screen].map((line) => line.trimEnd()).filter((line) => line !== '');
  }
}

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

function play(terminal: Terminal): void {
  const display = new LiveDisplay(terminal, new Chalk({ level: 0 }));
  for (const event of RUN) display.event(event);
  display.stop();
}

describe('LiveDisplay', () => {
  for (const [where, startRow] of [['at the top of a cleared screen', 0], ['at the bottom of a full screen', 5]] as const) {
    it(`leaves each finished Locrit once and no live line, on the screen or in the scrollback, ${where}`, () => {
      const terminal = new Terminal(6, startRow);
      if (startRow > 0) terminal.write('$ earlier\n'.repeat(startRow));
      play(terminal);
      const shown = terminal.all.filter((line) => line !== '$ earlier');
      assert.deepEqual(shown, ['✓ Locrit 2/3 bob: done in 0s', '✓ Locrit 1/3 alice: done in 0s', '✓ Locrit 3/3 carol: done in 0s']);
    });
  }

  it('shows one live line per running Locrit while they run', () => {
    const terminal = new Terminal(10);
    const display = new LiveDisplay(terminal, new Chalk({ level: 0 }));
    for (const event of RUN.slice(0, 6)) display.event(event);
    assert.deepEqual(terminal.all, ['… Locrit 1/3 alice: reading 0s', '… Locrit 2/3 bob: reading 0s']);
    display.stop();
    assert.deepEqual(terminal.all, []);
  });
});
