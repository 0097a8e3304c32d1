/** Flag parsing shared by `archive` and `emergency-cleanup`: thresholds that override the configuration. */
import readline from 'node:readline/promises';
import { InterruptedError, UsageError } from '../../errors.js';
import { DECIMAL } from '../runtime.js';

/** A whole number >= 0, or a usage error naming the flag. */
export function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`${flag} must be a whole number >= 0, got '${value}'`, `pass a number such as ${flag} 30`);
  return n;
}

/** A number >= 0 (optionally <= max), or a usage error naming the flag. */
export function nonNegative(flag: string, value: string | undefined, max?: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!DECIMAL.test(value) || !Number.isFinite(n) || n < 0 || (max !== undefined && n > max)) {
    throw new UsageError(`${flag} must be a number from 0${max !== undefined ? ` to ${max}` : ' up'}, got '${value}'`, `pass a number such as ${flag} ${max !== undefined ? max / 2 : 7}`);
  }
  return n;
}

/** Asks a yes/no question on the terminal (stderr), default no. */
/**
 * Asks a yes/no question on the terminal. Only `y` or `yes` is a yes; Ctrl-D is a no; Ctrl-C
 * cancels the whole run (exit 130).
 */
export async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await new Promise<boolean>((resolve, reject) => {
      rl.once('SIGINT', () => {
        process.stderr.write('\n');
        reject(new InterruptedError('cancelled: nothing was changed'));
      });
      rl.once('close', () => resolve(false));
      rl.question(`${question} [y/N] `).then((answer) => resolve(/^y(es)?$/i.test(answer.trim())), () => resolve(false));
    });
  } finally {
    rl.close();
  }
}
