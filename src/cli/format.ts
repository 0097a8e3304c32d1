/** Human formatting of sizes, counts, ages and statuses for the tables. */
import type { ChalkInstance } from 'chalk';

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = value;
  let unit = 0;
  while (Math.abs(n) >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(n >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : value.toLocaleString('en-US');
}

export function age(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  const s = Math.abs(seconds);
  const text = s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
  return seconds < 0 ? `in ${text}` : text;
}

export function status(colors: ChalkInstance, value: string): string {
  switch (value) {
    case 'ok':
      return colors.green(value);
    case 'warn':
      return colors.yellow(value);
    case 'over':
    case 'error':
      return colors.red(value);
    case 'unavailable':
      return colors.red.bold(value);
    default:
      return value;
  }
}

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)}%` : '-';
}

/** cli-table3 options shared by every table: no colours in borders, no rule between rows (long lists stay readable). */
export const TABLE_STYLE = {
  style: { head: [] as string[], border: [] as string[] },
  chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
};

/**
 * A Locrit as tables show it: its folder, then the display name the application shows when the
 * configuration names it and it differs ("bob_technique (Bob Technique)"), and "inactive" when
 * the registry says `active: false`.
 */
export function locritLabel(l: { name: string; displayName?: string | null; active?: boolean | null }, colors?: ChalkInstance): string {
  const display = l.displayName && l.displayName !== l.name ? ` (${l.displayName})` : '';
  const inactive = l.active === false ? (colors ? colors.dim(' inactive') : ' inactive') : '';
  return `${l.name}${display}${inactive}`;
}

/** `1 message`, `2 messages`, `1,500 messages`: the noun agrees with the count. */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return n === 1 ? singular : pluralForm;
}

/** A count with its noun: `1 message`, `1,500 messages`. */
export function counted(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count(n)} ${plural(n, singular, pluralForm)}`;
}
