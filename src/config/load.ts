import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { ConfigError } from '../errors.js';
import { APPLICATION_MEMORY_KEYS, CONFIG_SPEC, defaultValues, type ConfigValues, type KeySpec } from './spec.js';
import { nearest } from './nearest.js';
import { parseRegistry } from './parseRegistry.js';
import { configNote, type ConfigNote, type LocritRegistry } from './registry.js';
import { defaultSource, type ValueSource } from './sources.js';

/** The application's own `memory:` keys that locrit-mem reads, as written (null: not in the file). */
export interface ApplicationMemory {
  max_messages: number | null;
  enabled: boolean | null;
  use_kuzu: boolean | null;
}

export interface LoadedConfig {
  values: ConfigValues;
  /** The file the values came from, or null for built-in defaults. */
  source: string | null;
  /** Relative paths in the configuration resolve against this folder. */
  baseDir: string;
  /** Unknown keys and other things worth telling, one line each. */
  warnings: string[];
  /** Where each key's effective value came from, by 'section.key' (every key of CONFIG_SPEC). */
  sources: Record<string, ValueSource>;
  /** The application's own memory keys, as read. */
  application: ApplicationMemory;
  /** The application's Locrit registry (`locrits:`), or null when the file has no such section. */
  registry: LocritRegistry | null;
  /** Info-level notes about the file (never warnings): shown with --verbose and in the JSON. */
  notes: ConfigNote[];
}

function defaultSources(): Record<string, ValueSource> {
  const sources: Record<string, ValueSource> = {};
  for (const [section, keys] of Object.entries(CONFIG_SPEC)) {
    for (const key of Object.keys(keys)) sources[`${section}.${key}`] = defaultSource(`${section}.${key}`);
  }
  return sources;
}

function noApplication(): ApplicationMemory {
  return { max_messages: null, enabled: null, use_kuzu: null };
}

export const CONFIG_ENV = 'LOCRIT_MEM_CONFIG';
export const LOCAL_CONFIG_NAME = 'locrit-mem.yaml';

/**
 * Finds and reads the configuration: --config, else $LOCRIT_MEM_CONFIG, else ./locrit-mem.yaml,
 * else built-in defaults. The Locrit application's own config.yaml works as it is: sections we
 * do not own are ignored.
 */
