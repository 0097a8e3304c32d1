/**
 * Runs one command as a subprocess and measures its wall time and the peak resident memory
 * of its whole process tree (our CLI forks worker processes, so the parent's RSS alone would
 * hide most of the memory).
 *
 * Method: every SAMPLE_MS the sampler walks the tree from the child's pid through
 * /proc/<pid>/task/<tid>/children, reads VmRSS of every live process and sums them; the
 * largest sum seen is `peakTreeRss`. Short peaks between two samples can be missed, so each
 * process's own high-water mark (VmHWM, kept by the kernel) is recorded too: the sum of the
 * per-process high-water marks, `hwmSumRss`, is an upper bound of the true tree peak (the
 * processes may not all have peaked at the same moment).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export const SAMPLE_MS = 10;

export interface Measured {
  wallMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Largest sampled sum of VmRSS over the process tree, in bytes. */
  peakTreeRss: number;
  /** Sum over every process seen of its own VmHWM, in bytes (upper bound of the tree peak). */
  hwmSumRss: number;
  /** Largest number of processes seen at once in the tree. */
  peakProcesses: number;
  /** Distinct processes seen during the run. */
  processesSeen: number;
  /** The largest single-process high-water mark, in bytes. */
  maxProcessHwm: number;
}

export interface RunSpec {
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export function measure(spec: RunSpec): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const hwm = new Map<number, number>();
    let peakTreeRss = 0;
    let peakProcesses = 0;
    const sample = (): void => {
      if (child.pid === undefined) return;
      const pids = treeOf(child.pid);
      let sum = 0;
      let live = 0;
      for (const pid of pids) {
        const mem = memoryOf(pid);
        if (!mem) continue;
        live++;
        sum += mem.rss;
        hwm.set(pid, Math.max(hwm.get(pid) ?? 0, mem.hwm));
      }
      peakTreeRss = Math.max(peakTreeRss, sum);
      peakProcesses = Math.max(peakProcesses, live);
    };
    sample();
    const timer = setInterval(sample, SAMPLE_MS);
    const killer = spec.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs) : null;
    child.on('error', (error) => {
      clearInterval(timer);
      if (killer) clearTimeout(killer);
      reject(error);
    });
    child.on('exit', () => sample());
    child.on('close', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearInterval(timer);
      if (killer) clearTimeout(killer);
      const marks = [...hwm.values()];
      resolve({
        wallMs,
        code,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        peakTreeRss,
        hwmSumRss: marks.reduce((a, b) => a + b, 0),
        peakProcesses,
        processesSeen: hwm.size,
        maxProcessHwm: Math.max(0, ...marks),
      });
    });
  });
}

/** The pid and all its live descendants. */
export function treeOf(root: number): number[] {
  const seen: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    seen.push(pid);
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(' ')) if (c.trim()) stack.push(Number(c));
    }
  }
  return seen;
}

function memoryOf(pid: number): { rss: number; hwm: number } | null {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
