/**
 * Where a setting's value came from, so that a report can say why a limit is what it is
 * ("memory.max_messages in /srv/locrit/config.yaml:71", "built-in default", "--max-messages").
 */
export interface ValueSource {
  /** config: read from the file; default: the built-in default; flag: a command-line flag. */
  from: 'config' | 'default' | 'flag';
  /** The key (or flag) the value was read from; for a default, the key it is the default of. */
  key: string;
  /** The configuration file, or null for a default or a flag. */
  file: string | null;
  /** Line of the key in that file, or null. */
  line: number | null;
}

export function defaultSource(key: string): ValueSource {
  return { from: 'default', key, file: null, line: null };
}

export function flagSource(flag: string): ValueSource {
  return { from: 'flag', key: flag, file: null, line: null };
}

/** One short phrase: "memory.max_messages in /srv/locrit/config.yaml:71", "built-in default", "flag --max-messages". */
export function describeSource(source: ValueSource): string {
  if (source.from === 'default') return 'built-in default';
  if (source.from === 'flag') return `flag ${source.key}`;
  return `${source.key} in ${source.file}${source.line !== null ? `:${source.line}` : ''}`;
}
