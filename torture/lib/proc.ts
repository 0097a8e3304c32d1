/**
 * Runs the built launcher (bin/locrit-mem.js) as a real process in its own process group, with a
 * time limit, an optional SIGKILL at a chosen moment, and the checks every run must pass: an exit
 * below 128, no stack trace or native crash text, at most one error line, one JSON document.
 */
import { spawn } from 'node:child_process';
import { residentMb } from '../../src/runner/child.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/torture/lib/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'locrit-mem.js');

export interface RunResult {
  args: string[];
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** The run was ended on purpose by the campaign (killAfterMs). */
  killed: boolean;
  /** Processes of the group were still alive after the launcher exited on its own. */
  strayProcesses: boolean;
  /** The resident MiB the launched process had reached when memoryLimitMb stopped it (null: not stopped for memory). */
  outOfMemoryMb?: number | null;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** SIGKILL the whole process group (launcher and workers) after this many milliseconds. */
  killAfterMs?: number;
  /** Run this script with node instead of the launcher. */
  script?: string;
  /** SIGKILL the group once the launched process's resident memory passes this (Kuzu allocating without bound on a damaged file). */
  memoryLimitMb?: number;
}

const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

const killGroup = (pid: number): void => {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
};

/** The environment of an operator's shell, minus what would make runs differ between machines. */
export function toolEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', LOCRIT_MEM_CONFIG: '', TZ: 'UTC', ...extra };
  delete env.CI;
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return env;
}

export function runTool(args: string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const argv = [options.script ?? BIN, ...args];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: options.cwd, env: toolEnv(options.env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const pid = child.pid!;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(pid);
    }, options.timeoutMs);
    let outOfMemoryMb: number | null = null;
    const { memoryLimitMb } = options;
    const watchdog = memoryLimitMb === undefined ? undefined : setInterval(() => {
      const rss = residentMb(pid);
      if (rss !== null && rss > memoryLimitMb && outOfMemoryMb === null) {
        outOfMemoryMb = Math.round(rss);
        killGroup(pid);
      }
    }, 250);
    const killer =
      options.killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            killed = true;
            killGroup(pid);
          }, options.killAfterMs);
    child.on('error', (error) => {
      stderr += String(error);
    });
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      if (watchdog) clearInterval(watchdog);
      if (killer) clearTimeout(killer);
      let strayProcesses = false;
      if (!killed && !timedOut && groupAlive(pid)) {
        // Workers get a moment to notice their parent is gone before they count as left behind.
        await new Promise((r) => setTimeout(r, 500));
        strayProcesses = groupAlive(pid);
      }
      // A kill or a time-out ends the workers too, as a power cut or the OOM killer would.
      killGroup(pid);
      resolve({ args, code, signal, stdout, stderr, durationMs: Date.now() - started, timedOut, killed, strayProcesses, outOfMemoryMb });
    });
  });
}

const STACK_TRACE = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$|node:internal|^\s*(TypeError|RangeError|ReferenceError|SyntaxError|AssertionError)\b|Uncaught|UnhandledPromiseRejection/m;
const NATIVE_CRASH = /terminate called|Segmentation fault|core dumped|Assertion `.*' failed|double free|munmap_chunk|free\(\): invalid/;

export interface OutputRules {
  /** --json was given: stdout must be exactly one JSON document. */
  json: boolean;
  /** Exit codes allowed (default: any below 128 except 4, the internal-error code). */
  exitCodes?: number[];
  /** Largest number of stderr lines allowed (default 3: an error, its Try: line and one warning). */
  maxStderrLines?: number;
}

/** What is wrong with a run's output, in words; empty when it passes. */
export function outputProblems(run: RunResult, rules: OutputRules): string[] {
  const problems: string[] = [];
  const what = `\`${run.args.join(' ')}\``;
  if (run.timedOut) problems.push(`${what} gave no answer within ${Math.round(run.durationMs / 1000)} s`);
  else if (run.signal) problems.push(`${what} died of ${run.signal}`);
  else if (run.code !== null && run.code >= 128) problems.push(`${what} exited ${run.code}`);
  else if (rules.exitCodes && !rules.exitCodes.includes(run.code ?? -1)) problems.push(`${what} exited ${run.code}, expected ${rules.exitCodes.join(' or ')}`);
  else if (!rules.exitCodes && run.code === 4) problems.push(`${what} exited 4 (internal error)`);
  if (run.strayProcesses) problems.push(`${what} left a process running after it exited`);
  if (STACK_TRACE.test(run.stderr) || STACK_TRACE.test(run.stdout)) problems.push(`${what} printed a stack trace`);
  if (NATIVE_CRASH.test(run.stderr)) problems.push(`${what} printed a native crash message`);
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
  const errorLines = lines.filter((l) => /^\s*(Error|error|✗)\b/.test(l));
  if (errorLines.length > 1) problems.push(`${what} printed ${errorLines.length} error lines on stderr`);
  if (lines.length > (rules.maxStderrLines ?? 3)) problems.push(`${what} printed ${lines.length} lines on stderr`);
  if (rules.json && !run.timedOut && !run.signal) {
    const text = run.stdout.trim();
    if (text === '') {
      if (run.code === 0 || run.code === 1) problems.push(`${what} printed no JSON`);
    } else {
      try {
        const doc = JSON.parse(text) as { version?: unknown };
        if (typeof doc !== 'object' || doc === null || doc.version === undefined) problems.push(`${what} printed JSON without a version`);
      } catch {
        problems.push(`${what} did not print a single JSON document`);
      }
    }
  }
  return problems;
}

/** The parsed JSON document of a run, or null. */
export function jsonOf<T = Record<string, unknown>>(run: RunResult): T | null {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    return null;
  }
}

/** The last lines of stderr, for a failure report. */
export function stderrExcerpt(run: RunResult, lines = 4): string {
  return run.stderr.split('\n').filter((l) => l.trim() !== '').slice(-lines).join(' | ').slice(0, 600);
}
