import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';
import { positiveNumber } from '../runtime.js';
import { durationDays, eitherFlag, wholeNumber } from './retentionFlags.js';

interface ArchiveFlags {
  dryRun?: boolean;
  compact?: boolean;
  stripEmbeddings?: boolean;
  days?: string;
  olderThan?: string;
  keep?: string;
  maxPerConversation?: string;
  includeCritical?: boolean;
  yes?: boolean;
  wait?: string;
}

export function registerArchive(program: Command, runtime: CliRuntime): void {
  program
    .command('archive')
    .description('archive old messages (age, conversation size) to Parquet, verify, then delete them')
    .argument('[locrits...]', 'Locrit folder names, display names, or paths to kuzu.db (default: all)')
    .option('-n, --dry-run', 'print the exact plan per Locrit and rule; change nothing')
    .option('--compact', 'afterwards, rebuild the file to give the space back (keeps the old file as a backup)')
    .option('--strip-embeddings', 'set low-priority embeddings to NULL (system and short messages; all when enable_embeddings is false); done while rebuilding the file, so it compacts')
    .option('--days <n>', 'archive messages older than <n> days, or a duration: 30d, 2w, 720h (default: memory.archive_after_days; 0 = no age rule)')
    .option('--older-than <duration>', 'the same as --days, journalctl style: 30d, 2w, 720h')
    .option('--keep <n>', 'never touch the <n> most recent messages of a Locrit (default: retention.keep_count)')
    .option('--max-per-conversation <n>', 'sessions keep their <n> most recent messages (default: memory.max_messages_per_conversation; 0 = no cap)')
    .option('--include-critical', 'archive critical messages too (default: spared, retention.protect_critical)')
    .option('-y, --yes', 'accepted for symmetry with emergency-cleanup; archive never asks')
    .option('--wait <seconds>', 'when a process (the Locrit application) holds a database, wait up to <seconds> for it to let go before refusing')
    .addHelpText(
      'after',
      `
Every message that leaves is first written with all its columns and relationships to
<archive.dir>/<locrit>/<UTC time>/ (Parquet + manifest.json), read back and checked;
only then are exactly those ids deleted, in one transaction. A run killed at any moment
is finished or rolled back by the next run.

Examples:
  locrit-mem archive --dry-run                 what would go, per Locrit and rule
  locrit-mem archive                           nightly cron: the age and conversation-size rules
  locrit-mem archive bob --days 7 --keep 500 --compact
  locrit-mem archive --strip-embeddings --json

Reference (every option, the JSON fields): docs/archive.md in the locrit-mem repository.`,
    )
    .action(async (locrits: string[], options: ArchiveFlags, command: Command) => {
      const flags = runtime.flags(command);
      const overrides = {
        archiveAfterDays: durationDays(...eitherFlag(['--days', options.days], ['--older-than', options.olderThan])),
        keepCount: wholeNumber('--keep', options.keep),
        maxMessagesPerConversation: wholeNumber('--max-per-conversation', options.maxPerConversation),
        protectCritical: options.includeCritical ? false : undefined,
      };
      const waitSeconds = positiveNumber('--wait', options.wait);
      const context = await runtime.context(command);
      const { runArchive } = await import('../../commands/archive.js');
      const { retentionTable } = await import('../render/archive.js');
      const report = await runArchive(context, {
        locrits, dryRun: options.dryRun, compact: options.compact, stripEmbeddings: options.stripEmbeddings, archive: true, overrides, waitSeconds,
      });
      runtime.print(flags.json ? runtime.json(report) : runtime.paste(retentionTable(report, (await runtime.colors(command)), flags.verbose, false, { ...runtime.tableWidth(command), quiet: flags.quiet })));
      runtime.finish(report.exitCode);
    });
}
