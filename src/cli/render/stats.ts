import type { ChalkInstance } from 'chalk';
import type { LocritStats, StatsReport } from '../../commands/stats.js';
import { describeSource } from '../../config/sources.js';
import { leftoversLine } from './leftovers.js';
import { age, bytes, count, counted, fittedTable, locritLabel, percent, status, type TableWidth } from '../format.js';

/** Columns of the stats table, and the order they are left out in to fit a narrow terminal. */
const STATS_HEAD = ['Locrit', 'Status', 'DB file', 'WAL', 'Backups', 'Messages', 'Embedded', 'Emb. stored', 'Sessions (largest)', 'Oldest', 'Lost in reset', 'In use'];
const STATS_DROP_ORDER = [7, 6, 4, 9, 8, 3, 10];

export function statsTable(report: StatsReport, colors: ChalkInstance, verbose = false, fit: TableWidth = { width: null }): string {
  const table: string[][] = [];
  for (const l of report.locrits) {
    const db = l.database;
    table.push([
      locritLabel(l, colors),
      status(colors, l.status),
      bytes(l.files.dbBytes),
      l.files.walPresent ? colors.yellow(bytes(l.files.walBytes)) : '-',
      l.files.backupCount ? `${l.files.backupCount} (${bytes(l.files.backupBytes)})` : '-',
      count(db?.messages),
      db ? `${percent(db.messagesWithEmbedding, db.messages)} x${db.embeddingDimension ?? '-'}` : '-',
      bytes(db?.storedEmbeddingBytes.total),
      db ? `${count(db.sessions)} (${count(db.largestSession?.messages ?? 0)})` : '-',
      db ? age(db.oldestMessageAgeSeconds) : '-',
      l.resets.missingMessages ? colors.red(`${count(l.resets.missingMessages)} (${l.resets.backups.length} backup${l.resets.backups.length > 1 ? 's' : ''})`) : l.resets.foreignWal ? colors.red('foreign WAL') : '-',
      l.inUse ? colors.red(`pid ${l.inUse.pid}${l.inUse.rssBytes !== null ? `, ${bytes(l.inUse.rssBytes)}` : ''}${l.inUse.cpuPercent !== null ? `, ${l.inUse.cpuPercent}% CPU` : ''}`) : 'no',
    ]);
  }
  const t = report.total;
  if (report.locrits.length > 1) {
    table.push([
      colors.bold(`total (${t.locrits})`),
      t.unavailable ? colors.red(`${t.unavailable} unavail.`) : t.over ? colors.red(`${t.over} over`) : t.warn ? colors.yellow(`${t.warn} warn`) : colors.green('ok'),
      bytes(t.dbBytes),
      t.walBytes ? bytes(t.walBytes) : '-',
      t.backupCount ? `${t.backupCount} (${bytes(t.backupBytes)})` : '-',
      count(t.messages),
      percent(t.messagesWithEmbedding, t.messages),
      bytes(t.storedEmbeddingBytes),
      count(t.sessions),
      '',
      '',
      '',
    ]);
  }
  const lines = [fittedTable(STATS_HEAD, table, { ...fit, dropOrder: STATS_DROP_ORDER, shrink: 0 }, colors)];
  lines.push(...notes(report.locrits, colors));
  for (const l of report.locrits) if (l.database?.sessionList) lines.push(...sessionLines(l, report.limits.max_messages_per_conversation, colors, fit));
  if (verbose) lines.push(...configuration(report), ...details(report.locrits));
  return `${lines.join('\n')}\n`;
}

