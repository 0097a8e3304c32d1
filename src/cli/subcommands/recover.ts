import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { CliRuntime } from '../runtime.js';

export function registerRecover(program: Command, runtime: CliRuntime): void {
  void runtime;
  program
    .command('recover')
    .description('diagnose and repair a Locrit after a crash, a bad file or a bad cleanup')
    .argument('[locrits...]', 'Locrit folder names, display names, or paths to kuzu.db (default: all)')
    .action(async () => {
      throw new UsageError('`recover` is not yet implemented in this version', 'use `locrit-mem stats` for now');
    });
}
