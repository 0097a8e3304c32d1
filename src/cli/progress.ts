/**
 * Progress on stderr. On a terminal: one live line per Locrit being worked on (`Locrit 2/4`,
 * its phase, elapsed time), redrawn in place, and a finished Locrit's one-line result printed
 * above them as soon as it is known. Lines are cut to the terminal's width, never wrapped (a
 * wrapped line could not be redrawn in place). Off a terminal: nothing, or with --verbose one
 * timestamped line per finished Locrit, for logs.
 */
import type { ChalkInstance } from 'chalk';
import type { RunEvent } from '../runner/pool.js';

interface LiveLine {
  label: string;
  phase: string;
  started: number;
}

/** `7s`, `1m05s`, `1h02m`. */
export function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Cuts `text` to `width` visible characters (`…` at the end when cut). */
export function fit(text: string, width: number): string {
  const chars = [...text];
  if (width <= 0 || chars.length <= width) return text;
  return `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/**
 * Lines are erased one by one (EL 2), never with "erase below" (ED 0): erasing below from the
 * top-left corner clears the whole screen, and tmux (scroll-on-clear, on by default) then saves
 * the screen, live lines included, to the scrollback each time.
 */
const ERASE_LINE = '\x1b[2K';
const up = (n: number): string => (n > 0 ? `\x1b[${n}A\r` : '\r');

export class LiveDisplay {
  private readonly jobs = new Map<number, LiveLine>();
  /** A phase outside a run over Locrits (reported by the command itself). */
  private single: LiveLine | null = null;
  private drawn = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** Where the lines go (the terminal's stderr); only its width is read. */
    private readonly stream: { write(text: string): unknown; columns?: number },
    private readonly colors: ChalkInstance,
  ) {}

  /** Whether a run over Locrits is being shown (the command's own phase lines are then redundant). */
  get following(): boolean {
    return this.jobs.size > 0;
  }

  event(event: RunEvent): void {
    const label = (index: number, total: number): string => (total > 1 ? `Locrit ${index + 1}/${total} ` : '');
    if (event.kind === 'start') {
      this.single = null;
      this.jobs.set(event.index, { label: `${label(event.index, event.total)}${event.target.name}`, phase: 'starting', started: Date.now() });
    } else if (event.kind === 'phase') {
      const line = this.jobs.get(event.index);
      if (line) line.phase = event.phase;
    } else if (event.kind === 'end') {
      const line = this.jobs.get(event.index);
      this.jobs.delete(event.index);
      // A step of a command whose report says how it ended: its live line just goes.
      if (event.step) return this.draw();
      const took = elapsed(line ? Date.now() - line.started : event.outcome.durationMs);
      const name = `${label(event.index, event.total)}${event.outcome.target.name}`;
      this.permanent(
        event.outcome.ok
          ? `${this.colors.green('✓')} ${name}: done in ${took}`
          : `${event.outcome.error.kind === 'InterruptedError' ? this.colors.yellow('!') : this.colors.red('✗')} ${name}: ${event.outcome.error.message}`,
      );
      return;
    } else {
      this.jobs.clear();
    }
    this.draw();
  }

  /** A phase the command reports outside a run over Locrits. */
  phase(text: string): void {
    if (this.single) this.single.phase = text;
    else this.single = { label: '', phase: text, started: Date.now() };
    this.draw();
  }

  /** Prints a line above the live lines (a warning, a finished Locrit). */
  permanent(line: string): void {
    this.draw(line);
  }

  /** Removes the live lines (before results, a prompt or an error). */
  stop(): void {
    this.jobs.clear();
    this.single = null;
    this.draw();
  }

  /** Redraws the live lines in place, with `above` printed first to stay. */
  private draw(above?: string): void {
    const width = (this.stream.columns ?? 80) - 1;
    const lines = [...this.jobs.entries()].sort(([a], [b]) => a - b).map(([, line]) => line);
    if (this.single && lines.length === 0) lines.push(this.single);
    const now = Date.now();
    const text = lines.map((line) => {
      const time = ` ${elapsed(now - line.started)}`;
      const body = fit(`${line.label ? `${line.label}: ` : ''}${line.phase}`, width - time.length - 2);
      return `${this.colors.cyan('…')} ${body}${this.colors.dim(time)}`;
    });
    const rows = above === undefined ? text : [above, ...text];
    // Lines of the last drawing not covered by this one are erased, and the cursor goes back up.
    const stale = Math.max(0, this.drawn - rows.length);
    if (this.drawn > 0 || rows.length > 0) this.stream.write(`${up(this.drawn)}${rows.map((t) => `${ERASE_LINE}${t}\n`).join('')}${`${ERASE_LINE}\n`.repeat(stale)}${stale > 0 ? up(stale) : ''}`);
    this.drawn = text.length;
    if (text.length > 0 && this.timer === null) {
      this.timer = setInterval(() => this.draw(), 1000);
      this.timer.unref();
    } else if (text.length === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
