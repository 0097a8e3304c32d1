/**
 * Runs the launcher on a real pseudo-terminal (util-linux `script`), as an operator at a
 * terminal would: stdin, stdout and stderr are the terminal, Ctrl-C is the terminal's interrupt
 * character (sent to the whole foreground process group, as a shell does), and the width is set
 * with stty.
 */
import { spawn } from 'node:child_process';
import { BIN } from '../helpers.js';

export interface TerminalRun {
  /** Everything the terminal showed, with \r\n turned into \n. */
  output(): string;
  /** Resolves once the terminal has shown text matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Types on the terminal's keyboard. */
  type(keys: string): void;
  /** Ctrl-C. */
  interrupt(): void;
  /** The exit code of the command. */
  exited: Promise<number>;
  /** Ends the terminal session (after a failed assertion). */
  kill(): void;
}

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/** A prompt waiting for an answer (readline may move the cursor after it). */
export const PROMPT = /\[y\/N\] (\x1b\[\d+G)?$/;

export function inTerminal(args: string[], options: { cwd: string; columns?: number; env?: NodeJS.ProcessEnv }): TerminalRun {
  const command = `stty cols ${options.columns ?? 100} rows 40; exec ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: options.cwd,
    env: { ...process.env, LOCRIT_MEM_CONFIG: '', NO_COLOR: '1', CI: undefined, TERM: 'xterm', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const onData = (chunk: Buffer): void => {
    text += chunk.toString().replace(/\r\n/g, '\n');
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return {
    output: () => text,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(text)) return resolve();
        const timer = setTimeout(() => reject(new Error(`the terminal never showed ${pattern}; it showed:\n${text}`)), timeoutMs);
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    type: (keys) => child.stdin.write(keys),
    interrupt: () => child.stdin.write('\x03'),
    exited: exited.finally(() => child.stdin.end()),
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
