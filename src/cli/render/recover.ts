import path from 'node:path';
import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';
import type { RecoverReport } from '../../commands/recover.js';
import type { LocritRecovery, RecoverOutcome } from '../../recover/types.js';
import { bytes, count, counted, fittedTable, locritLabel, plural, TABLE_STYLE, type TableWidth } from '../format.js';
import { leftoversLine } from './leftovers.js';

const PROBLEM_TEXT: Record<LocritRecovery['problem'], string> = {
  none: 'nothing wrong',
  requested: '(operator request)',
  'in-use': 'held by a running process',
  'unclean-stop': 'unclean stop (WAL present)',
  unreadable: 'cannot be opened or read',
  missing: 'database missing',
  'unsupported-version': 'unsupported storage version',
  'check-failed': 'check failed (not damage)',
  'unsaved-conversations': 'unsaved conversations',
  reset: 'reset: memory left in backups',
  'foreign-wal': "another file's WAL beside kuzu.db",
};

const ACTION_TEXT: Record<LocritRecovery['action'], string> = {
  none: '-',
  refuse: 'refused',
  'replay-wal': 'replay the WAL',
  salvage: 'salvage and rebuild',
  'restore-backup': 'restore a backup',
  'restore-archive': 'restore an archive',
  report: 'report',
  list: 'list',
  merge: 'merge the backups back',
  'move-foreign-wal': 'move the WAL to its file',
  'prune-backups': 'prune backups',
};

function outcome(colors: ChalkInstance, value: RecoverOutcome, l: LocritRecovery): string {
  const verified = l.verification ? (l.verification.ok ? ', verified' : ', verification FAILED') : '';
  switch (value) {
    case 'ok':
      return colors.green('ok');
    case 'repaired':
    case 'restored':
      return colors.green(`${value}${verified}`);
    case 'salvaged':
    {
      const partial = l.salvage?.tables.reduce((sum, t) => sum + t.partialRows, 0) ?? 0;
      const lost = l.salvage?.totals.lost;
      const what = lost ? `, ${count(lost)} rows lost` : lost === null ? ', losses unknown' : '';
      return (l.exitCode === 0 ? colors.green : colors.yellow)(`salvaged${verified}${what}${partial ? `, ${count(partial)} rows partly` : ''}`);
    }
    case 'merged':
      return colors.green(`merged${verified}, +${count((l.merge?.messagesAfter ?? 0) - (l.merge?.messagesBefore ?? 0))} messages`);
    case 'planned':
      return colors.cyan('planned (dry run)');
    case 'reported':
      return colors.yellow('reported');
    case 'listed':
      return 'listed';
    default:
      return colors.red(value);
  }
}

export function recoverTable(report: RecoverReport, colors: ChalkInstance, verbose = false, fit: TableWidth = { width: null }): string {
  if (report.mode === 'list') return listTable(report, colors, fit);
  const lines: string[] = [];
  if (report.dryRun) lines.push(colors.bold('Dry run: nothing will be changed.'));
  const table = report.locrits.map((l) => [locritLabel(l, colors), PROBLEM_TEXT[l.problem], ACTION_TEXT[l.action], outcome(colors, l.outcome, l)]);
  lines.push(fittedTable(['Locrit', 'Problem found', 'Action', 'Result'], table, { ...fit, dropOrder: [2], shrink: 3 }, colors));
  for (const l of report.locrits) lines.push(...details(l, colors, report.dryRun, verbose));
  if (report.conversations?.unreadable.length) {
    lines.push('', colors.yellow(`${counted(report.conversations.unreadable.length, 'conversation file')} in ${report.conversations.dir} could not be read:`));
    for (const bad of report.conversations.unreadable) lines.push(`  ${bad.file}: ${bad.error}`);
  }
  if (report.mode === 'diagnose' && report.locrits.length && report.locrits.every((l) => l.problem === 'none' && l.exitCode === 0)) {
    lines.push('', colors.green(`Nothing wrong: ${report.locrits.length === 1 ? 'the database opens' : `all ${report.locrits.length} databases open`}, every table reads${report.locrits.some((l) => l.holder) ? '' : ', no WAL left'}${report.conversations?.exists ? ', every conversation is saved' : ''}.`));
  }
  return `${lines.join('\n')}\n`;
}

