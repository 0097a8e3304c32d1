/**
 * The single exit point: runs the program, turns typed errors into an exit code and an
 * `Error: ...` / `Try: ...` pair on stderr. No other module sets the exit code.
 */
import { asNoSpace, ExitCode, LocritMemError } from '../errors.js';
import { toolVersion } from '../version.js';
import { locatingOptions, withLocatingOptions } from './invocation.js';
import type { CliIO } from './io.js';
import { prestartWorkerFor } from './prestart.js';

export async function runCli(args: string[], io: CliIO): Promise<number> {
  // The commonest probe of all answers without loading commander (start-up time matters to cron and CI).
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    io.stdout.write(`${toolVersion()}\n`);
    return ExitCode.ok;
  }
  prestartWorkerFor(args);
  const [{ CommanderError, buildProgram }, { CliRuntime }] = await Promise.all([import('./program.js'), import('./runtime.js')]);
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
    const command = args.find((a) => program.commands.some((c) => c.name() === a)) ?? null;
    // With --json, a failed run still prints a JSON document on stdout, so that `jq` in CI gets one.
    const report = wantsJson(args) && !runtime.printedResult ? await import('../commands/report.js') : null;
    const failed = (kind: string, message: string, hint: string | undefined, exitCode: number): number => {
      writeError(io, locating, message, hint);
      if (report) io.stdout.write(jsonError(report, command, kind, message, hint, exitCode));
      return exitCode;
    };
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      if (error.code === 'commander.help') return ExitCode.usage;
      const message = error.message.replace(/^error: /, '');
      return failed('UsageError', message, `run \`locrit-mem ${command ? `${command} ` : ''}--help\``, ExitCode.usage);
    }
    // A full disk met outside any task (a report or a marker file written by the command itself).
    error = asNoSpace(error);
    if (error instanceof LocritMemError) return failed(error.name, error.message, error.hint, error.exitCode);
    const text = error instanceof Error ? error.message : String(error);
    const code = failed('InternalError', `internal error: ${text}`, 'rerun with --verbose and report this with the output', ExitCode.internal);
    if (args.includes('--verbose') || args.includes('-v')) io.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
    return code;
  }
}

/** `--json`, or `--format json` (stats), before a `--` that ends the options. */
function wantsJson(args: string[]): boolean {
  const end = args.includes('--') ? args.indexOf('--') : args.length;
  const options = args.slice(0, end);
  return options.includes('--json') || options.includes('--format=json') || options.some((a, i) => a === '--format' && options[i + 1] === 'json');
}

/** The JSON document of a run that failed before it had a report: the same envelope, with `error`. */
function jsonError(report: typeof import('../commands/report.js'), command: string | null, kind: string, message: string, hint: string | undefined, exitCode: number): string {
  const document = {
    version: report.REPORT_VERSION,
    command,
    tool: report.toolInfo(),
    generatedAt: new Date().toISOString(),
    error: { kind, message, hint: hint ?? null, exitCode },
    exitCode,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function writeError(io: CliIO, locating: string[], message: string, hint?: string): void {
  io.stderr.write(`Error: ${withLocatingOptions(message, locating)}\n`);
  if (hint) io.stderr.write(`Try: ${withLocatingOptions(hint, locating)}\n`);
}

export async function main(argv: string[]): Promise<void> {
  // A reader that goes away early (`| head`, a pager quit) is not an error of ours: stop writing
  // to it but let the run finish, so that a run that changes data is never cut short by its output.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  process.exitCode = await runCli(argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
}
