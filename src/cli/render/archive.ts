/** The summary table of `archive` and `emergency-cleanup`, with the per-rule plan under it. */
import path from 'node:path';
import type { ChalkInstance } from 'chalk';
import type { LocritRetention, RetentionReport } from '../../commands/archive.js';
import { describeSource } from '../../config/sources.js';
import { bytes, count, fittedTable, locritLabel, status, type TableWidth } from '../format.js';

const arrow = (before: string, after: string): string => (before === after ? before : `${before} → ${after}`);

function statusText(colors: ChalkInstance, l: LocritRetention): string {
  if (l.status === 'done') return colors.green('done');
  if (l.status === 'planned') return colors.cyan('planned');
  if (l.status === 'nothing-to-do') return colors.dim('nothing to do');
  return status(colors, l.status);
}

/** Stored wall-clock "2026-10-01 12:00:00.123456" -> "2026-10-01 12:00". */
function when(stamp: string | null | undefined): string {
  return stamp ? stamp.slice(0, 16) : '-';
}

export interface RetentionView extends TableWidth {
  /** --quiet: the table and what went wrong, without the per-Locrit detail lines. */
  quiet?: boolean;
}

/** Whether a dry run's plan rebuilds this Locrit's file (the only way it gives bytes back). */
const compacts = (l: LocritRetention): boolean => l.compactionPlanned !== null && l.compactionPlanned !== undefined;

export function retentionTable(report: RetentionReport, colors: ChalkInstance, verbose = false, asking = false, view: RetentionView = { width: null }): string {
  const dry = report.dryRun;
  const head = ['Locrit', 'Status', 'Messages', 'File', dry ? 'To archive' : report.options.archive ? 'Archived' : 'Deleted', 'Spared', ...(report.options.stripEmbeddings ? ['Emb. stripped'] : []), dry ? 'Bytes back (est.)' : 'Archive'];
  const table: string[][] = [];
  // Archive folders are shown under the archive folder, which the line under the table names.
  const archiveShown = (folder: string): string => (folder.startsWith(report.archiveDir + path.sep) ? path.relative(report.archiveDir, folder) : folder);
  for (const l of report.locrits) {
    if (l.status === 'unavailable') {
      table.push([locritLabel(l, colors), statusText(colors, l), '-', '-', '-', '-', ...(report.options.stripEmbeddings ? ['-'] : []), '-']);
      continue;
    }
    const before = l.before!;
    const after = l.after!;
    const file = after.dbBytes === null || after.dbBytes === undefined ? bytes(before.dbBytes) : arrow(bytes(before.dbBytes), bytes(after.dbBytes));
    table.push([
      locritLabel(l, colors),
      statusText(colors, l),
      arrow(count(before.messages), count(after.messages)),
      file,
      count(dry ? l.selected : report.options.archive ? l.archived : l.deleted),
      count(l.spared),
      ...(report.options.stripEmbeddings ? [l.embeddings ? `${count(l.embeddings.stripped)} (${bytes(l.embeddings.bytesFreed)})` : '-'] : []),
      dry ? (compacts(l) ? bytes(l.expectedBytesBack) : '-') : l.archive ? archiveShown(l.archive.path) : '-',
    ]);
  }
  const t = report.total;
  if (report.locrits.length > 1) {
    table.push([
      colors.bold(`total (${t.locrits})`),
      t.unavailable ? colors.red(`${t.unavailable} unavail.`) : '',
      arrow(count(t.messagesBefore), count(t.messagesAfter)),
      dry ? bytes(t.dbBytesBefore) : arrow(bytes(t.dbBytesBefore), bytes(t.dbBytesAfter)),
      count(dry ? t.selected : report.options.archive ? t.archived : t.deleted),
      count(t.spared),
      ...(report.options.stripEmbeddings ? [count(t.embeddingsStripped)] : []),
      dry ? (report.locrits.some(compacts) ? bytes(report.locrits.filter(compacts).reduce((sum, l) => sum + (l.expectedBytesBack ?? 0), 0)) : '-') : '',
    ]);
  }
  const stripColumn = report.options.stripEmbeddings ? [6] : [];
  const lines = [fittedTable(head, table, { ...view, dropOrder: [...stripColumn, 5, 3], shrink: head.length - 1 }, colors)];
  for (const l of report.locrits) lines.push(...notes(report, l, colors, verbose, Boolean(view.quiet)));
  const growing = dry ? report.locrits.filter((l) => (l.selected ?? 0) > 0 && !compacts(l)) : [];
  if (growing.length > 0 && !view.quiet) {
    lines.push(`  ${growing.map((l) => l.name).join(', ')}: the file will not shrink (Kuzu reuses freed pages, it never gives them back); ${report.command === 'archive' ? 'add --compact' : 'drop --no-compact'} to rebuild it`);
  }
  if (!dry && !view.quiet && report.locrits.some((l) => l.archive)) lines.push(`Archives in ${report.archiveDir}${path.sep}`);
  if (!dry && !view.quiet && t.diskBefore !== undefined && (t.diskBefore !== t.diskAfter || t.archiveBytes > 0)) {
    const archives = t.archiveBytes > 0 ? `; archives written: ${bytes(t.archiveBytes)}` : '';
    lines.push(`Disk (kuzu.db, WAL and backups, the ones this run made included): ${bytes(t.diskBefore)} → ${bytes(t.diskAfter)}${archives}`);
  }
  if (verbose) {
    // The limits this run measured against, with where each came from (flags override the configuration).
    const shown = { maxMessagesPerLocrit: 'max_messages_per_locrit', maxDbSizeMb: 'max_db_size_mb', maxMessagesPerConversation: 'max_messages_per_conversation' } as const;
    const limits = (Object.keys(shown) as (keyof typeof shown)[])
      .map((name) => `${shown[name]} ${count(report.settings[name])} (${describeSource(report.settingSources[name])})`);
    lines.push(colors.dim(`limits: ${limits.join(', ')}`));
  }
  if (dry && report.options.archive && !view.quiet) lines.push(`Archives go to ${path.join(report.archiveDir, '<locrit>', '<UTC time>')}${path.sep}`);
  if (dry && !asking) lines.push(colors.dim('Dry run: nothing was changed. Run without --dry-run to do it.'));
  return `${lines.join('\n')}\n`;
}

