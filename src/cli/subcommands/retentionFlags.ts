/** Flag parsing shared by `archive` and `emergency-cleanup`: thresholds that override the configuration. */
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

/**
 * Asks a yes/no question on the terminal (stderr). Only `y` or `yes` is a yes; Ctrl-D is a no; Ctrl-C
 * cancels the whole run (exit 130).
 */
export async function confirm(question: string): Promise<boolean> {
  // Loaded here, not at the top: every start of the tool would pay for it, and few runs ask.
  const readline = await import('node:readline/promises');
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

const DURATION_UNITS: Record<string, number> = {
  s: 1 / 86_400, sec: 1 / 86_400, second: 1 / 86_400, seconds: 1 / 86_400,
  m: 1 / 1440, min: 1 / 1440, minute: 1 / 1440, minutes: 1 / 1440,
  h: 1 / 24, hour: 1 / 24, hours: 1 / 24,
  d: 1, day: 1, days: 1,
  w: 7, week: 7, weeks: 7,
  month: 30, months: 30,
  y: 365, year: 365, years: 365,
};

/**
 * A duration in days: a plain number is days (`30`), else a number and a unit as journalctl
 * takes them (`30d`, `2w`, `2weeks`, `720h`, `90min`, `1y`; a month is 30 days, a year 365).
 */
export function durationDays(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? (match[2] === '' ? 1 : DURATION_UNITS[match[2].toLowerCase()]) : undefined;
  if (!match || unit === undefined) {
    throw new UsageError(`${flag} must be a duration such as 30 (days), 30d, 2w or 720h, got '${value}'`, `pass ${flag} 30d`);
  }
  return Number(match[1]) * unit;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1 / 1024 / 1024, k: 1 / 1024, kb: 1 / 1024, kib: 1 / 1024, m: 1, mb: 1, mib: 1, g: 1024, gb: 1024, gib: 1024, t: 1024 * 1024, tb: 1024 * 1024, tib: 1024 * 1024 };

/**
 * A size in MiB: a plain number is MiB (`100`), else a number and a unit (`100M`, `1.5G`,
 * `512K`, `2GiB`); units are powers of 1024, as max_db_size_mb is.
 */
export function sizeMib(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? SIZE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new UsageError(`${flag} must be a size such as 100 (MiB), 100M or 2G, got '${value}'`, `pass ${flag} 100M`);
  return Number(match[1]) * unit;
}

/** The value of one of two flags that mean the same; both at once is a usage error. */
export function eitherFlag(a: [string, string | undefined], b: [string, string | undefined]): [string, string | undefined] {
  if (a[1] !== undefined && b[1] !== undefined) throw new UsageError(`${a[0]} and ${b[0]} mean the same: pass one of them`, `drop ${b[0]}`);
  return b[1] !== undefined ? b : a;
}
