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
});
