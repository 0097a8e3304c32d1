/**
 * A forked Node process that answers requests over IPC, shared by the worker pool and the
 * salvage child: the fork, the tail of its stderr, its death told as {signal, exitCode}, and an
 * optional time-out per request after which it is killed. Only a signal is a native crash (Kuzu
 * dying on a damaged page, or our own kill); an exit code means the child failed by itself.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Socket } from 'node:net';

/** How a child process ended. */
export interface ChildDeath {
  signal: NodeJS.Signals | null;
  exitCode: number | null;
}

/** outOfMemoryMb: the resident MiB the child had reached when the memory ceiling stopped it. */
export type ChildAnswer<R> = { kind: 'reply'; value: R } | { kind: 'died'; death: ChildDeath; timedOut: boolean; outOfMemoryMb: number | null };

/** What to watch while a request runs: a time-out, and a ceiling on the child's resident memory. */
export interface AskLimits {
  timeoutMs?: number;
  memoryLimitMb?: number;
}

const MEMORY_CHECK_MS = 250;

/** Resident memory of a process in MiB (Linux /proc), or null when it cannot be read. */
export function residentMb(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export class ForkedChild<Request, Reply> {
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(script: string, options: { env?: NodeJS.ProcessEnv; stderrTailChars: number; detached?: boolean }) {
    this.child = fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: options.env, detached: options.detached });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-options.stderrTailChars);
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Whether the child (its process, IPC channel and stderr pipe) keeps this process alive. A
   * child started ahead of need is not held until it is used: if it never is, this process
   * still exits, and the child follows when its IPC channel closes.
   */
  hold(held: boolean): void {
    // The stderr pipe is a net.Socket, whose ref and unref the stream type does not show.
    const handles: ({ ref(): unknown; unref(): unknown } | null | undefined)[] = [this.child, this.child.channel, this.child.stderr as unknown as Socket | null];
    for (const handle of handles) {
      if (held) handle?.ref();
      else handle?.unref();
    }
  }

  /** The lines of the tail of its stderr (Kuzu's last words before a crash, a JS stack). */
  stderrLines(): string[] {
    return this.stderr.trim().split('\n').filter(Boolean);
  }

  /**
   * Sends `request` and waits for the reply `handle` turns into a value (it returns undefined
   * for replies that are not the answer, such as progress), or for the child's death. After
   * `limits.timeoutMs`, or once its resident memory passes `limits.memoryLimitMb`, the child is
   * killed with SIGKILL and the answer is its death.
   */
  ask<R>(request: Request, handle: (reply: Reply) => R | undefined, limits: AskLimits = {}): Promise<ChildAnswer<R>> {
    const child = this.child;
    return new Promise((resolve) => {
      let timedOut = false;
      let outOfMemoryMb: number | null = null;
      const timer = limits.timeoutMs === undefined ? null : setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, limits.timeoutMs);
      const { memoryLimitMb } = limits;
      const watchdog = memoryLimitMb === undefined ? null : setInterval(() => {
        const rss = child.pid === undefined ? null : residentMb(child.pid);
        if (rss !== null && rss > memoryLimitMb && outOfMemoryMb === null) {
          outOfMemoryMb = Math.round(rss);
          child.kill('SIGKILL');
        }
      }, MEMORY_CHECK_MS);
      watchdog?.unref();
      const onMessage = (reply: Reply): void => {
        const value = handle(reply);
        if (value === undefined) return;
        cleanup();
        resolve({ kind: 'reply', value });
      };
      const onExit = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
        cleanup();
        resolve({ kind: 'died', death: { signal, exitCode }, timedOut, outOfMemoryMb });
      };
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        if (watchdog) clearInterval(watchdog);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(request as object);
    });
  }

  /** Kills the child at once (SIGKILL). */
  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  /** Asks the child to exit; `killAfterMs`: kill it if it has not exited by then (closing a damaged database can hang). */
  stop(options: { killAfterMs?: number } = {}): void {
    const child = this.child;
    if (child.connected) child.send({ type: 'exit' });
    if (options.killAfterMs !== undefined && this.alive) setTimeout(() => child.kill('SIGKILL'), options.killAfterMs).unref();
  }
}
