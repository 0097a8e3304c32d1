import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { CONFIG_SPEC, defaultValues } from '../../src/config/spec.js';
import { ConfigError } from '../../src/errors.js';
import { ROOT, tempDir, writeConfig } from '../helpers.js';

describe('configuration', () => {
  it('uses the built-in defaults, equal to the seed, when no file is found', (t) => {
    const dir = tempDir(t);
    const config = loadConfig({ cwd: dir, env: {} });
    assert.equal(config.source, null);
    assert.deepEqual(config.values.memory, {
      base_path: 'data/memory', max_db_size_mb: 100, max_messages_per_locrit: 5000, archive_after_days: 30, enable_embeddings: false,
      auto_cleanup: true, cleanup_interval_hours: 24, max_messages_per_conversation: 1000, embedding_dimension: 768,
    });
  });

  it('keeps config.example.yaml equal to the built-in defaults, key for key', () => {
    const example = parse(fs.readFileSync(path.join(ROOT, 'config.example.yaml'), 'utf8'));
    assert.deepEqual(example, defaultValues());
    assert.deepEqual(Object.keys(example), Object.keys(CONFIG_SPEC));
  });

  it('looks up --config, then $LOCRIT_MEM_CONFIG, then ./locrit-mem.yaml', (t) => {
    const dir = tempDir(t);
    writeConfig(dir, 'memory:\n  max_messages_per_locrit: 1\n');
    const fromEnv = writeConfig(dir, 'memory:\n  max_messages_per_locrit: 2\n', 'env.yaml');
    const explicit = writeConfig(dir, 'memory:\n  max_messages_per_locrit: 3\n', 'explicit.yaml');
    assert.equal(loadConfig({ cwd: dir, env: {} }).values.memory.max_messages_per_locrit, 1);
    assert.equal(loadConfig({ cwd: dir, env: { LOCRIT_MEM_CONFIG: fromEnv } }).values.memory.max_messages_per_locrit, 2);
    assert.equal(loadConfig({ cwd: dir, env: { LOCRIT_MEM_CONFIG: fromEnv }, explicitPath: explicit }).values.memory.max_messages_per_locrit, 3);
  });

  it("reads the application's own config.yaml: its memory section, ignoring the others", () => {
    const config = parseConfig(
      ['app:', '  name: Locrit', 'llm:', '  model: llama3', 'memory:', '  max_db_size_mb: 50', '  enable_embeddings: true', 'network:', '  port: 8080', ''].join('\n'),
      '/srv/locrit/config.yaml',
    );
    assert.equal(config.values.memory.max_db_size_mb, 50);
    assert.equal(config.values.memory.enable_embeddings, true);
    assert.equal(config.values.memory.max_messages_per_locrit, 5000);
    assert.deepEqual(config.warnings, []);
    assert.equal(config.baseDir, '/srv/locrit');
  });

  it('names the key, the file and the line of a wrong value', () => {
    const text = 'memory:\n  max_db_size_mb: 100\n  max_messages_per_locrit: lots\n';
    assert.throws(() => parseConfig(text, '/etc/locrit.yaml'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, `/etc/locrit.yaml:3: 'memory.max_messages_per_locrit' must be a whole number >= 0, got "lots"`);
      assert.equal(error.exitCode, 2);
      return true;
    });
    assert.throws(() => parseConfig('retention:\n  emergency_fraction: 1.5\n', 'c.yaml'), /c\.yaml:2: 'retention\.emergency_fraction' must be a number from 0 to 1, got 1\.5/);
    assert.throws(() => parseConfig('memory:\n  enable_embeddings: "no"\n', 'c.yaml'), /c\.yaml:2: 'memory\.enable_embeddings' must be true or false/);
    assert.throws(() => parseConfig('retention:\n  critical_patterns: error\n', 'c.yaml'), /must be a list of strings/);
    assert.throws(() => parseConfig('memory: [1, 2]\n', 'c.yaml'), /c\.yaml:1: section 'memory' must be a mapping/);
    assert.throws(() => parseConfig('memory:\n  max_db_size_mb: [\n', 'c.yaml'), /c\.yaml:\d+: not valid YAML/);
  });

  it('warns about an unknown key in a section we own, suggesting the nearest one', () => {
    const config = parseConfig('memory:\n  max_message_per_locrit: 10\nretention:\n  zzz: 1\n', 'c.yaml');
    assert.deepEqual(config.warnings, [
      "c.yaml:2: unknown key 'memory.max_message_per_locrit' is ignored (did you mean 'memory.max_messages_per_locrit'?)",
      "c.yaml:4: unknown key 'retention.zzz' is ignored",
    ]);
    assert.equal(config.values.memory.max_messages_per_locrit, 5000);
  });

  it('fails clearly when the named file does not exist', (t) => {
    const dir = tempDir(t);
    assert.throws(() => loadConfig({ cwd: dir, env: {}, explicitPath: 'missing.yaml' }), /config file .*missing\.yaml \(from --config\) does not exist/);
  });

  it("reads the application's shipped config.yaml with no warning: its memory keys known, max_messages as the per-Locrit limit", () => {
    const file = path.join(ROOT, 'test', 'config', 'application-config.yaml');
    const text = fs.readFileSync(file, 'utf8');
    const config = parseConfig(text, file);
    assert.deepEqual(config.warnings, []);
    assert.deepEqual(config.notes, []);
    assert.equal(config.values.memory.max_messages_per_locrit, 10000);
    const line = text.split('\n').findIndex((l) => l.startsWith('  max_messages: 10000')) + 1;
    assert.deepEqual(config.sources['memory.max_messages_per_locrit'], { from: 'config', key: 'memory.max_messages', file, line });
    assert.deepEqual(config.sources['memory.max_db_size_mb'], { from: 'default', key: 'memory.max_db_size_mb', file: null, line: null });
    assert.deepEqual(config.application, { max_messages: 10000, enabled: false, use_kuzu: false });
    // It names an embedding model, so stored embeddings are expected.
    assert.equal(config.values.memory.enable_embeddings, true);
    assert.equal(config.sources['memory.enable_embeddings'].key, 'memory.embedding_model');
    assert.equal(parseConfig('memory:\n  embedding_model: nomic-embed-text\n  enable_embeddings: false\n', 'c.yaml').values.memory.enable_embeddings, false);
    // The application's database_path is a legacy file path: the data directory stays data/memory.
    assert.equal(config.values.memory.base_path, 'data/memory');
    const registry = config.registry!;
    assert.equal(registry.defaultMemoryService, 'plaintext_file');
    assert.deepEqual(
      registry.instances.map((l) => [l.displayName, l.active, l.memoryService, l.memoryServiceSource?.key]),
      [
        ['Bob Technique', true, 'kuzu_graph', 'locrits.instances.Bob Technique.memory_service'],
        ['\u00c9lise Caf\u00e9', false, 'kuzu_graph', 'locrits.instances.\u00c9lise Caf\u00e9.memory_service'],
        ['Locrit root', false, 'plaintext_file', 'locrits.default_settings.memory_service'],
        ['Marie Recherche', false, 'kuzu_graph', 'locrits.instances.Marie Recherche.memory_service'],
        ['Pixie Assistant', true, 'plaintext_file', 'locrits.instances.Pixie Assistant.memory_service'],
      ],
    );
  });

  it("lets max_messages_per_locrit win over the application's max_messages, and says so", () => {
    const config = parseConfig('memory:\n  max_messages: 10000\n  max_messages_per_locrit: 300\n', 'c.yaml');
    assert.equal(config.values.memory.max_messages_per_locrit, 300);
    assert.deepEqual(config.sources['memory.max_messages_per_locrit'], { from: 'config', key: 'memory.max_messages_per_locrit', file: 'c.yaml', line: 3 });
    assert.equal(config.application.max_messages, 10000);
    assert.throws(() => parseConfig('memory:\n  max_messages: many\n', 'c.yaml'), /c\.yaml:2: 'memory\.max_messages' must be a whole number >= 0, got "many"/);
  });

  it('keeps the application flags it cannot read, and unknown keys of the shared memory section, at info level', () => {
    const config = parseConfig('memory:\n  enabled: maybe\n  future_app_key: 1\n  max_db_size: 5\nlocrits: [1]\n', 'c.yaml');
    assert.deepEqual(config.warnings, ["c.yaml:4: unknown key 'memory.max_db_size' is ignored (did you mean 'memory.max_db_size_mb'?)"]);
    assert.deepEqual(
      config.notes.map((n) => [n.level, n.code, n.message]),
      [
        ['info', 'unexpected-value', "c.yaml:2: 'memory.enabled' is not true or false; ignored"],
        ['info', 'unknown-application-key', "c.yaml:3: unknown key 'memory.future_app_key' is ignored"],
        ['info', 'unexpected-value', "c.yaml:5: 'locrits' is not a mapping; no Locrit is registered"],
      ],
    );
    assert.equal(config.application.enabled, null);
    assert.deepEqual(config.registry, { file: 'c.yaml', defaultMemoryService: null, instances: [] });
  });

  it('has no registry and every value from the built-in defaults without a file', (t) => {
    const config = loadConfig({ cwd: tempDir(t), env: {} });
    assert.equal(config.registry, null);
    assert.deepEqual(config.sources['memory.max_messages_per_locrit'], { from: 'default', key: 'memory.max_messages_per_locrit', file: null, line: null });
    assert.deepEqual(parseConfig('memory:\n  max_db_size_mb: 5\n', 'c.yaml').registry, null);
  });
});
