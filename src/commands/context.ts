/**
 * What every command receives: the loaded configuration, where the data is, how many jobs,
 * a reporter for progress and warnings (stderr), and the clock. Tests build one directly.
 */
import path from 'node:path';
import { loadConfig, resolveConfigPath, type LoadedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { defaultJobs } from '../runner/pool.js';

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
}

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  jobs?: string | number;
}

export function buildContext(globals: GlobalOptions, reporter: Reporter, cwd = process.cwd(), env = process.env): CommandContext {
  const config = loadConfig({ explicitPath: globals.config, cwd, env });
  for (const warning of config.warnings) reporter.warn(warning);
  const dataDir = globals.dataDir ? path.resolve(cwd, globals.dataDir) : resolveConfigPath(config, config.values.memory.base_path);
  return { config, dataDir, cwd, jobs: parseJobs(globals.jobs, config.values.run.jobs), reporter, now: new Date() };
}

export function parseJobs(flag: string | number | undefined, configured: number): number {
  if (flag === undefined) return configured > 0 ? configured : defaultJobs();
  const jobs = Number(flag);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new UsageError(`--jobs must be a whole number from 1 to 256, got '${flag}'`, 'omit --jobs to use one job per core');
  return jobs;
}

/** Options every per-Locrit task needs to open a database the same way. */
export interface StoreSettings {
  bufferPoolMb: number;
  threads: number;
}

export function storeSettings(context: CommandContext): StoreSettings {
  return { bufferPoolMb: context.config.values.kuzu.buffer_pool_mb, threads: context.config.values.kuzu.threads };
}