function details(l: LocritRecovery, colors: ChalkInstance, dryRun: boolean, verbose: boolean): string[] {
  const leftovers = l.leftovers ?? [];
  if (l.problem === 'none' && l.action === 'none' && leftovers.length === 0 && !l.holder && !verbose) return [];
  const out: string[] = ['', colors.bold(locritLabel(l)) + colors.dim(` (${l.path})`)];
  for (const problem of l.problems) out.push(`  ${colors.yellow('!')} ${problem}`);
  if (leftovers.length > 0) out.push(`  ${colors.yellow('!')} ${leftoversLine(leftovers)}`);
  if (l.holder) {
    out.push(`  held by pid ${l.holder.pid}: ${l.holder.command ?? '(command unknown)'}`);
    out.push(`    memory ${bytes(l.holder.rssBytes)}, CPU ${l.holder.cpuPercent ?? '-'}%${l.waitedSeconds !== null ? `, waited ${l.waitedSeconds}s` : ''}`);
  }
  if (l.snapshotAt && l.holder) out.push(`  diagnosed from a private copy taken at ${l.snapshotAt}`);
  if (dryRun && l.plan.length) {
    out.push('  Plan:');
    l.plan.forEach((p, i) => out.push(`    ${i + 1}. ${p}`));
  }
  for (const s of l.steps) out.push(`  ${s.ok ? colors.green('✓') : colors.red('✗')} ${s.step}: ${s.detail}`);
  if (l.replay) {
    const delta = Object.entries(l.replay.replayed).map(([t, n]) => `${t} ${n > 0 ? '+' : ''}${n}`).join(', ');
    out.push(`  replayed from the WAL: ${delta || (l.replay.countsBefore ? 'no row changes' : 'unknown (kuzu.db alone could not be read)')}`);
  }
  if (l.salvage) {
    const s = l.salvage;
    const t = new Table({ head: ['Table', 'Expected', 'Recovered', 'Lost', 'Notes'].map((h) => colors.bold(h)), ...TABLE_STYLE });
    for (const row of s.tables) {
      const notes = [...(row.partialRows ? [`${counted(row.partialRows, 'row')} kept with ${row.nulledColumns.join(', ')} unreadable (set to NULL)`] : []), ...(row.lostIdCount ? [`${count(row.lostIdCount)} unreadable ${plural(row.lostIdCount, 'row')}${row.lostIds.length ? `: ${row.lostIds.slice(0, 3).join(', ')}${row.lostIdCount > 3 ? ', …' : ''}` : ''}`] : []), ...row.notes];
      t.push([row.table, row.expected === null ? '?' : count(row.expected), count(row.recovered), row.lost === null ? '?' : row.lost ? colors.red(count(row.lost)) : '0', notes.join('; ').slice(0, 110)]);
    }
    if (s.opened) out.push(t.toString().split('\n').map((line) => `  ${line}`).join('\n'));
    const partial = s.tables.reduce((sum, t) => sum + t.partialRows, 0);
    out.push(`  total: ${s.totals.expected === null ? 'unknown number of' : count(s.totals.expected)} ${plural(s.totals.expected ?? 2, 'row')} expected, ${count(s.totals.recovered)} recovered${partial ? ` (${count(partial)} with unreadable columns set to NULL)` : ''}, ${s.totals.lost === null ? 'unknown' : count(s.totals.lost)} lost.`);
    out.push('  Kuzu keeps no page checksums: recovered rows may still hold damaged values; compare with a backup when one exists.');
  }
  if (l.merge && (l.merge.resets.length || l.merge.sources.length)) {
    const m = l.merge;
    const t = new Table({ head: ['Source', 'Messages', 'Brought back', 'In archives', 'Made'].map((h) => colors.bold(h)), ...TABLE_STYLE });
    if (m.sources.length) {
      for (const s of m.sources) t.push([path.basename(s.path) + (s.walUsed ? ' (+ WAL)' : ''), count(s.messages), s.role === 'current' ? '(current)' : count(s.messagesAdded), count(s.archivedLeftOut), m.resets.find((r) => r.backup === s.path)?.createdAt ?? '-']);
    } else {
      for (const r of m.resets) t.push([path.basename(r.backup), count(r.held), colors.yellow(count(r.missing)), '-', r.createdAt ?? '-']);
    }
    out.push(t.toString().split('\n').map((line) => `  ${line}`).join('\n'));
    if (m.messagesAfter !== null) out.push(`  messages: ${count(m.messagesBefore)} before, ${count(m.messagesAfter)} after`);
    else out.push(`  ${count(m.missingMessages)} message(s) to bring back; kuzu.db holds ${count(m.messagesBefore)}`);
    if (m.conflictCount) out.push(`  ${count(m.conflictCount)} id(s) held other values in a backup; kuzu.db's were kept: ${m.conflicts.slice(0, 5).map((c) => `${c.table} ${c.id}`).join(', ')}${m.conflictCount > 5 ? ', …' : ''}`);
  }
  if (l.pruned?.length) {
    const t = new Table({ head: ['Backup', 'Made', 'Size', 'Messages', 'Nowhere else', 'Result'].map((h) => colors.bold(h)), ...TABLE_STYLE });
    for (const p of l.pruned) {
      const result = p.removed ? colors.green('removed') : p.removable ? (dryRun ? colors.cyan('would be removed') : colors.yellow('kept (changed)')) : 'kept';
      t.push([path.basename(p.path), p.createdAt ?? '-', bytes(p.bytes), p.held === null ? '?' : count(p.held), p.missing === null ? '?' : p.missing ? colors.yellow(count(p.missing)) : '0', result]);
    }
    out.push(t.toString().split('\n').map((line) => `  ${line}`).join('\n'));
  } else if (l.pruned) {
    out.push('  no backup');
  }
  if (l.archiveRestore?.messages) {
    const a = l.archiveRestore;
    out.push(`  archive ${a.archive}: ${counted(a.messages!.created, 'message')} restored, ${count(a.messages!.alreadyPresent)} already present`);
  }
  if (l.conversations?.unsaved.length) {
    const t = new Table({ head: ['Conversation', 'Session', 'Recorded', 'Stored', 'Archived', 'Missing', 'Last activity'].map((h) => colors.bold(h)), ...TABLE_STYLE });
    for (const u of l.conversations.unsaved) t.push([u.conversationId, u.sessionId, count(u.recorded), count(u.stored), count(u.archived), colors.red(count(u.missing)), u.lastActivity ?? '-']);
    out.push('  Unsaved conversations (message_count in the conversation file exceeds what was saved):');
    out.push(t.toString().split('\n').map((line) => `  ${line}`).join('\n'));
  } else if (l.conversations && verbose) {
    out.push(`  conversations: ${l.conversations.checked} checked, all saved`);
  }
  if (l.verification && !l.verification.ok) out.push(colors.red(`  verification failed: ${l.verification.problems.join('; ')}`));
  if (l.error && !l.holder) out.push(colors.red(`  ${l.error.message}`) + (l.error.hint ? `\n    Try: ${l.error.hint}` : ''));
  if (l.suggestions.length) {
    out.push('  Next:');
    for (const s of l.suggestions) out.push(`    ${s}`);
  }
  return out;
}

