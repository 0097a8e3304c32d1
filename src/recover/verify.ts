/** The verification that ends every repair, as a pure comparison of what a fresh read-only open showed. */
import type { ErrorReport } from '../errors.js';
import type { Inspection } from '../store/inspect.js';
import type { TableCounts } from '../store/salvageQueries.js';
import type { TableMismatch, Verification } from './types.js';

export function verifyInspection(
  path: string,
  inspection: { ok: true; value: Inspection } | { ok: false; error: ErrorReport },
  expected: TableCounts | null,
  /** allowedMissing: Locrit tables/columns the file lacked before the repair (an older database); null = the full schema is required. */
  options: { walLeft: boolean; allowedMissing: string[] | null },
): Verification {
  if (!inspection.ok) {
    return {
      ok: false, path, opened: false, error: inspection.error.message, counts: null, expected, mismatches: [], schemaMissing: [], vectorIndexes: [],
      walLeft: options.walLeft, problems: [`the database does not open: ${inspection.error.message}`],
    };
  }
  const found = inspection.value;
  const mismatches = compareCounts(expected, found.counts);
  const problems: string[] = [];
  for (const m of mismatches) problems.push(`${m.table}: ${m.found ?? 'no table'} rows, expected ${m.expected ?? 'no table'}`);
  const lacking = found.schemaMissing.filter((m) => !(options.allowedMissing ?? []).includes(m));
  if (lacking.length) problems.push(`schema lacks ${lacking.join(', ')}`);
  if (options.walLeft) problems.push('a WAL is still beside the database');
  return {
    ok: problems.length === 0,
    path,
    opened: true,
    error: null,
    counts: found.counts,
    expected,
    mismatches,
    schemaMissing: found.schemaMissing,
    vectorIndexes: found.vectorIndexes,
    walLeft: options.walLeft,
    problems,
  };
}

export function compareCounts(expected: TableCounts | null, found: TableCounts): TableMismatch[] {
  if (!expected) return [];
  const tables = [...new Set([...Object.keys(expected), ...Object.keys(found)])].sort();
  return tables
    .filter((t) => (expected[t] ?? null) !== (found[t] ?? null))
    .map((t) => ({ table: t, expected: expected[t] ?? null, found: found[t] ?? null }));
}

/** found - before, per table (what a WAL replay added). */
export function countDelta(before: TableCounts | null, after: TableCounts): Record<string, number> {
  const delta: Record<string, number> = {};
  if (!before) return delta;
  for (const table of Object.keys(after)) {
    const d = after[table] - (before[table] ?? 0);
    if (d !== 0) delta[table] = d;
  }
  return delta;
}
