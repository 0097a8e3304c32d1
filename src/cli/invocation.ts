/**
 * Commands suggested in output (`Try: ...`, `Next: ...`, "run `locrit-mem recover carol`") must
 * work when pasted: they carry the `-d` / `-c` the run itself was given.
 */

const SUBCOMMANDS = ['stats', 'archive', 'emergency-cleanup', 'validate', 'recover'];
const SUGGESTED = new RegExp(`\\blocrit-mem (?=(?:${SUBCOMMANDS.join('|')})\\b)`, 'g');

/** Quotes a word for a POSIX shell when it needs it. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/u.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The global `-d` and `-c` options of a command line, as given (the working folder is the same when pasted). */
export function locatingOptions(args: string[]): string[] {
  const out: string[] = [];
  const names: Record<string, string> = { '-d': '-d', '--data-dir': '-d', '-c': '-c', '--config': '-c' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') break;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!(name in names)) continue;
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) break;
    out.push(names[name], shellWord(value));
  }
  return out;
}

/** Rewrites every suggested `locrit-mem <subcommand>` in `text` to carry `options`. */
export function withLocatingOptions(text: string, options: string[]): string {
  if (options.length === 0) return text;
  return text.replace(SUGGESTED, `locrit-mem ${options.join(' ')} `);
}