export function loadConfig(options: { explicitPath?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  let file: string | null = null;
  let origin = '';
  if (options.explicitPath) {
    file = path.resolve(cwd, options.explicitPath);
    origin = '--config';
  } else if (env[CONFIG_ENV]) {
    file = path.resolve(cwd, env[CONFIG_ENV]!);
    origin = `$${CONFIG_ENV}`;
  } else if (fs.existsSync(path.join(cwd, LOCAL_CONFIG_NAME))) {
    file = path.join(cwd, LOCAL_CONFIG_NAME);
  }
  if (file === null) {
    return { values: defaultValues(), source: null, baseDir: cwd, warnings: [], sources: defaultSources(), application: noApplication(), registry: null, notes: [] };
  }

  let text: string;
  try {
    // A FIFO or a device would block the read forever: only a regular file is read.
    const stat = fs.statSync(file);
    if (!stat.isFile()) {
      throw new ConfigError(`config file ${file} (from ${origin || 'the working folder'}) is not a regular file`, 'pass a YAML file with --config, or omit it to use the defaults');
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ConfigError(`config file ${file} (from ${origin || 'the working folder'}) ${why}`, 'pass an existing file with --config, or omit it to use the defaults');
  }
  return parseConfig(text, file);
}

/** Parses and validates configuration text; `file` names it in messages and anchors relative paths. */
export function parseConfig(text: string, file: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (node: { range?: [number, number, number] | null } | null | undefined): number =>
    node?.range ? lineCounter.linePos(node.range[0]).line : 1;
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new ConfigError(`${file}:${line}: not valid YAML (${first.message.split('\n')[0]})`, 'fix the YAML syntax at that line');
  }
  const values = defaultValues() as unknown as Record<string, Record<string, unknown>>;
  const warnings: string[] = [];
  const notes: ConfigNote[] = [];
  const sources = defaultSources();
  const application = noApplication();
  let registry: LocritRegistry | null = null;
  let maxMessagesSource: ValueSource | null = null;
  let embeddingModelSource: ValueSource | null = null;
  const root = doc.contents;
  if (root !== null && !isMap(root)) {
    throw new ConfigError(`${file}:${lineOf(root as Node)}: the configuration must be a mapping of sections (memory:, retention:, ...)`, 'see config.example.yaml');
  }
  for (const sectionPair of (root?.items ?? []) as Pair[]) {
    const sectionName = String(isScalar(sectionPair.key) ? sectionPair.key.value : sectionPair.key);
    if (sectionName === 'locrits') {
      registry = parseRegistry(sectionPair.value as Node | null, file, lineOf, notes);
      continue;
    }
    const sectionSpec = (CONFIG_SPEC as Record<string, Record<string, KeySpec>>)[sectionName];
    if (!sectionSpec) continue; // The application's config.yaml has many sections we do not use.
    const sectionNode = sectionPair.value as Node | null;
    if (sectionNode === null || (isScalar(sectionNode) && sectionNode.value === null)) continue;
    if (!isMap(sectionNode)) {
      throw new ConfigError(`${file}:${lineOf(sectionNode)}: section '${sectionName}' must be a mapping of keys`, 'see config.example.yaml');
    }
    // `memory:` is shared with the application, which may add keys of its own at any time.
    const shared = sectionName === 'memory';
    for (const pair of sectionNode.items as Pair[]) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const keyLine = lineOf(pair.key as Node);
      const spec = sectionSpec[key];
      const valueNode = pair.value as Node | null;
      const where = `${file}:${lineOf(valueNode ?? (pair.key as Node))}`;
      if (!spec && shared && key in APPLICATION_MEMORY_KEYS) {
        if (key === 'max_messages') {
          application.max_messages = checkValue(valueNode, { type: 'int', default: null, min: 0, doc: '' }, 'memory.max_messages', where) as number;
          maxMessagesSource = { from: 'config', key: 'memory.max_messages', file, line: keyLine };
        } else if (key === 'embedding_model') {
          const value = isScalar(valueNode) ? valueNode.value : null;
          if (typeof value === 'string' && value !== '') embeddingModelSource = { from: 'config', key: 'memory.embedding_model', file, line: keyLine };
        } else if (key === 'enabled' || key === 'use_kuzu') {
          const value = isScalar(valueNode) ? valueNode.value : null;
          if (typeof value === 'boolean') application[key] = value;
          else notes.push(configNote('unexpected-value', `${file}:${keyLine}: 'memory.${key}' is not true or false; ignored`));
        }
        // The others (database_path, vector_index_path) are read and ignored: see APPLICATION_MEMORY_KEYS.
        continue;
      }
      if (!spec) {
        const suggestion = nearest(key, Object.keys(sectionSpec));
        const message = `${file}:${keyLine}: unknown key '${sectionName}.${key}' is ignored` + (suggestion ? ` (did you mean '${sectionName}.${suggestion}'?)` : '');
        // In the shared section only a likely misspelling of a locrit-mem key is worth a warning on every run.
        if (shared && !suggestion) notes.push(configNote('unknown-application-key', message));
        else warnings.push(message);
        continue;
      }
      values[sectionName][key] = checkValue(valueNode, spec, `${sectionName}.${key}`, where);
      sources[`${sectionName}.${key}`] = { from: 'config', key: `${sectionName}.${key}`, file, line: keyLine };
    }
  }
  // The application's own message cap stands in for locrit-mem's per-Locrit limit when that is not set.
  if (application.max_messages !== null && sources['memory.max_messages_per_locrit'].from === 'default') {
    values.memory.max_messages_per_locrit = application.max_messages;
    sources['memory.max_messages_per_locrit'] = maxMessagesSource!;
  }
  // An application that names an embedding model stores embeddings: they are expected, not waste.
  if (embeddingModelSource !== null && sources['memory.enable_embeddings'].from === 'default') {
    values.memory.enable_embeddings = true;
    sources['memory.enable_embeddings'] = embeddingModelSource;
  }
  return { values: values as unknown as ConfigValues, source: file, baseDir: path.dirname(file), warnings, sources, application, registry, notes };
}

function checkValue(node: Node | null, spec: KeySpec, key: string, where: string): unknown {
  const fail = (expected: string, got: unknown): never => {
    throw new ConfigError(`${where}: '${key}' must be ${expected}, got ${JSON.stringify(got)}`, `fix '${key}' (see config.example.yaml for its meaning and default)`);
  };
  if (spec.type === 'string-list') {
    if (!isSeq(node)) return fail('a list of strings', isScalar(node) ? node.value : null);
    const items = node.items.map((item) => (isScalar(item) ? item.value : null));
    if (items.some((item) => typeof item !== 'string' || item.length === 0)) return fail('a list of non-empty strings', items);
    return items;
  }
  if (node !== null && !isScalar(node)) return fail(describe(spec), isSeq(node) ? '(a list)' : '(a mapping)');
  const value = isScalar(node) ? node.value : null;
  if (value === null) {
    if (spec.nullable) return null;
    return fail(describe(spec), null);
  }
  switch (spec.type) {
    case 'bool':
      if (typeof value !== 'boolean') fail('true or false', value);
      return value;
    case 'string':
      if (typeof value !== 'string' || value.length === 0) fail('a non-empty string', value);
      return value;
    case 'int':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail(describe(spec), value);
      if (spec.type === 'int' && !Number.isInteger(value)) fail(describe(spec), value);
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) fail(describe(spec), value);
      return value;
    }
  }
  return value;
}

function describe(spec: KeySpec): string {
  const noun = spec.type === 'int' ? 'a whole number' : spec.type === 'number' ? 'a number' : spec.type === 'bool' ? 'true or false' : 'a string';
  if (spec.min !== undefined && spec.max !== undefined) return `${noun} from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `${noun} >= ${spec.min}`;
  return noun;
}

/** Resolves a path from the configuration against the folder of the file it came from. */
export function resolveConfigPath(config: LoadedConfig, value: string): string {
  return path.resolve(config.baseDir, value);
}
