import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { CliRuntime } from '../runtime.js';

export function registerValidate(program: Command, runtime: CliRuntime): void {
  void runtime;
  program
    .command('validate')
    .description('check each Locrit database against the integrity rules (read-only)')
    .argument('[locrits...]', 'Locrit folder names, display names, or paths to kuzu.db (default: all)')
    .action(async () => {
      throw new UsageError('`validate` is not yet implemented in this version', 'use `locrit-mem stats` for now');
    });
}
