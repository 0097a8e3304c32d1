/**
 * A preload script (node --require) that records, when its process exits, whether Kuzu was
 * loaded: any kuzu file in the CommonJS module cache, or the native kuzujs.node mapped into
 * the process (/proc/self/maps). Passed through NODE_OPTIONS it also covers forked workers.
 * Each process appends one JSON line {pid, argv, kuzu: [...]} to $KUZU_PROBE_FILE.
 */
import fs from 'node:fs';
import path from 'node:path';

const PROBE_SOURCE = `
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

export interface ProbeLine {
  pid: number;
  argv: string[];
  kuzu: string[];
}

/** Writes the probe into `dir`; returns the env to run a command under it and a reader of its report. */
export function kuzuProbe(dir: string): { env: NodeJS.ProcessEnv; read: () => ProbeLine[] } {
  const script = path.join(dir, 'kuzu-probe.cjs');
  const report = path.join(dir, 'kuzu-probe.jsonl');
  fs.writeFileSync(script, PROBE_SOURCE);
  fs.rmSync(report, { force: true });
  return {
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${script}`.trim(), KUZU_PROBE_FILE: report },
    read: () => (fs.existsSync(report) ? fs.readFileSync(report, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as ProbeLine) : []),
  };
}
