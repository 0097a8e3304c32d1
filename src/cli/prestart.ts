/**
 * Starts the worker process of a command that will need one at the very start of the CLI, so
 * that the worker's own start (Node, then the task's modules and Kuzu's native module: 100 ms
 * and more) overlaps with this process loading commander, the configuration and the command.
 * Read from the raw arguments before commander parses them, so it is a guess; a wrong one costs
 * an idle worker, which the run never takes and which exits with this process.
 */
import type { TaskName } from '../runner/protocol.js';

/** The task `validate` runs first for these arguments (see src/commands/validate.ts). */
function validateTask(options: string[]): TaskName {
  if (options.includes('--fix')) return 'validate-fix';
  return options.includes('--deep') ? 'validate-check-deep' : 'validate-check';
}

/** The task the command named in `args` runs first, or null when it needs no worker (or is not known). */
export function firstTaskFor(args: string[]): TaskName | null {
  const end = args.includes('--') ? args.indexOf('--') : args.length;
  const words = args.slice(0, end);
  if (words.some((w) => w === '--help' || w === '-h' || w === 'help' || w === '--version' || w === '-V')) return null;
  // The first word naming a command is the command, unless it was an option's value (`-d stats`): then the guess is wrong, at the cost of an idle worker.
  switch (words.find((w) => COMMANDS_WITH_WORKERS.includes(w))) {
    case 'validate':
      return validateTask(words);
    case 'stats':
      return 'stats';
    case 'archive':
    case 'emergency-cleanup':
      return 'retention';
    default:
      return null;
  }
}

const COMMANDS_WITH_WORKERS = ['stats', 'validate', 'archive', 'emergency-cleanup'];

export function prestartWorkerFor(args: string[]): void {
  const task = firstTaskFor(args);
  if (task === null) return;
  import('../runner/pool.js').then((pool) => pool.prestartWorker(task)).catch(() => undefined);
}
