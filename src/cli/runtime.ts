/**
 * Glue between commander and the commands: reads the global flags, builds the command
 * context, writes the rendered result, and records the exit code that main() will use.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import type { CommandContext, ContextOptions, Reporter } from '../commands/context.js';
import { ExitCode, UsageError } from '../errors.js';
import { withLocatingOptions } from './invocation.js';
import type { TableWidth } from './format.js';
import type { CliIO, OutputFlags } from './io.js';

export interface GlobalFlags extends OutputFlags {
  config?: string;
  dataDir?: string;
  json: boolean;
  jobs?: string;
}

export class CliRuntime {
  exitCode: number = 0;
  /** Ctrl-C came while Locrits were being worked on. */
  private interrupted = false;
  /** One reporter per run (stats --watch builds a context per refresh). */
  private reporter: Reporter | null = null;

  /** @param locating the `-d` / `-c` options of this run, carried by every command it suggests. */
  constructor(
    readonly io: CliIO,
    readonly locating: string[] = [],
  ) {}

  /** Text for a person: the commands it suggests carry this run's `-d` / `-c`. */
  paste(text: string): string {
    return withLocatingOptions(text, this.locating);
  }

  flags(command: Command): GlobalFlags {
    const all = command.optsWithGlobals() as Partial<GlobalFlags>;
    return {
      config: all.config,
      dataDir: all.dataDir,
      json: Boolean(all.json),
      jobs: all.jobs,
      color: all.color !== false,
      quiet: Boolean(all.quiet),
      wide: Boolean(all.wide),
      verbose: Boolean(all.verbose),
    };
  }

  /** Loads the configuration and builds what a command needs. Loaded lazily: --help and --version never pay for YAML or chalk. */
  async context(command: Command, options: ContextOptions = {}): Promise<CommandContext> {
    const flags = this.flags(command);
    const [{ buildContext }, { stderrReporter }, { onInterrupt, onRunEvent }] = await Promise.all([import('../commands/context.js'), import('./io.js'), import('../runner/pool.js')]);
    if (this.reporter === null) {
      const reporter = stderrReporter(this.io, flags, this.locating);
      this.reporter = reporter;
      onRunEvent((event) => reporter.runEvent(event));
      onInterrupt((count) => {
        this.interrupted = true;
        reporter.notice(
          count === 1
            ? 'Interrupted: finishing the Locrits in progress and starting no other (Ctrl-C again to stop them now)'
            : 'Interrupted again: stopping the Locrits in progress (the next run finishes or rolls back what they left half-done)',
        );
      });
    }
    const reporter = this.reporter;
    return buildContext(flags, reporter, this.io.cwd, this.io.env, options);
  }

  /** How wide tables may be on stdout: the terminal's width, no limit off a terminal or with --wide. */
  tableWidth(command: Command, stream: CliIO['stdout'] = this.io.stdout): TableWidth {
    return { width: this.flags(command).wide || !stream.isTTY || !stream.columns ? null : stream.columns };
  }

  /** Colours for stdout. */
  async colors(command: Command): Promise<ChalkInstance> {
    const { colorsFor } = await import('./io.js');
    return colorsFor(this.io.stdout, this.io.env, this.flags(command));
  }

  /** Whether the result has been written (a failure after it must not add a second document). */
  printedResult = false;

  print(text: string): void {
    if (text !== '') this.printedResult = true;
    this.io.stdout.write(text);
  }

  json(value: unknown): string {
    return `${JSON.stringify(value, null, 2)}\n`;
  }

  /** Records the exit code; after a Ctrl-C the report has been printed, and the run exits 130. */
  finish(code: ExitCode): void {
    this.exitCode = this.interrupted ? ExitCode.interrupted : code;
  }

  /**
   * Writes a file through a temporary name and an atomic rename, so that a reader (the
   * Prometheus textfile collector, say) never sees half of it.
   */
  async writeAtomic(file: string, text: string): Promise<void> {
    // Loaded here, as the other modules a run may not need: every start of the tool would pay for them.
    const { writeFileAtomic } = await import('../layout/atomicFile.js');
    const target = path.resolve(this.io.cwd, file);
    const dir = path.dirname(target);
    if (!fs.existsSync(dir)) throw new UsageError(`--output ${file}: folder ${dir} does not exist`, 'create the folder or choose another file');
    try {
      writeFileAtomic(target, text);
    } catch (error) {
      throw new UsageError(`--output ${file} cannot be written (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'check the path and its permissions');
    }
  }
}

/** A number written in decimal (Number() alone also takes 0x10, 0b1 and Infinity). */
export const DECIMAL = /^\s*\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** Parses a positive number flag (at most `max`) or throws a usage error naming it. */
export function positiveNumber(flag: string, value: string | undefined, max?: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!DECIMAL.test(value) || !Number.isFinite(n) || n <= 0 || (max !== undefined && n > max)) {
    throw new UsageError(`${flag} must be a positive number${max !== undefined ? ` up to ${max}` : ''}, got '${value}'`, `pass a number such as ${flag} 5`);
  }
  return n;
}

export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got '${value}'`, `pass ${flag} ${allowed[0]}`);
  return value as T;
}
