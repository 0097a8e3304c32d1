/**
 * The single exit point: runs the program, turns typed errors into an exit code and an
 * `Error: ...` / `Try: ...` pair on stderr. No other module sets the exit code.
 */
import { ExitCode, LocritMemError } from '../errors.js';
import { toolVersion } from '../version.js';
import { locatingOptions, withLocatingOptions } from './invocation.js';
import type { CliIO } from './io.js';

/** An unexpected failure: a bug in this tool, not a problem with the data. */
export const INTERNAL_ERROR_EXIT = 4;

export async function runCli(args: string[], io: CliIO): Promise<number> {
  // The commonest probe of all answers without loading commander (start-up time matters to cron and CI).
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    io.stdout.write(`${toolVersion()}\n`);
    return ExitCode.ok;
  }
  const [{ CommanderError }, { buildProgram }, { CliRuntime }] = await Promise.all([import('commander'), import('./program.js'), import('./runtime.js')]);
  const locating = locatingOptions(args);
  const runtime = new CliRuntime(io, locating);
  const program = buildProgram(runtime);
  if (args.length === 0) {
    io.stderr.write(program.helpInformation());
    return ExitCode.usage;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return runtime.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      if (error.code === 'commander.help') return ExitCode.usage;
      const command = args.find((a) => program.commands.some((c) => c.name() === a));
      const message = error.message.replace(/^error: /, '');
      writeError(io, locating, message, `run \`locrit-mem ${command ? `${command} ` : ''}--help\``);
      return ExitCode.usage;
    }
    if (error instanceof LocritMemError) {
      writeError(io, locating, error.message, error.hint);
      return error.exitCode;
    }
    const text = error instanceof Error ? error.message : String(error);
    writeError(io, locating, `internal error: ${text}`, 'rerun with --verbose and report this with the output');
    if (args.includes('--verbose') || args.includes('-v')) io.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
    return INTERNAL_ERROR_EXIT;
  }
}

function writeError(io: CliIO, locating: string[], message: string, hint?: string): void {
  io.stderr.write(`Error: ${withLocatingOptions(message, locating)}\n`);
  if (hint) io.stderr.write(`Try: ${withLocatingOptions(hint, locating)}\n`);
}

export async function main(argv: string[]): Promise<void> {
  process.exitCode = await runCli(argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
}
