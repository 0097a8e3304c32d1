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
import { appBackupName } from '../../src/fixtures/reset.js';
import { withStore, type KuzuStore } from '../../src/store/kuzu.js';

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
  /** Cutoffs at midnight (see dayCutoffs): `half` selects about half the messages, `first` the first day's. */
  cutoffs: { half: DayCutoff; first: DayCutoff };
  vectorIndexes: boolean;
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
      dataDir: templates, name: `template_${v}`, messages, embeddedShare: 0.5, dimension: 768, seed: 100 + v, now: FIXTURE_NOW, bufferPoolMb: 256, serialCopy: true,
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

/**
 * One big Locrit: `messages` messages, half with 768-float embeddings. Without vector indexes
 * unless asked: building the Message HNSW index over 100,000 vectors takes minutes (more than
 * ten on this shared machine), it does not change what stats, archive or validate read, and
 * deleting indexed messages measured only ~13% slower (20k messages, 10k deleted: 3.4 s vs 3.0 s).
 * The compaction benchmark, where the rebuild of the index is most of the work, asks for them.
 */
export async function bigLocrit(messages: number, log: Log, options: Partial<FixtureOptions> = {}): Promise<BigFixture> {
  const fixtureOptions = { messages, embeddedShare: 0.5, dimension: 768, seed: 42, days: 60, vectorIndexes: false, ...options };
  const params = { kind: 'big', ...fixtureOptions, now: FIXTURE_NOW.toISOString(), v: 3 };
  const dir = keyOf(`big${messages}`, params);
  const ready = readReady<BigFixture>(dir);
  if (ready) return { ...ready, dataDir: path.join(dir, 'data'), dbPath: path.join(dir, 'data', ready.name, 'kuzu.db'), cached: true };
  fs.rmSync(dir, { recursive: true, force: true });
  const dataDir = path.join(dir, 'data');
  const started = performance.now();
  log(`  generating a Locrit of ${messages} messages (half with 768-float embeddings${fixtureOptions.vectorIndexes ? ', vector indexes' : ', no vector index'}); cached afterwards...`);
  const summary = await generateLocrit({ dataDir, name: 'big', now: FIXTURE_NOW, bufferPoolMb: 1024, serialCopy: true, ...fixtureOptions });
  const generatedSeconds = (performance.now() - started) / 1000;
  const cutoffs = await withStore(summary.dbPath, { readOnly: true, bufferPoolMb: 256 }, (store) => dayCutoffs(store, [1, Math.floor(messages / 2)]));
  const fixture: BigFixture = {
    dataDir, dbPath: summary.dbPath, name: summary.folder, messages, embedded: summary.embeddedMessageIds.length,
    dbBytes: fs.statSync(summary.dbPath).size, cutoffs, vectorIndexes: fixtureOptions.vectorIndexes, generatedSeconds, cached: false,
  };
  writeReady(dir, fixture);
  log(`  generated in ${generatedSeconds.toFixed(1)} s (${(fixture.dbBytes / 1048576).toFixed(0)} MiB)`);
  return fixture;
}

/**
 * A Locrit of ordinary size, as the application leaves it after a few weeks: 6,000 messages,
 * a fifth with 768-float embeddings, the HNSW vector indexes (building them takes seconds at
 * this size). A nightly run over a hundred Locrits pays its fixed costs once per Locrit.
 */
export async function ordinaryLocrit(log: Log): Promise<BigFixture> {
  return bigLocrit(6_000, log, { embeddedShare: 0.2, vectorIndexes: true });
}

export interface DayCutoff {
  /** Stored wall-clock midnight, `YYYY-MM-DD 00:00:00`. */
  wall: string;
  /** Messages older than it. */
  count: number;
}

