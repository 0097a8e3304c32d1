/**
 * What every command receives: the loaded configuration, where the data is, how many jobs,
 * a reporter for progress and warnings (stderr), and the clock. Tests build one directly.
 */
import path from 'node:path';
import { loadConfig, resolveConfigPath, type LoadedConfig } from '../config/load.js';
import { configNote, type ConfigNote } from '../config/registry.js';
import { describeSource } from '../config/sources.js';
import { UsageError } from '../errors.js';
import { listLocrits, registryFindings } from '../layout/locrits.js';
import { defaultJobs } from '../runner/pool.js';
import type { StoreSettings } from '../store/settings.js';
import { readTestKnobs, type TestKnobs } from '../testKnobs.js';

export interface Reporter {
  /** A warning line on stderr (kept under --quiet: warnings matter). */
  warn(message: string): void;
  /** An informational line on stderr (dropped under --quiet). */
  info(message: string): void;
  /** Detail shown only with --verbose. */
  debug(message: string): void;
  /** The current phase of a long step; a spinner on a terminal, nothing elsewhere. */
  phase(text: string): void;
  /** Ends the current phase display. */
  done(): void;
}

export interface CommandContext {
  config: LoadedConfig;
  /** The folder holding <locrit>/kuzu.db. */
  dataDir: string;
  cwd: string;
  jobs: number;
  reporter: Reporter;
  now: Date;
  /** Info-level notes on the configuration and the application's Locrit registry (JSON `configNotes`, --verbose). */
  notes: ConfigNote[];
  /** Test-only knobs (src/testKnobs.ts), read once here and passed to every worker. */
  knobs: TestKnobs;
}

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  jobs?: string | number;
}

export interface ContextOptions {
  /**
   * Whether --verbose shows the configuration file, the limits' sources and the notes as debug
   * lines. False for a report that prints them itself (the `stats --verbose` table), so that
   * they are not shown twice.
   */
  describeConfiguration?: boolean;
}

export function buildContext(globals: GlobalOptions, reporter: Reporter, cwd = process.cwd(), env = process.env, options: ContextOptions = {}): CommandContext {
  const config = loadConfig({ explicitPath: globals.config, cwd, env });
  for (const warning of config.warnings) {
    // Once per process: `stats --watch` reloads the file on every refresh.
    if (warned.has(warning)) continue;
    warned.add(warning);
    reporter.warn(warning);
  }
  const dataDir = globals.dataDir ? path.resolve(cwd, globals.dataDir) : resolveConfigPath(config, config.values.memory.base_path);
  const notes = configNotes(config, dataDir);
  if (options.describeConfiguration ?? true) {
    reporter.debug(`config: ${config.source ?? 'none (built-in defaults)'}; limits: ${LIMIT_KEYS.map((key) => `${key} = ${JSON.stringify(config.values.memory[key])} (${describeSource(config.sources[`memory.${key}`])})`).join(', ')}`);
    for (const note of notes) reporter.debug(`note: ${note.message}`);
  }
  return { config, dataDir, cwd, jobs: parseJobs(globals.jobs, config.values.run.jobs), reporter, now: new Date(), notes, knobs: readTestKnobs(env) };
}

const warned = new Set<string>();

/** The limits every status is measured against, whose sources --verbose shows. */
export const LIMIT_KEYS = ['max_db_size_mb', 'max_messages_per_locrit', 'max_messages_per_conversation', 'enable_embeddings'] as const;

/**
 * Notes on the configuration: the file's own, the application's memory flags (which it shows
 * but does not act on) when Kuzu databases exist, and the registry checked against the disk.
 */
export function configNotes(config: LoadedConfig, dataDir: string): ConfigNote[] {
  const notes = [...config.notes];
  const flags = (['enabled', 'use_kuzu'] as const).filter((key) => config.application[key] === false);
  if (flags.length > 0) {
    let databases = 0;
    try {
      databases = listLocrits(dataDir).length;
    } catch {
      // A missing data directory is reported by the command itself.
    }
    if (databases > 0) {
      for (const key of flags) {
        notes.push(configNote(key === 'enabled' ? 'memory-disabled' : 'kuzu-disabled',
          `memory.${key} is false in ${config.source} while ${databases} Kuzu database${databases === 1 ? '' : 's'} ${databases === 1 ? 'exists' : 'exist'} under ${dataDir}: the application shows this flag but does not act on it; locrit-mem works on them as usual`));
      }
    }
  }
  if (config.registry) notes.push(...registryFindings(config.registry, dataDir));
  return notes;
}

export function parseJobs(flag: string | number | undefined, configured: number): number {
  if (flag === undefined) return configured > 0 ? configured : defaultJobs();
  const jobs = Number(flag);
  if (!/^\s*\d+\s*$/.test(String(flag)) || !Number.isInteger(jobs) || jobs < 0 || jobs > 256) throw new UsageError(`--jobs must be a whole number from 0 (one per core) to 256, got '${flag}'`, 'omit --jobs, or pass -j 0, to use one job per core');
  // 0 means one per core, as run.jobs: 0 does.
  if (jobs === 0) return defaultJobs();
  return jobs;
}

/** Where a run reads and writes besides the databases, every path absolute. */
export interface DataLocations {
  /** Archives go to `<archiveDir>/<locrit>/<UTC time>/`. */
  archiveDir: string;
  /** The application's conversation headers. */
  conversationsDir: string;
  /** Where backups go; null = beside each kuzu.db. */
  backupDir: string | null;
}

/**
 * A folder the configuration file names resolves against that file's folder. One it does not
 * name follows the application's layout: `data/memory` lies beside `data/archive` and
 * `data/conversations`, so the folder is the data directory's sibling. Two data directories
 * thus never share archives, and the result does not depend on the working folder.
 */
export function dataLocations(context: Pick<CommandContext, 'config' | 'dataDir'>): DataLocations {
  const { config, dataDir } = context;
  const beside = (key: string, value: string, sibling: string): string =>
    config.source !== null && config.sources[key]?.from === 'config' ? resolveConfigPath(config, value) : path.join(path.dirname(dataDir), sibling);
  const backup = config.values.backup.dir;
  return {
    archiveDir: beside('archive.dir', config.values.archive.dir, 'archive'),
    conversationsDir: beside('conversations.dir', config.values.conversations.dir, 'conversations'),
    backupDir: backup === null ? null : resolveConfigPath(config, backup),
  };
}

/** Options every per-Locrit task needs to open a database the same way. */
export function storeSettings(context: CommandContext): StoreSettings {
  return { bufferPoolMb: context.config.values.kuzu.buffer_pool_mb, threads: context.config.values.kuzu.threads };
}

/** What stats and validate need only once their workers are done with a Locrit. */
export interface AfterRunModules {
  scanResets: typeof import('../recover/resets.js').scanResets;
  findLeftovers: typeof import('../retention/leftovers.js').findLeftovers;
}

let afterRun: Promise<AfterRunModules> | null = null;

/**
 * Loads the reset scan and the leftover finder, once: a command starts the load while its
 * workers run and awaits it when they are done. Never imported eagerly, so that they do not
 * hold up the start of a command or the copies it takes ahead of its workers.
 */
export function loadAfterRun(): Promise<AfterRunModules> {
  if (afterRun === null) {
    afterRun = Promise.all([import('../recover/resets.js'), import('../retention/leftovers.js')]).then(([resets, leftovers]) => ({ scanResets: resets.scanResets, findLeftovers: leftovers.findLeftovers }));
    afterRun.catch(() => undefined); // awaited later by the command; not an unhandled rejection meanwhile
  }
  return afterRun;
}