/** One line for each thing an operator should act on, with the command to run. */
function notes(locrits: LocritStats[], colors: ChalkInstance): string[] {
  const out: string[] = [];
  for (const l of locrits) {
    if (l.leftovers.length > 0) out.push(`${colors.yellow('!')} ${l.name}: ${leftoversLine(l.leftovers)}`);
    if (l.error) {
      out.push(`${colors.red('✗')} ${l.name}: ${l.error.message}${l.error.hint ? `\n    Try: ${l.error.hint}` : ''}`);
      continue;
    }
    for (const backup of l.resets.backups) {
      const restart = l.resets.currentFirstMessageAt ? `; the current file starts at ${l.resets.currentFirstMessageAt}` : '';
      out.push(`${colors.red('✗')} ${l.name}: reset: ${backup.name} (made ${backup.createdAt ?? 'at an unknown time'}) holds ${count(backup.held)} messages, ${count(backup.missing)} of them neither in kuzu.db nor in an archive${restart}; run \`locrit-mem recover ${l.name}\` to merge them back`);
    }
    if (l.resets.foreignWal) out.push(`${colors.red('✗')} ${l.name}: kuzu.db.wal was written by another database file (${l.resets.foreignWal.reason}); run \`locrit-mem recover ${l.name}\``);
    if (l.salvagedWithLosses) {
      const m = l.salvagedWithLosses;
      out.push(`${colors.red('✗')} ${l.name}: salvaged with losses${m.at ? ` on ${m.at}` : ''}: ${count(m.messages)} message(s)${m.lastKnown !== null ? ` of ${count(m.lastKnown)} last known (${m.lastKnownFrom})` : ''}; once dealt with: \`locrit-mem recover ${l.name} --acknowledge-loss\``);
    }
    for (const backup of l.resets.unreadableBackups) out.push(`${colors.yellow('!')} ${l.name}: backup ${backup.name} cannot be read: ${backup.error}`);
    if (l.files.uncleanStop && !l.resets.foreignWal) out.push(`${colors.yellow('!')} ${l.name}: a WAL is present and no process holds the database (the last writer did not stop cleanly); run \`locrit-mem recover ${l.name}\``);
    for (const limit of l.limits) {
      if (limit.status === 'ok') continue;
      const mark = limit.status === 'over' ? colors.red('✗') : colors.yellow('!');
      const what = limit.name === 'max_db_size_mb'
        ? `file ${bytes(limit.value)} against max_db_size_mb ${bytes(limit.limit as number)}`
        : limit.name === 'enable_embeddings'
          ? `${count(limit.value)} embeddings stored while enable_embeddings is false`
          : `${count(limit.value)} against ${limit.name} ${count(limit.limit as number)}${limit.source && limit.source.key !== `memory.${limit.name}` ? ` (${limit.source.key})` : ''}`;
      out.push(`${mark} ${l.name}: ${limit.status}: ${what}`);
    }
  }
  return out;
}

/** The limits with where each came from, and the notes on the configuration (info level). */
function configuration(report: StatsReport): string[] {
  const limits = report.limits;
  const shown: Record<keyof typeof limits, string> = {
    max_db_size_mb: limits.max_db_size_mb > 0 ? bytes(limits.max_db_size_mb * 1024 * 1024) : '0 (no limit)',
    max_messages_per_locrit: limits.max_messages_per_locrit > 0 ? count(limits.max_messages_per_locrit) : '0 (no limit)',
    max_messages_per_conversation: limits.max_messages_per_conversation > 0 ? count(limits.max_messages_per_conversation) : '0 (no limit)',
    enable_embeddings: String(limits.enable_embeddings),
  };
  const out = ['', `config: ${report.configFile ?? 'none (built-in defaults)'}`];
  for (const name of Object.keys(shown) as (keyof typeof limits)[]) out.push(`  ${name}: ${shown[name]}, from ${describeSource(report.limitSources[name])}`);
  for (const note of report.configNotes) out.push(`  note: ${note.message}`);
  return out;
}

