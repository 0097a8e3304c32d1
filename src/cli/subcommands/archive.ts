import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { CliRuntime } from '../runtime.js';

export function registerArchive(program: Command, runtime: CliRuntime): void {
  void runtime;
  program
    .command('archive')
    .description('archive old messages (age, conversation size) before deleting them')
    .argument('[locrits...]', 'Locrit folder names, display names, or paths to kuzu.db (default: all)')
    .action(async () => {
      throw new UsageError('`archive` is not yet implemented in this version', 'use `locrit-mem stats` for now');
    });
}
