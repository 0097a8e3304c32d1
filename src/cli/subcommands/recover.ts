import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { positiveNumber, type CliRuntime } from '../runtime.js';

interface RecoverFlags {
  dryRun?: boolean;
  wait?: string;
  fromBackup?: string;
  fromArchive?: string;
  list?: boolean;
  conversationsDir?: string;
  batchSize?: string;
  mergeBackup?: string[];
  acceptLoss?: boolean;
  acknowledgeLoss?: boolean;
  pruneBackups?: boolean;
}

export function registerRecover(program: Command, runtime: CliRuntime): void {
  program
    .command('recover')
    .description('diagnose and repair a Locrit after a crash, a bad file or a bad cleanup')
    .argument('[locrits...]', 'Locrit folder names, display names, or paths to kuzu.db (default: all)')
    .option('--dry-run', 'show what is wrong and the plan; change nothing')
    .option('--wait <seconds>', 'when a process holds a database, wait up to <seconds> for it to let go before refusing')
    .option('--from-backup <file>', 'restore this backup file (ours or the application\'s kuzu.db.backup_*), keeping the current database as a backup')
    .option('--from-archive <folder>', 'put the messages of this archive (folder or its manifest.json) back; ids already present are skipped')
    .option('--list', 'list the backups and archives of each Locrit, with time, size and messages')
    .option('--merge-backup <file>', 'merge this backup into the database (repeatable); without it every backup holding lost messages is merged', (value: string, previous: string[] = []) => [...previous, value])
    .option('--prune-backups', 'remove the backups whose every message is in kuzu.db or a complete archive (never archives); with --dry-run, list them')
    .option('--accept-loss', 'swap in a salvage that holds fewer messages than last known, or none (asked on a terminal)')
    .option('--acknowledge-loss', 'clear the "salvaged with losses" flag that stats and validate show after such a salvage')
    .option('--conversations-dir <dir>', "the application's conversation files (default: conversations.dir)")
    .option('--batch-size <rows>', 'rows per salvage batch (default 5000); a batch that fails is split until the bad rows are found')
    .addHelpText(
      'after',
      `
Cases, in the order they are checked:
  1. held by a running process     refuse (pid, command, memory, CPU); --wait <s> waits first
  2. unclean stop (WAL present)    back up db + WAL, replay the WAL, verify every table's rows
     (a WAL another file wrote, left by the application's reset, is moved to that file instead)
     reset (memory left in backups) merge every backup holding messages found nowhere else
                                   into a new database, check it, swap it in
  3. cannot be opened or read      keep it as kuzu.db.backup_<stamp>, salvage table by table in
                                   child processes, rebuild with the Locrit schema, swap in
  4. unsaved conversations         conversation files that count more messages than Kuzu holds
  5. nothing wrong                 say so, exit 0
Every repair ends with a verification (opens, row counts, schema).
Exit codes: 0 nothing wrong or repaired; 1 findings (rows lost in a salvage, unsaved
conversations, or repairs planned by --dry-run); 2 bad usage; 3 a database stays unusable.

Examples:
  locrit-mem recover --dry-run                      what is wrong, and the plan
  locrit-mem recover "Bob Technique" --wait 30      repair bob once the application lets go
  locrit-mem recover bob --list                     backups and archives of bob
  locrit-mem recover bob --from-backup data/memory/bob/kuzu.db.backup_20251121_101500
  locrit-mem recover bob --merge-backup data/memory/bob/kuzu.db.backup_20251121_101500
  locrit-mem recover --prune-backups --dry-run       backups whose every message is elsewhere
  locrit-mem recover --from-archive data/archive/bob/20251121T101500123Z

Reference (every option, the JSON fields): docs/recover.md in the locrit-mem repository.`,
    )
    .action(async (locrits: string[], flags: RecoverFlags, command: Command) => {
      const global = runtime.flags(command);
      const waitSeconds = positiveNumber('--wait', flags.wait);
      let batchSize: number | undefined;
      if (flags.batchSize !== undefined) {
        batchSize = Number(flags.batchSize);
        if (!/^\s*\d+\s*$/.test(flags.batchSize) || !Number.isSafeInteger(batchSize) || batchSize < 1) throw new UsageError(`--batch-size must be a whole number of rows >= 1, got '${flags.batchSize}'`, 'omit it to use 5000');
      }
      for (const value of flags.mergeBackup ?? []) {
        if (value.trim() === '') throw new UsageError('--merge-backup needs a path', 'pass --merge-backup <file> (see `locrit-mem recover --list`)');
      }
      if (flags.mergeBackup?.length && (flags.fromBackup !== undefined || flags.fromArchive !== undefined || flags.list || flags.pruneBackups)) {
        throw new UsageError('--merge-backup cannot be combined with --from-backup, --from-archive, --list or --prune-backups', 'merge with --merge-backup first, then run the other');
      }
      for (const [flag, value] of [['--from-backup', flags.fromBackup], ['--from-archive', flags.fromArchive], ['--conversations-dir', flags.conversationsDir]] as const) {
        if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} needs a path`, `pass ${flag} <path>`);
      }
      const { runRecover } = await import('../../commands/recover.js');
      const { recoverTable } = await import('../render/recover.js');
      const context = await runtime.context(command);
      const report = await runRecover(context, {
        locrits,
        dryRun: flags.dryRun,
        waitSeconds,
        fromBackup: flags.fromBackup,
        fromArchive: flags.fromArchive,
        list: flags.list,
        conversationsDir: flags.conversationsDir,
        batchSize,
        mergeBackups: flags.mergeBackup,
        acceptLoss: flags.acceptLoss,
        acknowledgeLoss: flags.acknowledgeLoss,
        pruneBackups: flags.pruneBackups,
        // On a terminal, a salvage that would lose messages is put to the operator; elsewhere the answer is no.
        confirmLoss: !flags.dryRun && !global.json && process.stdin.isTTY && runtime.io.stderr.isTTY ? (await import('./retentionFlags.js')).confirm : undefined,
      });
      runtime.print(global.json ? runtime.json(report) : runtime.paste(recoverTable(report, (await runtime.colors(command)), global.verbose, runtime.tableWidth(command))));
      runtime.finish(report.exitCode);
    });
}