function details(locrits: LocritStats[]): string[] {
  const out: string[] = [];
  for (const l of locrits) {
    if (!l.database) continue;
    const db = l.database;
    out.push('', `${locritLabel(l)} (${l.path})`);
    if (l.snapshotAt) out.push(`  read from a private copy taken at ${l.snapshotAt}${l.inUse ? ` while pid ${l.inUse.pid} held the database` : ''}`);
    out.push(`  nodes: ${Object.entries(db.nodeRows).map(([k, v]) => `${k} ${count(v)}`).join(', ')}`);
    out.push(`  relationships: ${Object.entries(db.relRows).map(([k, v]) => `${k} ${count(v)}`).join(', ')}`);
    out.push(`  embeddings: estimated ${bytes(db.estimatedEmbeddingBytes)} (messages x ${db.embeddingDimension ?? '-'} x 4 B), stored ${bytes(db.storedEmbeddingBytes.total)} (Message ${bytes(db.storedEmbeddingBytes.Message)}, Memory ${bytes(db.storedEmbeddingBytes.Memory)}, Concept ${bytes(db.storedEmbeddingBytes.Concept)})`);
    out.push(`  messages: oldest ${db.oldestMessageAt ?? '-'} (${age(db.oldestMessageAgeSeconds)} ago), newest ${db.newestMessageAt ?? '-'} (${age(db.newestMessageAgeSeconds)} ago)`);
    out.push(`  largest session: ${db.largestSession ? `${db.largestSession.id} (${count(db.largestSession.messages)} messages)` : '-'}; conversation memory estimate ${bytes(db.conversationMemoryEstimateBytes)}`);
  }
  return out;
}

