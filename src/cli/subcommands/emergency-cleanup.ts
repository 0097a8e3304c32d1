import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { counted } from '../words.js';
import { positiveNumber, type CliRuntime } from '../runtime.js';
import { confirm, eitherFlag, nonNegative, sizeMib, wholeNumber } from './retentionFlags.js';

interface EmergencyFlags {
  dryRun?: boolean;
  compact?: boolean;
  archive?: boolean;
  stripEmbeddings?: boolean;
  yes?: boolean;
  maxMessages?: string;
  maxSizeMb?: string;
  maxSize?: string;
  fraction?: string;
  includeCritical?: boolean;
  wait?: string;
}

export function registerEmergencyCleanup(program: Command, runtime: CliRuntime): void {
  program
    .command('emergency-cleanup')
    .description('bring Locrits over the message or size limit back under it (archive, delete, compact)')
    .argument('[locrits...]', 'Locrit folder names, display names, or paths to kuzu.db (default: all)')
    .option('-n, --dry-run', 'print the exact plan per Locrit and rule; change nothing')
    .option('-y, --yes', 'do it without asking (required when not on a terminal, and with --no-archive)')
    .option('--no-compact', 'do not rebuild the file afterwards (freed pages are reused, the file does not shrink)')
    .option('--no-archive', 'delete without archiving first: the messages are gone for good (needs --yes)')
    .option('--strip-embeddings', 'also set low-priority embeddings to NULL (system and short messages; all when enable_embeddings is false), while rebuilding the file')
    .option('--max-messages <n>', 'message limit per Locrit (default: memory.max_messages_per_locrit)')
    .option('--max-size-mb <n>', 'file size limit in MiB, or a size: 100M, 2G (default: memory.max_db_size_mb)')
    .option('--max-size <size>', 'the same as --max-size-mb, with a unit: 100M, 2G, 512K')
    .option('--fraction <f>', 'share of the oldest messages removed over the message limit (default: retention.emergency_fraction, 0.5)')
    .option('--include-critical', 'remove critical messages too (default: spared, retention.protect_critical)')
    .option('--wait <seconds>', 'when a process (the Locrit application) holds a database, wait up to <seconds> for it to let go before refusing')
    .addHelpText(
      'after',
      `
Rules: over max_messages_per_locrit, the oldest half (--fraction) go; file over
max_db_size_mb, messages older than retention.emergency_days_old (7) go, keeping the
retention.emergency_keep_count (500) most recent. Locrits within both limits are left
untouched. Messages are archived first (as \`archive\` does) unless --no-archive.

Examples:
  locrit-mem emergency-cleanup --dry-run       what would go, and whether it brings each Locrit under its limits
  locrit-mem emergency-cleanup                 asks on a terminal, then archives, deletes and compacts
  locrit-mem emergency-cleanup --yes -q        from cron or a script
  locrit-mem emergency-cleanup bob --no-archive --yes   the application's behaviour: really drop

Reference (every option, the JSON fields): docs/emergency-cleanup.md in the locrit-mem repository.`,
    )
    .action(async (locrits: string[], options: EmergencyFlags, command: Command) => {
      const flags = runtime.flags(command);
      const overrides = {
        maxMessagesPerLocrit: wholeNumber('--max-messages', options.maxMessages),
        maxDbSizeMb: sizeMib(...eitherFlag(['--max-size-mb', options.maxSizeMb], ['--max-size', options.maxSize])),
        emergencyFraction: nonNegative('--fraction', options.fraction, 1),
        protectCritical: options.includeCritical ? false : undefined,
      };
      const waitSeconds = positiveNumber('--wait', options.wait);
      const noArchive = options.archive === false;
      if (noArchive && !options.yes && !options.dryRun) {
        throw new UsageError('--no-archive deletes messages for good and needs --yes', 'add --yes, or drop --no-archive to archive them first');
      }
      const interactive = Boolean(process.stdin.isTTY && runtime.io.stderr.isTTY);
      if (!options.dryRun && !options.yes && !interactive) {
        throw new UsageError('emergency-cleanup changes databases and needs --yes when not run on a terminal', 'run `locrit-mem emergency-cleanup --dry-run` to see the plan, then add --yes');
      }
      const context = await runtime.context(command);
      const { runEmergencyCleanup } = await import('../../commands/emergency-cleanup.js');
      const { retentionTable } = await import('../render/archive.js');
      const colors = await runtime.colors(command);
      const base = { locrits, compact: options.compact !== false, stripEmbeddings: options.stripEmbeddings, archive: !noArchive, overrides, waitSeconds };
      if (!options.dryRun && !options.yes) {
        // On a terminal: show the exact plan, then ask.
        const planned = await runEmergencyCleanup(context, { ...base, dryRun: true });
        runtime.io.stderr.write(runtime.paste(retentionTable(planned, colors, flags.verbose, true, { ...runtime.tableWidth(command, runtime.io.stderr), quiet: flags.quiet })));
        if (planned.total.selected === 0 && planned.total.planned === 0) {
          runtime.print(flags.json ? runtime.json(planned) : '');
          runtime.finish(planned.exitCode);
          return;
        }
        const what = `${counted(planned.total.selected, 'message')} from ${counted(planned.total.planned, 'Locrit')}`;
        // A deliberate "no" needs no advice; Ctrl-C is a cancel too (exit 130, from confirm()).
        if (!(await confirm(`${noArchive ? 'Delete for good (--no-archive)' : 'Archive and delete'} ${what}?`))) throw new UsageError('cancelled: nothing was changed');
      }
      const report = await runEmergencyCleanup(context, { ...base, dryRun: options.dryRun });
      runtime.print(flags.json ? runtime.json(report) : runtime.paste(retentionTable(report, colors, flags.verbose, false, { ...runtime.tableWidth(command), quiet: flags.quiet })));
      runtime.finish(report.exitCode);
    });
}
