/**
 * Where output goes and how it looks: results on stdout, progress, warnings and errors on
 * stderr; colour and spinners only on a terminal, never with NO_COLOR or --no-color.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Reporter } from '../commands/context.js';
import { withLocatingOptions } from './invocation.js';

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface OutputFlags {
  color: boolean;
  quiet: boolean;
  verbose: boolean;
}

export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flags: OutputFlags): ChalkInstance {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0';
  const level = !flags.color || noColor ? 0 : forced || stream.isTTY ? 1 : 0;
  return new Chalk({ level });
}

/** Progress and warnings on stderr. A spinner (ora) only when stderr is a terminal and not --quiet. */
export function stderrReporter(io: CliIO, flags: OutputFlags, locating: string[] = []): Reporter {
  const colors = colorsFor(io.stderr, io.env, flags);
  // A terminal that reports no width (some pseudo-terminals) makes the spinner redraw without end: no spinner there.
  const interactive = Boolean(io.stderr.isTTY) && (io.stderr.columns ?? 0) > 0 && !flags.quiet && io.env.CI === undefined;
  let spinner: { text: string; stop(): void } | null = null;
  let starting: Promise<void> | null = null;
  // Whether a spinner is wanted now: ora loads asynchronously, and a done() that comes before it
  // has loaded must not leave a spinner running (it would spin over a prompt or the results).
  let wanted = false;
  const write = (line: string): void => {
    spinner?.stop();
    spinner = null;
    io.stderr.write(`${withLocatingOptions(line, locating)}\n`);
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
      if (!interactive) return;
      wanted = true;
      if (spinner) {
        spinner.text = text;
        return;
      }
      starting ??= import('ora').then(({ default: ora }) => {
        starting = null;
        if (wanted) spinner = ora({ text, stream: io.stderr as NodeJS.WriteStream, discardStdin: false }).start();
      });
    },
    done: () => {
      wanted = false;
      spinner?.stop();
      spinner = null;
    },
  };
}
