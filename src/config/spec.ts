/**
 * Every configuration key this tool reads, with its type, default and meaning.
 * config.example.yaml is the human copy of this table; test/config/example.test.ts keeps them equal.
 * Keys keep the snake_case spelling of the YAML file so that a key reads the same everywhere.
 */

export type KeyType = 'int' | 'number' | 'bool' | 'string' | 'string-list';

export interface KeySpec {
  type: KeyType;
  default: number | boolean | string | string[] | null;
  min?: number;
  max?: number;
  /** null is allowed (and means "not set"). */
  nullable?: boolean;
  doc: string;
}

export const CONFIG_SPEC = {
  memory: {
    base_path: { type: 'string', default: 'data/memory', doc: 'Folder holding one <locrit>/kuzu.db per Locrit.' },
    max_db_size_mb: { type: 'number', default: 100, min: 0, doc: 'Size limit of one kuzu.db file, in MiB (0 = no limit).' },
    max_messages_per_locrit: { type: 'int', default: 5000, min: 0, doc: 'Message limit per Locrit (0 = no limit).' },
    archive_after_days: { type: 'number', default: 30, min: 0, doc: 'Messages older than this are archived by `archive`.' },
    enable_embeddings: { type: 'bool', default: false, doc: 'Whether the application is meant to store embeddings.' },
    auto_cleanup: { type: 'bool', default: true, doc: "The application's own setting; read and reported, not acted on." },
    cleanup_interval_hours: { type: 'number', default: 24, min: 0, doc: "The application's own setting; read and reported." },
    max_messages_per_conversation: { type: 'int', default: 1000, min: 0, doc: 'Message limit per session (0 = no limit).' },
    embedding_dimension: { type: 'int', default: 768, min: 1, doc: 'Expected length of every embedding vector.' },
  },
  retention: {
    keep_count: { type: 'int', default: 1000, min: 0, doc: 'The most recent messages of a Locrit that age-based archiving never touches.' },
    protect_critical: { type: 'bool', default: true, doc: 'Spare critical messages (metadata.important or a matching pattern).' },
    critical_patterns: { type: 'string-list', default: ['error', 'critical'], doc: 'Case-insensitive substrings that make a message critical.' },
    low_priority_max_chars: { type: 'int', default: 20, min: 0, doc: 'Messages this short (and system messages) should carry no embedding.' },
    emergency_fraction: { type: 'number', default: 0.5, min: 0, max: 1, doc: 'Share of the oldest messages that emergency-cleanup removes when over the message limit.' },
    emergency_days_old: { type: 'number', default: 7, min: 0, doc: 'Age cutoff emergency-cleanup uses when the file is over max_db_size_mb.' },
    emergency_keep_count: { type: 'int', default: 500, min: 0, doc: 'Most recent messages emergency-cleanup keeps when the file is over max_db_size_mb.' },
  },
  archive: {
    dir: { type: 'string', default: 'data/archive', doc: 'Where archives are written: <dir>/<locrit>/<UTC time>/.' },
    batch_messages: { type: 'int', default: 12500, min: 1, doc: 'Messages per archive chunk (one Parquet file each): bounds the memory archiving needs.' },
  },
  backup: {
    dir: { type: 'string', default: null, nullable: true, doc: 'Where backups made before a rewrite go; null = beside kuzu.db.' },
    keep: { type: 'int', default: 3, min: 1, doc: 'Newest locrit-mem backups kept per Locrit; older ones are removed.' },
  },
  conversations: {
    dir: { type: 'string', default: 'data/conversations', doc: "The application's conversation header files (<id>.yaml)." },
  },
  kuzu: {
    buffer_pool_mb: { type: 'int', default: 256, min: 16, doc: 'Kuzu buffer pool per open database, in MiB (bounds memory).' },
    threads: { type: 'int', default: 1, min: 1, doc: 'Kuzu query threads per database (parallelism comes from --jobs).' },
  },
  validate: {
    future_skew_seconds: { type: 'int', default: 300, min: 0, doc: 'A message timestamp further in the future than this is flagged.' },
  },
  run: {
    jobs: { type: 'int', default: 0, min: 0, doc: 'Locrits processed in parallel, each in its own process (0 = number of cores).' },
    app_user: { type: 'string', default: null, nullable: true, doc: "The user the Locrit application runs as (name or uid): validate checks that it can open every database. null = the owner of each Locrit's folder." },
  },
} as const satisfies Record<string, Record<string, KeySpec>>;

/**
 * Keys the Locrit application itself writes in `memory:`, the one section it shares with
 * locrit-mem. They are known (never "unknown key"); `use` says what locrit-mem does with each.
 */
export type ApplicationKeyUse = 'stands-in' | 'reported' | 'ignored';

export const APPLICATION_MEMORY_KEYS = {
  max_messages: {
    use: 'stands-in',
    doc: "The application's message cap (10000 in the file it ships): the per-Locrit message limit when memory.max_messages_per_locrit is not set.",
  },
  enabled: { use: 'reported', doc: 'Shown by the application, not acted on by it: reported at info level (JSON, --verbose), never refused.' },
  use_kuzu: { use: 'reported', doc: 'Shown by the application, not acted on by it: reported at info level (JSON, --verbose), never refused.' },
  database_path: {
    use: 'ignored',
    doc: "A legacy single-file path: the application keeps each Locrit's Kuzu database under data/memory/<folder>/ whatever it says (set memory.base_path or --data-dir).",
  },
  embedding_model: {
    use: 'stands-in',
    doc: 'The model the application makes embeddings with: when set and memory.enable_embeddings is not, stored embeddings are expected (enable_embeddings counts as true).',
  },
  vector_index_path: { use: 'ignored', doc: 'A legacy FAISS index path; the Kuzu memory keeps its vector indexes inside kuzu.db.' },
} as const satisfies Record<string, { use: ApplicationKeyUse; doc: string }>;

type Spec = typeof CONFIG_SPEC;
type ValueOf<K extends KeySpec> = K['type'] extends 'bool'
  ? boolean
  : K['type'] extends 'string-list'
    ? string[]
    : K['type'] extends 'string'
      ? K extends { nullable: true }
        ? string | null
        : string
      : number;

export type ConfigValues = {
  [S in keyof Spec]: { [K in keyof Spec[S]]: Spec[S][K] extends KeySpec ? ValueOf<Spec[S][K]> : never };
};

export function defaultValues(): ConfigValues {
  const values: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(CONFIG_SPEC)) {
    values[section] = {};
    for (const [key, spec] of Object.entries(keys as Record<string, KeySpec>)) {
      values[section][key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
    }
  }
  return values as ConfigValues;
}
