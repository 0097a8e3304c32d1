/**
 * Benchmark fixtures, generated once with the project's own generator and cached in
 * bench/.data/<name>-<hash of the parameters>/ so that reruns skip them. A fixture is ready
 * when its `fixture.json` exists (written last); a half-built folder is rebuilt.
 * Destructive benchmarks work on copies (`scratchCopy`), never on the cached file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateLocrit, type FixtureOptions } from '../../src/fixtures/generate.js';
import { withStore } from '../../src/store/kuzu.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DATA = path.join(ROOT, 'bench', '.data');
/** Fixtures' fixed clock, so that cached files do not depend on the day they were built. */
export const FIXTURE_NOW = new Date('2026-11-01T12:00:00');

export interface LocritSetFixture {
  dataDir: string;
  locrits: number;
  messagesEach: number;
  generatedSeconds: number;
  cached: boolean;
}

export interface BigFixture {
  dataDir: string;
  dbPath: string;
  name: string;
  messages: number;
  embedded: number;
  dbBytes: number;
  /** Stored wall-clock of the `archiveCount`-th oldest message: messages before it are the oldest archiveCount. */
  archiveCutoff: string;
  archiveCount: number;
  generatedSeconds: number;
  cached: boolean;
}

type Log = (line: string) => void;

function keyOf(name: string, params: object): string {
  const hash = crypto.createHash('sha256').update(JSON.stringify(params)).digest('hex').slice(0, 10);
  return path.join(DATA, `${name}-${hash}`);
}

function readReady<T>(dir: string): T | null {
  const marker = path.join(dir, 'fixture.json');
  if (!fs.existsSync(marker)) return null;
  return JSON.parse(fs.readFileSync(marker, 'utf8')) as T;
}

function writeReady(dir: string, value: object): void {
  fs.writeFileSync(path.join(dir, 'fixture.json'), `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * `count` Locrits of `messages` messages each (half with 768-float embeddings and the vector
 * indexes, as the application makes them). `variants` distinct databases are generated and
 * copied to the other folders: the copies are byte-identical databases under other folder
 * names, which is all `stats` can tell apart, and keeps a cold start to seconds.
 */
export async function locritSet(count: number, messages: number, log: Log, variants = 4): Promise<LocritSetFixture> {
  const params = { kind: 'set', count, messages, variants, dimension: 768, embeddedShare: 0.5, now: FIXTURE_NOW.toISOString(), v: 1 };
  const dir = keyOf(`set${count}x${messages}`, params);
  const ready = readReady<LocritSetFixture>(dir);
  if (ready) return { ...ready, dataDir: path.join(dir, 'data'), cached: true };
  fs.rmSync(dir, { recursive: true, force: true });
  const dataDir = path.join(dir, 'data');
  const templates = path.join(dir, 'templates');
  const started = performance.now();
  log(`  generating ${variants} Locrits of ${messages} messages (768-float embeddings, vector indexes)...`);
  const files: string[] = [];
  for (let v = 0; v < Math.min(variants, count); v++) {
    const summary = await generateLocrit({
      dataDir: templates, name: `template_${v}`, messages, embeddedShare: 0.5, dimension: 768, seed: 100 + v, now: FIXTURE_NOW, bufferPoolMb: 256,
    });
    files.push(summary.dbPath);
  }
  for (let i = 0; i < count; i++) {
    const folder = path.join(dataDir, `locrit_${String(i + 1).padStart(3, '0')}`);
    fs.mkdirSync(folder, { recursive: true });
    fs.copyFileSync(files[i % files.length], path.join(folder, 'kuzu.db'));
  }
  fs.rmSync(templates, { recursive: true, force: true });
  const fixture: LocritSetFixture = { dataDir, locrits: count, messagesEach: messages, generatedSeconds: (performance.now() - started) / 1000, cached: false };
  writeReady(dir, fixture);
  return fixture;
}

/** One big Locrit: `messages` messages, half with 768-float embeddings, vector indexes built. */
export async function bigLocrit(messages: number, log: Log, options: Partial<FixtureOptions> = {}): Promise<BigFixture> {
  const archiveCount = Math.floor(messages / 2);
  const fixtureOptions = { messages, embeddedShare: 0.5, dimension: 768, seed: 42, days: 60, ...options };
  const params = { kind: 'big', ...fixtureOptions, now: FIXTURE_NOW.toISOString(), v: 1 };
  const dir = keyOf(`big${messages}`, params);
  const ready = readReady<BigFixture>(dir);
  if (ready) return { ...ready, dataDir: path.join(dir, 'data'), dbPath: path.join(dir, 'data', ready.name, 'kuzu.db'), cached: true };
  fs.rmSync(dir, { recursive: true, force: true });
  const dataDir = path.join(dir, 'data');
  const started = performance.now();
  log(`  generating a Locrit of ${messages} messages (half with 768-float embeddings, vector indexes); this is the slow part of a cold run...`);
  const summary = await generateLocrit({ dataDir, name: 'big', now: FIXTURE_NOW, bufferPoolMb: 1024, ...fixtureOptions });
  const generatedSeconds = (performance.now() - started) / 1000;
  const archiveCutoff = await withStore(summary.dbPath, { readOnly: true, bufferPoolMb: 256 }, async (store) => {
    const [row] = await store.query<{ t: Date }>(`MATCH (m:Message) RETURN m.timestamp AS t ORDER BY t SKIP ${archiveCount} LIMIT 1`);
    return row.t.toISOString().replace('Z', '');
  });
  const fixture: BigFixture = {
    dataDir, dbPath: summary.dbPath, name: summary.folder, messages, embedded: summary.embeddedMessageIds.length,
    dbBytes: fs.statSync(summary.dbPath).size, archiveCutoff, archiveCount, generatedSeconds, cached: false,
  };
  writeReady(dir, fixture);
  log(`  generated in ${generatedSeconds.toFixed(1)} s (${(fixture.dbBytes / 1048576).toFixed(0)} MiB)`);
  return fixture;
}

/** A fresh copy of a fixture's data folder for a destructive run (not timed). */
export function scratchCopy(fixtureDataDir: string, label: string): string {
  const scratch = path.join(DATA, 'scratch', label);
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.cpSync(fixtureDataDir, scratch, { recursive: true });
  return scratch;
}

export function removeScratch(): void {
  fs.rmSync(path.join(DATA, 'scratch'), { recursive: true, force: true });
}