function listTable(report: RecoverReport, colors: ChalkInstance, fit: TableWidth): string {
  const lines: string[] = [];
  for (const l of report.locrits) {
    lines.push(colors.bold(locritLabel(l)) + colors.dim(` (${l.path})`));
    // On a narrow terminal the paths are shown by name, under the folders named here: a path cut short is of no use.
    const short = fit.width !== null;
    const shown = (p: string): string => (short ? path.basename(p) : p);
    if (short) {
      const folders = [...new Set([...(l.backups ?? []).map((b) => path.dirname(b.path)), ...(l.archives ?? []).map((a) => path.dirname(a.folder))])];
      for (const folder of folders) lines.push(colors.dim(`  in ${folder}${path.sep}`));
    }
    const t: string[][] = [];
    for (const b of l.backups ?? []) {
      t.push([
        b.madeBy === 'application' ? 'backup (application)' : 'backup (locrit-mem)',
        b.createdAt ?? '-',
        `${bytes(b.bytes)}${b.walBytes !== null ? ` + WAL ${bytes(b.walBytes)}` : ''}`,
        b.readable ? count(b.messages) : colors.red('unreadable'),
        shown(b.path),
      ]);
    }
    for (const a of l.archives ?? []) {
      t.push([
        a.complete ? `archive${a.reason ? ` (${a.rules.join(', ') || a.reason})` : ''}` : colors.yellow('archive (incomplete)'),
        a.createdAt ?? '-',
        bytes(a.bytes),
        a.messages === null ? '-' : count(a.messages),
        shown(a.folder),
      ]);
    }
    if ((l.backups?.length ?? 0) + (l.archives?.length ?? 0) === 0) lines.push('  no backup and no archive');
    else lines.push(fittedTable(['Kind', 'Made', 'Size', 'Messages', 'Path'], t, { ...fit, dropOrder: [1, 3], shrink: 0 }, colors));
    lines.push('');
  }
  return `${lines.join('\n')}`;
}
