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

export function prestartWorkerFor(args: string[]): void {
  const end = args.includes('--') ? args.indexOf('--') : args.length;
  const words = args.slice(0, end);
  if (words.some((w) => w === '--help' || w === '-h' || w === 'help' || w === '--version' || w === '-V')) return;
  const task = words.includes('validate') ? validateTask(words) : words.includes('stats') ? 'stats' : null;
  if (task === null) return;
  import('../runner/pool.js').then((pool) => pool.prestartWorker(task)).catch(() => undefined);
}
