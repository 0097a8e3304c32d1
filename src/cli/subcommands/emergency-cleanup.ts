import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { CliRuntime } from '../runtime.js';

export function registerEmergencyCleanup(program: Command, runtime: CliRuntime): void {
  void runtime;
  program
    .command('emergency-cleanup')
    .description('bring Locrits over the message or size limit back under it')
    .argument('[locrits...]', 'Locrit folder names, display names, or paths to kuzu.db (default: all)')
    .action(async () => {
      throw new UsageError('`emergency-cleanup` is not yet implemented in this version', 'use `locrit-mem stats` for now');
    });
}
