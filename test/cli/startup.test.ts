/**
 * `--help` and `--version` must start fast: they must never load Kuzu (a 540 MB package whose
 * native module takes longer to load than the whole rest of the tool). A preload script records,
 * in every process of the run, whether any kuzu file is in the module cache or the native
 * kuzujs.node is mapped into memory. The control case proves the probe sees Kuzu when it is loaded.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BIN, makeLocrit, ROOT, tempDir } from '../helpers.js';

const PROBE = `
const fs = require('fs');
process.on('exit', () => {
  const found = new Set();
  for (const key of Object.keys(require.cache)) if (/[\\\\/]kuzu[\\\\/]/.test(key)) found.add(key);
  try {
    for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\\n')) if (/kuzu/i.test(line)) found.add(line.trim().split(/\\s+/).pop());
  } catch {}
  fs.appendFileSync(process.env.KUZU_PROBE_FILE, JSON.stringify({ pid: process.pid, argv: process.argv.slice(1), kuzu: [...found] }) + '\\n');
});
`;

interface ProbeLine {
  pid: number;
  argv: string[];
  kuzu: string[];
}

/** Runs the real launcher with the probe preloaded in it and in every process it forks. */
function probed(dir: string, args: string[]): Promise<{ code: number; stdout: string; lines: ProbeLine[] }> {
  const script = path.join(dir, 'probe.cjs');
  const report = path.join(dir, `probe-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`);
  fs.writeFileSync(script, PROBE);
  const env = { ...process.env, NO_COLOR: '1', LOCRIT_MEM_CONFIG: '', NODE_OPTIONS: `--require ${script}`, KUZU_PROBE_FILE: report };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? Number((error as NodeJS.ErrnoException).code) : -1) : 0;
      const lines = fs.existsSync(report) ? fs.readFileSync(report, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as ProbeLine) : [];
      resolve({ code, stdout, lines });
    });
  });
}

describe('start-up', () => {
  for (const flag of ['--version', '-V', '--help', 'stats --help']) {
    it(`locrit-mem ${flag} does not load Kuzu`, async (t) => {
      const dir = tempDir(t);
      const run = await probed(dir, flag.split(' '));
      assert.equal(run.code, 0);
      assert.ok(run.stdout.length > 0);
      assert.ok(run.lines.length >= 1, 'the probe must have reported from the launcher process');
      assert.deepEqual(run.lines.filter((l) => l.kuzu.length > 0), [], 'no process may load Kuzu');
    });
  }

  it('the probe does see Kuzu when a command loads it (in the worker processes of stats)', async (t) => {
    const dir = tempDir(t);
    const data = path.join(dir, 'data');
    await makeLocrit(data, { name: 'one', messages: 20 });
    const run = await probed(dir, ['-d', data, 'stats', '--json']);
    assert.equal(run.code, 0);
    assert.equal(JSON.parse(run.stdout).total.messages, 20);
    const loaders = run.lines.filter((l) => l.kuzu.some((k) => k.endsWith('kuzujs.node')));
    assert.ok(loaders.length >= 1, `a worker must have loaded kuzujs.node: ${JSON.stringify(run.lines)}`);
  });
});
