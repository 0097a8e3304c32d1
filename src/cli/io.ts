/**
 * Where output goes and how it looks: results on stdout, progress, warnings and errors on
 * stderr; colour and spinners only on a terminal, never with NO_COLOR or --no-color.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Reporter } from '../commands/context.js';
import type { RunEvent } from '../runner/pool.js';
import { withLocatingOptions } from './invocation.js';
import { elapsed, LiveDisplay } from './progress.js';

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface OutputFlags {
  color: boolean;
  quiet: boolean;
  /** Tables with every column, however wide. */
  wide?: boolean;
  verbose: boolean;
}

export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flags: OutputFlags): ChalkInstance {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0';
  const level = !flags.color || noColor ? 0 : forced || stream.isTTY ? 1 : 0;
  return new Chalk({ level });
}

/**
 * Progress and warnings on stderr. On a terminal (not --quiet, not under CI) a live display:
 * one line per Locrit being worked on, and each finished Locrit's result as soon as it is known
 * (see progress.ts). Off a terminal nothing moves; --verbose adds one timestamped line per
 * finished Locrit, for logs.
 */
export function stderrReporter(io: CliIO, flags: OutputFlags, locating: string[] = []): Reporter & { runEvent(event: RunEvent): void; notice(line: string): void } {
  const colors = colorsFor(io.stderr, io.env, flags);
  // A terminal that reports no width (some pseudo-terminals) cannot be redrawn in place: no live display there.
  const interactive = Boolean(io.stderr.isTTY) && (io.stderr.columns ?? 0) > 0 && !flags.quiet && io.env.CI === undefined;
  const live = interactive ? new LiveDisplay(io.stderr, colors) : null;
  const write = (line: string): void => {
    const text = withLocatingOptions(line, locating);
    if (live) live.permanent(text);
    else io.stderr.write(`${text}\n`);
  };
  return {
    warn: (message) => write(`${colors.yellow('Warning:')} ${message}`),
    info: (message) => {
      if (!flags.quiet) write(message);
    },
    debug: (message) => {
      if (flags.verbose) write(colors.dim(message));
    },
    phase: (text) => {
      if (live && !live.following) live.phase(text);
    },
    done: () => live?.stop(),
    /** A line that must show even under --quiet, above the live lines. */
    notice: (line) => write(line),
    runEvent: (event) => {
      if (live) return live.event(event);
      if (!flags.verbose || flags.quiet || event.kind !== 'end' || event.step) return;
      const { outcome } = event;
      const result = outcome.ok ? `done in ${elapsed(outcome.durationMs)}` : `${outcome.error.message}`;
      io.stderr.write(`${new Date().toISOString()} Locrit ${event.index + 1}/${event.total} ${outcome.target.name}: ${withLocatingOptions(result, locating)}\n`);
    },
  };
}
