/**
 * `npm run fixture -- <options>`: makes an application-faithful Locrit database, optionally
 * damaged, for trying the tool, for the tests and for the benchmarks.
 */
import { Command, InvalidArgumentError } from 'commander';
import { generateLocrit } from '../src/fixtures/generate.js';
import { damagePages, holdDatabase, killWriterMidWrite, truncateFile, writeNotKuzu } from '../src/fixtures/damage.js';

const DAMAGES = ['none', 'wal', 'truncate', 'pages', 'not-kuzu', 'hold'] as const;

const number = (name: string, integer = true) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`${name} must be a ${integer ? 'whole ' : ''}number >= 0`);
  return n;
};

const program = new Command('fixture')
  .description('generate a Locrit database with the application schema (deterministic from --seed)')
  .requiredOption('-d, --data-dir <dir>', 'data directory; the database goes to <dir>/<folder>/kuzu.db')
  .option('-n, --name <name>', 'Locrit display name', 'Demo Locrit')
  .option('-m, --messages <n>', 'messages', number('--messages'), 1000)
  .option('--days <n>', 'spread messages over this many days up to now', number('--days', false), 60)
  .option('--embedded <share>', 'share of messages with an embedding (0..1)', number('--embedded', false), 0.5)
  .option('--dim <n>', 'embedding dimension', number('--dim'), 768)
  .option('--sessions <n>', 'sessions (default: one per 100 messages)', number('--sessions'))
  .option('--users <n>', 'users', number('--users'), 2)
  .option('--critical <share>', 'share of critical messages', number('--critical', false), 0.02)
  .option('--seed <n>', 'random seed', number('--seed'), 1)
  .option('--no-vector-indexes', 'skip the HNSW vector indexes (faster for big fixtures)')
  .option('--damage <kind>', `damage to apply afterwards: ${DAMAGES.join(', ')}`, 'none')
  .action(async (options) => {
    if (!(DAMAGES as readonly string[]).includes(options.damage)) throw new InvalidArgumentError(`--damage must be one of ${DAMAGES.join(', ')}`);
    const started = Date.now();
    const summary = await generateLocrit({
      dataDir: options.dataDir, name: options.name, messages: options.messages, days: options.days, embeddedShare: options.embedded,
      dimension: options.dim, sessions: options.sessions, users: options.users, criticalShare: options.critical, seed: options.seed,
      vectorIndexes: options.vectorIndexes,
      // Progress on stderr, so that stdout stays the one-line summary.
      progress: (step) => process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1)}s ${step}\n`),
    });
    process.stdout.write(`${summary.dbPath}: ${summary.messageIds.length} messages (${summary.embeddedMessageIds.length} with embeddings, dimension ${summary.dimension}), ${Object.keys(summary.sessionSizes).length} sessions, in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    switch (options.damage) {
      case 'wal': {
        const killed = killWriterMidWrite(summary.dbPath);
        process.stdout.write(`a writer was killed mid-write: ${killed.committedIds.length} committed messages sit in a ${killed.walBytes}-byte WAL\n`);
        break;
      }
      case 'truncate':
        truncateFile(summary.dbPath, 0.5);
        process.stdout.write('truncated to half its size\n');
        break;
      case 'pages':
        process.stdout.write(`overwrote pages ${damagePages(summary.dbPath).join(', ')} with random bytes\n`);
        break;
      case 'not-kuzu':
        writeNotKuzu(summary.dbPath);
        process.stdout.write('replaced with a file that is not a Kuzu database\n');
        break;
      case 'hold': {
        const held = await holdDatabase(summary.dbPath);
        process.stdout.write(`held open read-write by pid ${held.pid}; press Ctrl-C to release\n`);
        process.once('SIGINT', () => void held.release().then(() => process.exit(0)));
        await new Promise(() => undefined);
      }
    }
  });

program.parseAsync().catch((error: Error) => {
  process.stderr.write(`Error: ${error.message}\n`);
  process.exitCode = 2;
});
