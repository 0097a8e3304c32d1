import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { oneOf, positiveNumber, type CliRuntime } from '../runtime.js';

const FORMATS = ['table', 'json', 'prometheus'] as const;

export function registerStats(program: Command, runtime: CliRuntime): void {
  program
    .command('stats')
    .description('how big and how full each Locrit memory is, against the configured limits')
    .argument('[locrits...]', 'Locrit folder names, display names, or paths to kuzu.db (default: all)')
    .option('--check', 'exit 1 when any Locrit is over a limit (for CI and cron alerts)')
    .option('--sessions', 'also list every session: user, messages, first and last message, against max_messages_per_conversation')
    .option('--format <format>', `output format: ${FORMATS.join(', ')} (default: table; --json = json)`)
    .option('--watch <seconds>', 'refresh every <seconds> on a terminal until interrupted')
    .option('-o, --output <file>', 'write the result to <file> atomically instead of stdout (e.g. a textfile-collector .prom)')
    .addHelpText(
      'after',
      `
Examples:
  locrit-mem stats                          every Locrit under memory.base_path
  locrit-mem stats "Bob Technique" --json   one Locrit, as JSON
  locrit-mem stats --check -q               CI: exit 1 when a limit is exceeded
  locrit-mem stats bob --sessions           bob's conversations, largest first, and which are near the cap
  locrit-mem stats --format prometheus -o /var/lib/node_exporter/textfile/locrit.prom

Reference (every option, the JSON fields): docs/stats.md in the locrit-mem repository.`,
    )
    .action(async (locrits: string[], options: { check?: boolean; sessions?: boolean; format?: string; watch?: string; output?: string }, command: Command) => {
      const flags = runtime.flags(command);
      const format = oneOf('--format', options.format, FORMATS) ?? (flags.json ? 'json' : 'table');
      const watchSeconds = positiveNumber('--watch', options.watch, MAX_WATCH_SECONDS);
      if (watchSeconds !== undefined && options.output) throw new UsageError('--watch and --output cannot be combined', 'use --output from cron, --watch on a terminal');
      const { runStats } = await import('../../commands/stats.js');
      const once = async (show: (text: string) => void = (text) => runtime.print(text)): Promise<void> => {
        // The table's --verbose part shows the configuration and the limits' sources itself.
        const context = await runtime.context(command, { describeConfiguration: format !== 'table' });
        const report = await runStats(context, { locrits, check: options.check, sessions: options.sessions });
        // Renderers (cli-table3, chalk) load only for the formats that need them, after the workers have done their part.
        const render = format === 'json' ? null : await import('../render/stats.js');
        const text = render === null ? runtime.json(report) : format === 'prometheus' ? render.statsPrometheus(report) : runtime.paste(render.statsTable(report, await runtime.colors(command), flags.verbose, runtime.tableWidth(command)));
        if (options.output) await runtime.writeAtomic(options.output, text);
        else show(text);
        runtime.finish(report.exitCode);
      };
      if (watchSeconds === undefined) return once();
      await watch(runtime, watchSeconds, once);
    });
}

/** A day: longer waits overflow Node's timers, which then fire at once, in a tight loop. */
const MAX_WATCH_SECONDS = 86_400;

/** Erase to the end of the line; erase below the cursor. */
const ERASE_LINE_END = '\x1b[K';
const ERASE_BELOW = '\x1b[J';

/**
 * Re-runs `once` every few seconds until SIGINT. On a terminal, the first run clears the screen
 * and each later one writes over the last from the top-left corner, erasing what each line
 * leaves of the old one and what is left below: clearing the screen at each run would make tmux
 * (scroll-on-clear, its default) save a copy of every report to the scrollback.
 */
async function watch(runtime: CliRuntime, seconds: number, once: (show?: (text: string) => void) => Promise<void>): Promise<void> {
  let stopped = false;
  let wake: () => void = () => undefined;
  const stop = (): void => {
    stopped = true;
    wake();
  };
  process.once('SIGINT', stop);
  try {
    const terminal = Boolean(runtime.io.stdout.isTTY);
    const over = (text: string): string => (terminal ? text.replaceAll('\n', `${ERASE_LINE_END}\n`) : text);
    let first = true;
    while (!stopped) {
      if (terminal) runtime.print(first ? '\x1b[2J\x1b[H' : '\x1b[H');
      first = false;
      await once((text) => runtime.print(over(text)));
      runtime.print(`${over(`\nEvery ${seconds}s, ${new Date().toLocaleTimeString()}; Ctrl-C to stop.\n`)}${terminal ? ERASE_BELOW : ''}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, seconds * 1000);
      });
    }
  } finally {
    process.off('SIGINT', stop);
  }
}
