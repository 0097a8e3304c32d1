/**
 * The commander program: global options and one registration per subcommand. Nothing here
 * loads Kuzu; each action imports its command lazily, so --help and --version stay fast.
 */
import { createRequire } from 'node:module';
import type * as Commander from 'commander';
import { toolVersion } from '../version.js';
import type { CliRuntime } from './runtime.js';
import { registerArchive } from './subcommands/archive.js';
import { registerEmergencyCleanup } from './subcommands/emergency-cleanup.js';
import { registerRecover } from './subcommands/recover.js';
import { registerStats } from './subcommands/stats.js';
import { registerValidate } from './subcommands/validate.js';

// Loaded through require: commander is CommonJS, and its ES module wrapper costs a few
// milliseconds more at every start (start-up time matters to cron and CI).
const { Command, CommanderError } = createRequire(import.meta.url)('commander') as typeof Commander;
export { CommanderError };

export function buildProgram(runtime: CliRuntime): Commander.Command {
  const program = new Command('locrit-mem')
    .description("Offline maintenance of Locrit agents' Kuzu memory databases")
    .version(toolVersion(), '-V, --version', 'print the version')
    .option('-c, --config <file>', 'configuration file (default: $LOCRIT_MEM_CONFIG, else ./locrit-mem.yaml, else built-in defaults)')
    .option('-d, --data-dir <dir>', 'folder holding <locrit>/kuzu.db (default: memory.base_path)')
    .option('--json', 'print one JSON document on stdout (fields: docs/json.md)')
    .option('--no-color', 'no colours (also when NO_COLOR is set or stdout is not a terminal)')
    .option('-q, --quiet', 'only results, warnings and errors: no progress, no per-Locrit detail lines')
    .option('--wide', 'tables show every column, however wide (on a terminal they are fitted to its width)')
    .option('-v, --verbose', 'more detail')
    .option('-j, --jobs <n>', 'Locrits processed in parallel, each in its own process; 0 = one per core (default: run.jobs, else one per core)')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => runtime.io.stdout.write(text),
      writeErr: (text) => runtime.io.stderr.write(text),
      outputError: () => undefined, // main() prints errors in the Error:/Try: form
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 success, 1 findings (a rule broken or a limit exceeded where checked),
2 bad usage or configuration, 3 a database could not be used, 4 internal error.`,
    );
  registerStats(program, runtime);
  registerArchive(program, runtime);
  registerEmergencyCleanup(program, runtime);
  registerValidate(program, runtime);
  registerRecover(program, runtime);
  for (const command of program.commands) {
    command.exitOverride().configureOutput({
      writeOut: (text) => runtime.io.stdout.write(text),
      writeErr: (text) => runtime.io.stderr.write(text),
      outputError: () => undefined,
    });
  }
  return program;
}