function notes(report: RetentionReport, l: LocritRetention, colors: ChalkInstance, verbose: boolean, quiet: boolean): string[] {
  const out: string[] = [];
  if (l.error) {
    out.push(`${colors.red('✗')} ${l.name}: ${l.error.message}${l.error.hint ? `\n    Try: ${l.error.hint}` : ''}`);
    return out;
  }
  const i = l.interrupted;
  if (i) {
    const what = {
      finished: `finished an interrupted run: deleted ${count(i.deleted)} messages already archived in ${i.archive}`,
      'rolled-back': `rolled back an interrupted run (removed ${i.removed.join(', ')}); nothing had been deleted`,
      'cleaned-up': `cleaned up after an interrupted run${i.removed.length ? ` (removed ${i.removed.join(', ')})` : ''}`,
      'would-finish': `an interrupted run will be finished first (its archive ${i.archive} is complete)`,
      'would-roll-back': 'an interrupted run will be rolled back first (its archive is incomplete)',
      'would-clean-up': `leftovers of an interrupted compaction will be removed (${i.removed.join(', ')})`,
    }[i.action];
    out.push(`${colors.yellow('!')} ${l.name}: ${what}`);
  }
  for (const rule of quiet ? [] : (l.rules ?? [])) {
    if (!rule.applies && !verbose) continue;
    if (rule.selected === 0 && rule.spared === 0 && !verbose) continue;
    const head = `  ${l.name} ${colors.bold(rule.rule)}: `;
    if (!rule.applies) {
      out.push(`${head}${colors.dim(`not applied (${rule.reason})`)}`);
      continue;
    }
    const cutoff = typeof rule.parameters.cutoff === 'string' ? `, cutoff ${rule.parameters.cutoff}` : '';
    const range = rule.selected > 0 ? `, oldest ${when(rule.oldest)}, newest ${when(rule.newest)}` : '';
    const sessions = rule.rule === 'conversation-size' ? `, ${count(Number(rule.detail.sessionsOverCap ?? 0))} session${Number(rule.detail.sessionsOverCap ?? 0) === 1 ? '' : 's'} over the cap` : '';
    out.push(`${head}${count(rule.selected)} messages (${rule.reason}${cutoff}${sessions}${range})${rule.spared ? `, ${count(rule.spared)} critical spared` : ''}`);
  }
  for (const limit of l.limits ?? []) {
    if (limit.met !== false) continue;
    // archive acts on the conversation cap; the per-Locrit limits are emergency-cleanup's, which it names.
    const ours = report.command === 'emergency-cleanup' ? limit.name !== 'max_messages_per_conversation' : limit.name === 'max_messages_per_conversation';
    const value = limit.name === 'max_db_size_mb' ? `${bytes(limit.after)} > ${bytes(limit.limit)}` : `${count(limit.after)} > ${count(limit.limit)}`;
    const why = !ours
      ? ` (archive does not act on it: run \`locrit-mem emergency-cleanup --dry-run ${l.name}\`)`
      : l.spared && limit.name !== 'max_db_size_mb' ? ` (${count(l.spared)} critical messages spared)` : limit.name === 'max_db_size_mb' && !l.compaction ? ' (the file only shrinks when compacted)' : '';
    out.push(`${colors.red('✗')} ${l.name}: ${limit.name} still not met: ${value}${why}`);
  }
  if (quiet) return out;
  if (l.compaction && !l.compaction.swapped) {
    out.push(`  ${l.name} rebuilt and verified, but the copy (${bytes(l.compaction.rebuiltBytes)}) was not smaller: the original file was kept`);
  } else if (l.compaction) {
    out.push(`  ${l.name} compacted: ${bytes(l.compaction.beforeBytes)} → ${bytes(l.compaction.afterBytes)}, ${l.compaction.tables} tables and ${l.compaction.vectorIndexes.length} vector indexes verified; old file kept as ${l.compaction.backup}`);
  } else if (l.compactionPlanned) {
    const owed = l.compactionOwed ? `; earlier runs deleted messages without compacting since ${l.compactionOwed.since.slice(0, 10)}, about ${bytes(l.compactionOwed.bytes)} to give back` : '';
    out.push(`  ${l.name} would be compacted (needs about ${bytes(l.compactionPlanned.neededBytes)} free disk, ${bytes(l.compactionPlanned.freeBytes)} free${owed})`);
  } else if (l.compactionOwed && !l.compaction) {
    out.push(`  ${l.name}: messages deleted without compacting since ${l.compactionOwed.since.slice(0, 10)} hold about ${bytes(l.compactionOwed.bytes)} in the file; ${report.command === 'archive' ? 'add --compact' : 'drop --no-compact'} to give it back`);
  }
  if (verbose && l.archive) out.push(`  ${l.name} archive: ${l.archive.path} (${l.archive.files} files, ${bytes(l.archive.bytes)}, id digest ${l.archive.idDigest.slice(0, 16)}…)`);
  return out;
}