/** node_exporter textfile-collector format: one gauge family per figure, `locrit` label. */
export function statsPrometheus(report: StatsReport): string {
  const families = new Map<string, { help: string; samples: string[] }>();
  const gauge = (name: string, help: string, labels: Record<string, string>, value: number | null | undefined): void => {
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    const family = families.get(name) ?? { help, samples: [] };
    families.set(name, family);
    const labelText = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
    family.samples.push(`locrit_${name}{${labelText}} ${value}`);
  };
  for (const l of report.locrits) {
    const locrit = { locrit: l.name };
    if (l.displayName !== null) {
      const info = { ...locrit, display_name: l.displayName, active: l.active === null ? '' : String(l.active), memory_service: l.memoryService ?? '' };
      gauge('info', "The Locrit as the application's registry names it (always 1).", info, 1);
    }
    gauge('up', 'Whether the database could be read (1) or not (0).', locrit, l.database ? 1 : 0);
    gauge('in_use', 'Whether another process holds the database open.', locrit, l.inUse ? 1 : 0);
    gauge('holder_rss_bytes', 'Resident memory of the process holding the database.', locrit, l.inUse?.rssBytes);
    gauge('holder_cpu_percent', 'CPU use of the process holding the database.', locrit, l.inUse?.cpuPercent);
    gauge('db_size_bytes', 'Size of kuzu.db.', locrit, l.files.dbBytes);
    gauge('wal_size_bytes', 'Size of kuzu.db.wal (0 when absent).', locrit, l.files.walBytes ?? 0);
    gauge('wal_present', 'A WAL is present (normal while a process holds the database).', locrit, l.files.walPresent ? 1 : 0);
    gauge('unclean_stop', 'A WAL is present and no process holds the database: the last writer did not stop cleanly.', locrit, l.files.uncleanStop ? 1 : 0);
    gauge('snapshot_timestamp_seconds', 'When the copy the figures were read from was taken.', locrit, l.snapshotAt ? Date.parse(l.snapshotAt) / 1000 : null);
    gauge('backup_files', 'Backups beside the database.', locrit, l.files.backupCount);
    gauge('backup_bytes', 'Bytes held by backups beside the database.', locrit, l.files.backupBytes);
    gauge('reset_missing_messages', 'Messages only backups hold (neither kuzu.db nor a complete archive): lost in a reset until merged back.', locrit, l.resets.missingMessages);
    gauge('reset_backups', 'Backups holding messages found nowhere else.', locrit, l.resets.backups.length);
    gauge('backups_unreadable', 'Backups that cannot be read.', locrit, l.resets.unreadableBackups.length);
    gauge('salvaged_with_losses', 'A salvage with fewer messages than last known was swapped in and not yet acknowledged.', locrit, l.salvagedWithLosses ? 1 : 0);
    gauge('foreign_wal', 'A WAL written by another database file lies beside kuzu.db.', locrit, l.resets.foreignWal ? 1 : 0);
    gauge('limit_status', 'Status against each limit: 0 ok, 1 warn, 2 over.', { ...locrit, limit: 'any' }, l.status === 'over' ? 2 : l.status === 'warn' ? 1 : l.status === 'ok' ? 0 : null);
    for (const limit of l.limits) gauge('limit_status', 'Status against each limit: 0 ok, 1 warn, 2 over.', { ...locrit, limit: limit.name }, limit.status === 'over' ? 2 : limit.status === 'warn' ? 1 : 0);
    const db = l.database;
    if (!db) continue;
    gauge('messages', 'Messages stored.', locrit, db.messages);
    gauge('messages_with_embedding', 'Messages with a stored embedding.', locrit, db.messagesWithEmbedding);
    gauge('embedding_dimension', 'Embedding dimension read from the schema.', locrit, db.embeddingDimension);
    gauge('embedding_estimated_bytes', 'Seed estimate: messages x dimension x 4 bytes.', locrit, db.estimatedEmbeddingBytes);
    for (const table of ['Message', 'Memory', 'Concept'] as const) gauge('embedding_stored_bytes', 'Bytes held by stored embeddings.', { ...locrit, table }, db.storedEmbeddingBytes[table]);
    for (const [table, rows] of Object.entries(db.nodeRows)) gauge('table_rows', 'Rows per table.', { ...locrit, table, kind: 'node' }, rows);
    for (const [table, rows] of Object.entries(db.relRows)) gauge('table_rows', 'Rows per table.', { ...locrit, table, kind: 'rel' }, rows);
    gauge('sessions', 'Sessions (conversations).', locrit, db.sessions);
    gauge('largest_session_messages', 'Messages in the largest session.', locrit, db.largestSession?.messages ?? 0);
    gauge('oldest_message_timestamp_seconds', 'Unix time of the oldest message.', locrit, db.oldestMessageAt ? Date.parse(db.oldestMessageAt) / 1000 : null);
    gauge('newest_message_timestamp_seconds', 'Unix time of the newest message.', locrit, db.newestMessageAt ? Date.parse(db.newestMessageAt) / 1000 : null);
    gauge('conversation_memory_estimate_bytes', 'Conversation manager estimate: messages x 1 KiB.', locrit, db.conversationMemoryEstimateBytes);
  }
  gauge('stats_generated_timestamp_seconds', 'When these figures were read.', {}, Date.parse(report.generatedAt) / 1000);
  const lines: string[] = [];
  for (const [name, family] of families) {
    lines.push(`# HELP locrit_${name} ${family.help}`, `# TYPE locrit_${name} gauge`, ...family.samples.map((s) => s.replace('{}', '')));
  }
  return `${lines.join('\n')}\n`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `--sessions`: one row per session, largest first, with its standing against the conversation cap. */
function sessionLines(l: LocritStats, cap: number, colors: ChalkInstance, fit: TableWidth): string[] {
  const sessions = l.database!.sessionList!;
  const when = (iso: string | null): string => (iso ? iso.slice(0, 16).replace('T', ' ') : '-');
  const standing = (s: (typeof sessions)[number]): string =>
    cap <= 0 ? '-' : s.cap === 'over' ? colors.red(`over (${count(s.messages - cap)} above)`) : s.cap === 'warn' ? colors.yellow(`near (${percent(s.messages, cap)})`) : 'ok';
  const rows = sessions.map((s) => [s.id, s.userId ?? '-', count(s.messages), when(s.firstMessageAt), when(s.lastMessageAt), standing(s)]);
  const over = sessions.filter((s) => s.cap === 'over').length;
  const near = sessions.filter((s) => s.cap === 'warn').length;
  const head = `${colors.bold(l.name)}: ${counted(sessions.length, 'session')}${cap > 0 ? `, ${count(over)} over max_messages_per_conversation ${count(cap)}, ${count(near)} near it` : ''}`;
  return ['', head, fittedTable(['Session', 'User', 'Messages', 'First message (UTC)', 'Last message (UTC)', 'Cap'], rows, { ...fit, dropOrder: [1, 3], shrink: 0 }, colors)];
}
