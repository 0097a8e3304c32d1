/**
 * What is wrong with one Locrit and what recover does about it, decided from what was
 * observed (files, locks, a read-only probe in a worker). Pure, so the order of the cases and
 * the plan an operator sees with --dry-run are easy to test.
 */
import type { ErrorReport, LockHolder } from '../errors.js';
import { NODE_TABLES, REL_TABLES } from '../schema/locrit.js';
import type { Inspection } from '../store/inspect.js';
import type { RecoverProblem, RepairAction } from './types.js';

export interface Observation {
  dbPath: string;
  dbExists: boolean;
  walBytes: number | null;
  holder: LockHolder | null;
  /** The read-only probe (every column of every table read); null when it was not run. */
  probe: { ok: true; value: Inspection } | { ok: false; error: ErrorReport } | null;
  batchSize: number;
}

export interface Diagnosis {
  problem: RecoverProblem;
  problems: string[];
  action: RepairAction;
  plan: string[];
}

export function describeHolder(holder: LockHolder): string {
  const parts = [`pid ${holder.pid}`];
  if (holder.command) parts.push(holder.command.length > 80 ? `${holder.command.slice(0, 79)}…` : holder.command);
  if (holder.rssBytes !== null) parts.push(`${Math.round(holder.rssBytes / 1024 / 1024)} MiB RSS`);
  if (holder.cpuPercent !== null) parts.push(`${holder.cpuPercent}% CPU`);
  return parts.join(', ');
}

const TABLE_ORDER = [...NODE_TABLES, ...REL_TABLES].map((t) => t.name);

function rows(counts: Record<string, number>): string {
  const rank = (t: string): number => (TABLE_ORDER.includes(t) ? TABLE_ORDER.indexOf(t) : TABLE_ORDER.length);
  return Object.entries(counts)
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ') || 'no rows';
}

/** One problem, found in the words of `found`, and what recover does about it. */
function verdict(problem: RecoverProblem, action: RepairAction, found: string, plan: string[]): Diagnosis {
  return { problem, problems: [found], action, plan };
}

export function diagnose(o: Observation): Diagnosis {
  // Held by a running process: never touch it.
  if (o.holder) {
    return verdict('in-use', 'refuse', `held by a running process: ${describeHolder(o.holder)}`, [`refuse: ${o.dbPath} is open in pid ${o.holder.pid}; stop that process first, or rerun with --wait <seconds>`]);
  }
  if (!o.dbExists) {
    return verdict('missing', 'report', `${o.dbPath} does not exist${o.walBytes !== null ? ` (a WAL of ${o.walBytes} bytes is there without it)` : ''}`, ['nothing to repair in place: restore the newest backup or the archives (see suggestions)']);
  }
  const probe = o.probe;
  if (probe && !probe.ok) {
    if (probe.error.reason === 'in-use') {
      return verdict('in-use', 'refuse', probe.error.message, ['refuse: another process opened the database; stop it first, or rerun with --wait <seconds>']);
    }
    if (probe.error.kind === 'NotRegularFileError') {
      return verdict('check-failed', 'report', probe.error.message, ['leave it untouched: locrit-mem reads, backs up and rebuilds regular files only; move it aside, then restore a backup (see suggestions)']);
    }
    if (probe.error.reason === 'unsupported-version') {
      return verdict('unsupported-version', 'report', probe.error.message, ['leave it untouched: this Kuzu cannot read it, so nothing can be salvaged here']);
    }
    // Only Kuzu's own errors and a worker killed by a signal say 'damaged' (src/runner/pool.ts):
    // a worker that exited with a code, or a bug of ours, is no reason to rebuild a file.
    if (probe.error.reason !== 'damaged' && probe.error.reason !== 'not-kuzu') {
      // Not a sign of damage (a full buffer pool, a bug of ours): never rebuild a file for that.
      return verdict('check-failed', 'report', `the check itself failed, which does not show the file is damaged: ${probe.error.message}`, ['leave it untouched; rerun with --verbose, or with a larger kuzu.buffer_pool_mb if the buffer pool was full']);
    }
    // Cannot be opened or read: damaged, truncated, not a Kuzu file, or Kuzu crashed on it.
    return verdict('unreadable', 'salvage', probe.error.message, [
      'keep the damaged file (and its WAL) as kuzu.db.locrit-mem-damaged_<UTC stamp>',
      `salvage every table in batches of up to ${o.batchSize} rows by primary key, each read in a child process; a batch that crashes is split until the unreadable rows are found`,
      'build a fresh database with the full Locrit schema (vector indexes where embeddings exist) and load what was salvaged; relationships only where both ends came back',
      'when rows could not be read: add every readable backup (ours and the application\'s), leaving out messages a complete archive holds; the salvaged rows win where an id holds other values',
      'verify the new database (opens, row counts equal what was built, schema); swap it in atomically, unless it holds fewer messages than last known (the damaged file\'s header, a backup) or none: then only with --accept-loss or a "y" at the terminal',
      'report per table what came back and what was lost',
    ]);
  }
  // Unclean stop: a WAL beside a database that opens.
  if (o.walBytes !== null && probe?.ok) {
    return verdict('unclean-stop', 'replay-wal', `a WAL of ${o.walBytes} bytes is present: the last writer did not stop cleanly`, [
      'copy kuzu.db and kuzu.db.wal to a backup (kuzu.db.locrit-mem-recover_<UTC stamp>)',
      'replay the WAL: open read-write and CHECKPOINT',
      `verify: every table holds what a read-only open of the untouched pair showed (${rows(probe.value.counts)})`,
    ]);
  }
  return { problem: 'none', problems: [], action: 'none', plan: [] };
}
