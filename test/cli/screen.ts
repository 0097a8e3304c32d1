/**
 * Just enough of a terminal to check what an operator is left with: a screen of `height` rows,
 * its scrollback, the cursor, and the few sequences the command line writes. Like tmux
 * (scroll-on-clear, its default), clearing the whole screen, or erasing below from the top-left
 * corner, first saves the screen to the scrollback.
 */
import assert from 'node:assert/strict';

export class Screen {
  rows: string[];
  scrollback: string[] = [];
  private row = 0;
  private column = 0;
  readonly columns: number;

  constructor(readonly height: number, options: { startRow?: number; columns?: number } = {}) {
    this.rows = Array(height).fill('');
    this.row = options.startRow ?? 0;
    this.columns = options.columns ?? 80;
  }

  write(data: string): boolean {
    for (let i = 0; i < data.length; i++) {
      const char = data[i];
      if (char === '\x1b') {
        const sequence = /^\x1b\[([\d;]*)([A-Za-z])/.exec(data.slice(i));
        assert.ok(sequence, `unknown escape at ${JSON.stringify(data.slice(i, i + 8))}`);
        this.control(sequence[1], sequence[2]);
        i += sequence[0].length - 1;
      } else if (char === '\r') {
        this.column = 0;
      } else if (char === '\n') {
        // The terminal driver turns a newline into carriage return + line feed (onlcr).
        this.column = 0;
        this.row++;
        if (this.row === this.height) {
          this.scrollback.push(this.rows.shift()!);
          this.rows.push('');
          this.row = this.height - 1;
        }
      } else {
        const line = this.rows[this.row].padEnd(this.column);
        this.rows[this.row] = line.slice(0, this.column) + char + line.slice(this.column + 1);
        this.column++;
      }
    }
    return true;
  }

  /** Everything ever shown, scrollback then screen, without blank rows. */
  get all(): string[] {
    return [...this.scrollback, ...this.rows].map((line) => line.trimEnd()).filter((line) => line !== '');
  }

  private control(given: string, command: string): void {
    if (command === 'm') return; // colours
    if (command === 'A') this.row = Math.max(0, this.row - Number(given || '1'));
    else if (command === 'H' && given === '') [this.row, this.column] = [0, 0];
    else if (command === 'K' && given === '2') this.rows[this.row] = '';
    else if (command === 'K' && (given === '' || given === '0')) this.rows[this.row] = this.rows[this.row].slice(0, this.column);
    else if (command === 'J' && given === '2') this.clearAll();
    else if (command === 'J' && (given === '' || given === '0')) {
      if (this.row === 0 && this.column === 0) return this.clearAll();
      this.rows[this.row] = this.rows[this.row].slice(0, this.column);
      for (let r = this.row + 1; r < this.height; r++) this.rows[r] = '';
    } else assert.fail(`unexpected sequence ESC[${given}${command}`);
  }

  private clearAll(): void {
    this.scrollback.push(...this.rows.filter((line) => line !== ''));
    this.rows.fill('');
  }
}