/**
 * Archive cutoffs on a midnight with no message within a minute of it, so that the second or
 * so between computing --days and the CLI reading its clock cannot move a message across, and
 * ours and the floor select the same rows. (Midnight also made the benchmark immune to a bug,
 * since fixed in d7a63c6: a JS Date parameter bound as a DATE, truncating the cutoff to midnight.)
 * `targets`: wanted message counts.
 */
async function dayCutoffs(store: KuzuStore, targets: number[]): Promise<{ half: DayCutoff; first: DayCutoff }> {
  const [range] = await store.query<{ lo: Date; hi: Date }>('MATCH (m:Message) RETURN min(m.timestamp) AS lo, max(m.timestamp) AS hi');
  const day = 86_400_000;
  const candidates: DayCutoff[] = [];
  for (let t = Math.ceil(range.lo.getTime() / day) * day; t < range.hi.getTime(); t += day) {
    const wall = new Date(t).toISOString().slice(0, 10) + ' 00:00:00';
    const [row] = await store.query<{ n: number; near: number }>(
      'MATCH (m:Message) RETURN count(CASE WHEN m.timestamp < timestamp($w) THEN 1 END) AS n, count(CASE WHEN m.timestamp >= timestamp($w) - INTERVAL(\'1 minute\') AND m.timestamp < timestamp($w) + INTERVAL(\'1 minute\') THEN 1 END) AS near',
      { w: wall },
    );
    if (Number(row.near) === 0 && Number(row.n) > 0) candidates.push({ wall, count: Number(row.n) });
  }
  const nearest = (target: number): DayCutoff => candidates.reduce((best, c) => (Math.abs(c.count - target) < Math.abs(best.count - target) ? c : best));
  return { first: nearest(targets[0]), half: nearest(targets[1]) };
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

export interface ResetFixture {
  dataDir: string;
  name: string;
  dbPath: string;
  /** The application's backup of the file it moved aside: `kuzu.db.backup_YYYYMMDD_HHMMSS`. */
  backupPath: string;
  messagesEach: number;
  embeddedEach: number;
  /** Messages, users and sessions the merge must hold: the union of both files' ids. */
  expected: { messages: number; users: number; sessions: number };
  dbBytes: number;
  backupBytes: number;
  generatedSeconds: number;
  cached: boolean;
}

/**
 * A Locrit the application reset: `kuzu.db.backup_<stamp>` holds `messages` messages written
 * before the reset, and the fresh `kuzu.db` as many written since (other sessions, same users
 * `user_1`... recreated: conflicts the merge reports). A few embeddings only (`embeddedShare`):
 * a message has none whenever the application's embedding service failed or embeddings are off,
 * and the merge rebuilds the HNSW index over every vector of both files (65 of 77 s when
 * 2 x 10,000 half-embedded messages were merged by hand), which would make the bench run
 * unaffordable at half embedded. No vector index in either source (the merge builds its own).
 */
export async function resetLocrit(messages: number, embeddedShare: number, log: Log): Promise<ResetFixture> {
  const params = { kind: 'reset', messages, embeddedShare, dimension: 768, now: FIXTURE_NOW.toISOString(), v: 1 };
  const dir = keyOf(`reset${messages}`, params);
  const ready = readReady<ResetFixture>(dir);
  const name = 'reset';
  if (ready) {
    const dataDir = path.join(dir, 'data');
    return { ...ready, dataDir, dbPath: path.join(dataDir, name, 'kuzu.db'), backupPath: path.join(dataDir, name, path.basename(ready.backupPath)), cached: true };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const dataDir = path.join(dir, 'data');
  const started = performance.now();
  log(`  generating a reset Locrit: 2 x ${messages} messages (${embeddedShare * 100} % with 768-float embeddings); cached afterwards...`);
  const days = 30;
  const resetAt = new Date(FIXTURE_NOW.getTime() - (days + 1) * 86_400_000);
  const common = { dataDir, name, messages, embeddedShare, dimension: 768, days, vectorIndexes: false, serialCopy: true, bufferPoolMb: 512, concepts: 0, topics: 0, memories: 0 };
  const before = await generateLocrit({ ...common, seed: 501, now: resetAt });
  const backupPath = path.join(path.dirname(before.dbPath), appBackupName(resetAt));
  fs.renameSync(before.dbPath, backupPath);
  const after = await generateLocrit({ ...common, seed: 502, now: FIXTURE_NOW });
  const union = (a: string[], b: string[]): number => new Set([...a, ...b]).size;
  const fixture: ResetFixture = {
    dataDir, name, dbPath: after.dbPath, backupPath, messagesEach: messages, embeddedEach: before.embeddedMessageIds.length,
    expected: {
      messages: union(before.messageIds, after.messageIds),
      users: Math.max(before.nodeCounts.User ?? 0, after.nodeCounts.User ?? 0),
      sessions: union(Object.keys(before.sessionSizes), Object.keys(after.sessionSizes)),
    },
    dbBytes: fs.statSync(after.dbPath).size, backupBytes: fs.statSync(backupPath).size,
    generatedSeconds: (performance.now() - started) / 1000, cached: false,
  };
  writeReady(dir, fixture);
  log(`  generated in ${fixture.generatedSeconds.toFixed(1)} s`);
  return fixture;
}

export interface DamagedFixture {
  dataDir: string;
  name: string;
  dbPath: string;
  messages: number;
  /** Rows per table before the damage (what a perfect salvage would bring back). */
  rowsBefore: Record<string, number>;
  damagedPages: number[];
  dbBytes: number;
  generatedSeconds: number;
  cached: boolean;
}

/**
 * A Locrit of `messages` messages with the 4 KiB pages `pages` overwritten by a fixed byte
 * pattern. Serial COPY and no vector index, so that the file's layout, hence what the damage
 * hits, is the same on every run. The pages are chosen, not drawn: at this size most random
 * pages either read back silently (Kuzu keeps no checksums) or crash Kuzu's open (nothing can be
 * read then); these three hit data that is read after the open (the Message keys among them).
 * Few embeddings, as in the reset fixture (the salvage rebuilds the vector indexes).
 */
export async function damagedLocrit(messages: number, pages: number[], log: Log): Promise<DamagedFixture> {
  const params = { kind: 'damaged', messages, pages, embeddedShare: 0.02, dimension: 768, now: FIXTURE_NOW.toISOString(), v: 2 };
  const dir = keyOf(`damaged${messages}`, params);
  const ready = readReady<DamagedFixture>(dir);
  const name = 'damaged';
  if (ready) return { ...ready, dataDir: path.join(dir, 'data'), dbPath: path.join(dir, 'data', name, 'kuzu.db'), cached: true };
  fs.rmSync(dir, { recursive: true, force: true });
  const dataDir = path.join(dir, 'data');
  const started = performance.now();
  log(`  generating a Locrit of ${messages} messages with ${pages.length} damaged pages; cached afterwards...`);
  const summary = await generateLocrit({ dataDir, name, messages, embeddedShare: 0.02, dimension: 768, seed: 601, now: FIXTURE_NOW, vectorIndexes: false, serialCopy: true, bufferPoolMb: 512 });
  const rowsBefore = { ...summary.nodeCounts, ...summary.relCounts };
  const fd = fs.openSync(summary.dbPath, 'r+');
  try {
    for (const page of pages) fs.writeSync(fd, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + page * 7) % 256)), 0, 4096, page * 4096);
  } finally {
    fs.closeSync(fd);
  }
  const fixture: DamagedFixture = {
    dataDir, name, dbPath: summary.dbPath, messages, rowsBefore, damagedPages: pages, dbBytes: fs.statSync(summary.dbPath).size,
    generatedSeconds: (performance.now() - started) / 1000, cached: false,
  };
  writeReady(dir, fixture);
  log(`  generated in ${fixture.generatedSeconds.toFixed(1)} s`);
  return fixture;
}
