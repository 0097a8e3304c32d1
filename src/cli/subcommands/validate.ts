import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { positiveNumber, type CliRuntime } from '../runtime.js';

interface ValidateFlags {
  strict?: boolean;
  deep?: boolean;
  fix?: boolean;
  dryRun?: boolean;
  junit?: string;
  wait?: string;
}

export function registerValidate(program: Command, runtime: CliRuntime): void {
  program
    .command('validate')
    .description('check each Locrit database against the integrity rules (read-only unless --fix)')
    .argument('[locrits...]', 'Locrit folder names, display names, or paths to kuzu.db (default: all)')
    .option('--strict', 'warnings fail the run too (exit 1); limits become errors')
    .option('--deep', 'also read every column of every row of every table, so that damaged pages show up')
    .option('--fix', 'quarantine invalid messages into an archive, then remove them; correct session_id from PART_OF; set invalid embeddings to NULL')
    .option('--dry-run', 'with --fix: list exactly what would be done and change nothing')
    .option('--wait <seconds>', 'with --fix: when a process (the Locrit application) holds a database, wait up to <seconds> for it to let go before refusing')
    .option('--junit <file>', 'also write JUnit XML (one test case per rule per Locrit) to <file>, atomically')
    .addHelpText(
      'after',
      `
Exit codes: 0 no error (and no warning under --strict), 1 rules broken,
2 bad usage, 3 a database could not be read (in use, damaged, not Kuzu).

Examples:
  locrit-mem validate                              every Locrit, read-only
  locrit-mem validate --strict --junit report.xml  CI: warnings fail too, JUnit for the CI system
  locrit-mem validate bob --deep                   read every page of one Locrit
  locrit-mem validate bob --fix --dry-run          what --fix would quarantine and repair
  locrit-mem validate bob --fix                    archive invalid messages, remove them, repair

Reference (every option, the JSON fields): docs/validate.md in the locrit-mem repository.`,
    )
    .action(async (locrits: string[], options: ValidateFlags, command: Command) => {
      const flags = runtime.flags(command);
      if (options.dryRun && !options.fix) throw new UsageError('--dry-run only applies to --fix', 'run `locrit-mem validate --fix --dry-run`; plain validate never changes anything');
      const waitSeconds = positiveNumber('--wait', options.wait);
      if (waitSeconds !== undefined && !options.fix) throw new UsageError('--wait only applies to --fix', 'plain validate reads a copy of each database and never waits');
      let junitFile: string | null = null;
      if (options.junit !== undefined) {
        if (options.junit.trim() === '') throw new UsageError('--junit needs a file name', 'pass --junit report.xml');
        junitFile = path.resolve(runtime.io.cwd, options.junit);
        const dir = path.dirname(junitFile);
        if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--junit ${options.junit}: folder ${dir} does not exist`, 'create the folder or choose another file');
        if (fs.statSync(junitFile, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--junit ${options.junit} is a folder`, 'pass a file name such as report.xml');
      }
      const context = await runtime.context(command);
      const { runValidate } = await import('../../commands/validate.js');
      const report = await runValidate(context, { locrits, strict: options.strict, deep: options.deep, fix: options.fix, dryRun: options.dryRun, waitSeconds });
      if (junitFile) {
        const { validateJunit } = await import('../render/junit.js');
        await writeJunitFile(junitFile, validateJunit(report), options.junit!);
      }
      if (flags.json) runtime.print(runtime.json(report));
      else {
        const { validateTable } = await import('../render/validate.js');
        runtime.print(runtime.paste(validateTable(report, (await runtime.colors(command)), flags.verbose, runtime.tableWidth(command))));
      }
      runtime.finish(report.exitCode);
    });
}

/** Atomic, so that a CI reader never sees half a report. */
async function writeJunitFile(file: string, text: string, shown: string): Promise<void> {
  const { writeFileAtomic } = await import('../../layout/atomicFile.js');
  try {
    writeFileAtomic(file, text);
  } catch (error) {
    throw new UsageError(`--junit ${shown} cannot be written (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'check the path and its permissions');
  }
}
