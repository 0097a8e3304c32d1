import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildContext, type Reporter } from '../../src/commands/context.js';
import { ROOT, tempDir, writeConfig } from '../helpers.js';

function recordingReporter(): Reporter & { warnings: string[]; debug: (m: string) => void; debugLines: string[] } {
  const warnings: string[] = [];
  const debugLines: string[] = [];
  return {
    warnings,
    debugLines,
    warn: (m) => warnings.push(m),
    info: () => undefined,
    debug: (m) => debugLines.push(m),
    phase: () => undefined,
    done: () => undefined,
  };
}

describe('command context', () => {
  it('warns about an unknown key once per process, however often the file is read (stats --watch)', (t) => {
    const dir = tempDir(t);
    writeConfig(dir, 'retention:\n  keep_cuont: 5\n');
    const reporter = recordingReporter();
    buildContext({}, reporter, dir, {});
    buildContext({}, reporter, dir, {});
    assert.deepEqual(reporter.warnings, [`${path.join(dir, 'locrit-mem.yaml')}:2: unknown key 'retention.keep_cuont' is ignored (did you mean 'retention.keep_count'?)`]);
  });

  it("gives the application's config.yaml no warning, and shows the limits' sources and the notes with --verbose", (t) => {
    const dir = tempDir(t);
    const config = writeConfig(dir, fs.readFileSync(path.join(ROOT, 'test', 'config', 'application-config.yaml'), 'utf8'), 'config.yaml');
    fs.mkdirSync(path.join(dir, 'data', 'memory', 'old_helper'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data', 'memory', 'old_helper', 'kuzu.db'), 'KUZU');
    const reporter = recordingReporter();
    const context = buildContext({ config: 'config.yaml' }, reporter, dir, {});
    assert.deepEqual(reporter.warnings, []);
    assert.equal(context.dataDir, path.join(dir, 'data', 'memory'));
    assert.match(reporter.debugLines[0], new RegExp(`max_messages_per_locrit = 10000 \\(memory\\.max_messages in ${config.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+\\)`));
    assert.deepEqual(context.notes.map((n) => n.code), ['memory-disabled', 'kuzu-disabled', 'never-started', 'never-started', 'never-started', 'orphaned']);
    assert.deepEqual(reporter.debugLines.slice(1), context.notes.map((n) => `note: ${n.message}`));
  });
});
