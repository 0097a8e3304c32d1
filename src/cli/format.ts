/** Human formatting of sizes, counts, ages and statuses for the tables. */
import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';
export { counted, plural } from './words.js';

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

/** How wide a table may be: the terminal's width, or null (off a terminal, or --wide): no limit. */
export interface TableWidth {
  width: number | null;
}

const visibleLength = (text: string): number => [...text.replace(/\x1b\[[0-9;]*m/g, '')].length;

/**
 * A table that fits `width` columns: the columns of `dropOrder` go first, in that order, until
 * it fits; if it still does not, the `shrink` column is cut (`…`). A table never wraps: a wrapped
 * row falls apart into fragments. The note says which columns were left out, and how to see them.
 */
export function fittedTable(
  head: string[],
  rows: string[][],
  options: TableWidth & { dropOrder?: number[]; shrink?: number },
  colors: ChalkInstance,
): string {
  const render = (columns: number[], colWidths?: (number | null)[]): string => {
    const table = new Table({ head: columns.map((i) => colors.bold(head[i])), ...TABLE_STYLE, ...(colWidths ? { colWidths, wordWrap: false } : {}) });
    for (const row of rows) table.push(columns.map((i) => row[i] ?? ''));
    return table.toString();
  };
  const widthOf = (text: string): number => Math.max(0, ...text.split('\n').map(visibleLength));
  let kept = head.map((_, i) => i);
  let text = render(kept);
  if (options.width === null || widthOf(text) <= options.width) return text;
  const hidden: string[] = [];
  for (const drop of options.dropOrder ?? []) {
    if (widthOf(text) <= options.width) break;
    kept = kept.filter((i) => i !== drop);
    hidden.push(head[drop]);
    text = render(kept);
  }
  const excess = widthOf(text) - options.width;
  if (excess > 0 && options.shrink !== undefined && kept.includes(options.shrink)) {
    const natural = Math.max(visibleLength(head[options.shrink]), ...rows.map((row) => visibleLength(row[options.shrink!] ?? ''))) + 2;
    text = render(kept, kept.map((i) => (i === options.shrink ? Math.max(8, natural - excess) : null)));
  }
  return hidden.length > 0 ? `${text}\n${colors.dim(`(not shown, to fit: ${hidden.join(', ')}; --wide shows all)`)}` : text;
}
