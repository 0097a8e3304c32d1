/**
 * The base Locrits every case is copied from, generated once per campaign: building a Kuzu file
 * costs about a second, copying one a few milliseconds. Each is small (hundreds of messages,
 * 16-float embeddings) and deterministic (fixed seed and `now`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateLocrit } from '../../src/fixtures/generate.js';
import { killWriterMidWrite } from '../../src/fixtures/damage.js';
import { withStore } from '../../src/store/kuzu.js';
import { runTool } from './proc.js';

/** The moment the fixtures' newest messages are close to: ages never depend on the clock. */
export const FIXTURE_NOW = new Date('2026-11-01T12:00:00');
export const LOCRIT = 'alice';

export interface BaseFixture {
  /** Folder holding kuzu.db (and kuzu.db.wal when there is one). */
  dir: string;
  /** Message ids a reader sees (the WAL replayed). */
  ids: string[];
  /** Rows per table a reader sees. */
  tables: Record<string, number>;
}

export interface BaseFixtures {
  root: string;
  /** A healthy Locrit, checkpointed: no WAL. */
  clean: BaseFixture;
  /** The same Locrit after a writer was killed: 5 committed messages sit in kuzu.db.wal. */
  withWal: BaseFixture;
  /** A WAL left by a killed writer of another Locrit (bob), to put beside alice's file. */
  foreignWal: string;
  /** Alice with invalid messages (metadata not JSON, content NULL) for `validate --fix`. */
  defects: BaseFixture;
  /** Ids of the messages `validate --fix` quarantines in `defects`. */
  defectIds: string[];
}

export const MESSAGES = 240;

async function contents(dbPath: string): Promise<{ ids: string[]; tables: Record<string, number> }> {
  return withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
    const ids = (await store.query<{ id: string }>('MATCH (m:Message) RETURN m.id AS id ORDER BY id')).map((r) => r.id);
    const tables: Record<string, number> = {};
    for (const t of ['User', 'Message', 'Session', 'Concept', 'Topic', 'Memory']) tables[t] = Number(await store.scalar(`MATCH (n:${t}) RETURN count(n)`));
    for (const t of ['SENT', 'RESPONDS_TO', 'PART_OF', 'MENTIONS', 'DISCUSSES', 'LEARNS', 'RELATES_TO']) tables[t] = Number(await store.scalar(`MATCH ()-[r:${t}]->() RETURN count(r)`));
    return { ids, tables };
  });
}

export async function buildBaseFixtures(root: string): Promise<BaseFixtures> {
  fs.mkdirSync(root, { recursive: true });
  const make = async (name: string, seed: number, messages: number, sessions: number): Promise<string> => {
    const summary = await generateLocrit({
      dataDir: path.join(root, name), name: LOCRIT, messages, dimension: 16, days: 60, sessions, seed, now: FIXTURE_NOW,
      bufferPoolMb: 64, embeddedShare: 0.5, criticalShare: 0.02, concepts: 12, topics: 4, memories: 6,
    });
    return path.dirname(summary.dbPath);
  };
  const cleanDir = await make('clean', 1, MESSAGES, 4);
  const clean = { dir: cleanDir, ...(await contents(path.join(cleanDir, 'kuzu.db'))) };

  const walDir = path.join(root, 'with-wal', LOCRIT);
  copyLocrit(cleanDir, walDir);
  killWriterMidWrite(path.join(walDir, 'kuzu.db'), { committed: 5, uncommitted: 3, seed: 2 });
  const withWal = { dir: walDir, ...(await contents(path.join(walDir, 'kuzu.db'))) };
  // The read above replayed the WAL in memory only: the pair on disk is still the one the kill left.

  const bobDir = await make('bob', 7, 100, 2);
  killWriterMidWrite(path.join(bobDir, 'kuzu.db'), { committed: 6, uncommitted: 2, seed: 3 });
  const foreignWal = path.join(root, 'bob-kuzu.db.wal');
  fs.copyFileSync(path.join(bobDir, 'kuzu.db.wal'), foreignWal);

  const defectsDir = path.join(root, 'defects', LOCRIT);
  copyLocrit(cleanDir, defectsDir);
  const defectIds = await withStore(path.join(defectsDir, 'kuzu.db'), { readOnly: false, bufferPoolMb: 64 }, async (store) => {
    const ids = (await store.query<{ id: string }>('MATCH (m:Message) RETURN m.id AS id ORDER BY id')).map((r) => r.id);
    const chosen = ids.filter((_, i) => i % 12 === 5);
    for (const [i, id] of chosen.entries()) {
      if (i % 2 === 0) await store.execute("MATCH (m:Message {id: $id}) SET m.metadata = 'not json'", { id });
      else await store.execute('MATCH (m:Message {id: $id}) SET m.content = NULL', { id });
    }
    await store.execute('CHECKPOINT');
    return chosen;
  });
  const defects = { dir: defectsDir, ...(await contents(path.join(defectsDir, 'kuzu.db'))) };
  return { root, clean, withWal, foreignWal, defects, defectIds };
}

/** Copies kuzu.db (and its WAL, if any) into `toDir`. */
export function copyLocrit(fromDir: string, toDir: string): void {
  fs.mkdirSync(toDir, { recursive: true });
  for (const name of ['kuzu.db', 'kuzu.db.wal']) {
    const from = path.join(fromDir, name);
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(toDir, name));
  }
}

/** A fresh case folder: <root>/<case>/data/memory/alice holding a copy of `base`. Returns the case folder. */
export function caseFolder(casesRoot: string, caseId: string, base?: BaseFixture): { dir: string; locritDir: string; dbPath: string } {
  const dir = path.join(casesRoot, caseId);
  fs.rmSync(dir, { recursive: true, force: true });
  const locritDir = path.join(dir, 'data', 'memory', LOCRIT);
  fs.mkdirSync(locritDir, { recursive: true });
  if (base) copyLocrit(base.dir, locritDir);
  return { dir, locritDir, dbPath: path.join(locritDir, 'kuzu.db') };
}

/** An archive of alice made by a real `archive` run, for the restore cases: the folder and the database it left. */
export async function buildArchived(fixtures: BaseFixtures): Promise<{ dir: string; archiveRoot: string; archiveFolder: string; remaining: string[]; archived: string[] }> {
  const { dir, locritDir } = caseFolder(fixtures.root, 'archived', fixtures.clean);
  const run = await runTool(['-d', 'data/memory', '-j', '1', 'archive', '--json', '--days', '0', '--keep', '10', '--max-per-conversation', '20', LOCRIT], { cwd: dir, timeoutMs: 180_000 });
  if (run.code !== 0) throw new Error(`could not make the archive fixture: ${run.stderr}`);
  const archiveRoot = path.join(dir, 'data', 'archive');
  const folders = fs.readdirSync(path.join(archiveRoot, LOCRIT)).filter((f) => !f.startsWith('.'));
  const remaining = (await contents(path.join(locritDir, 'kuzu.db'))).ids;
  const remainingSet = new Set(remaining);
  return { dir: locritDir, archiveRoot, archiveFolder: path.join(archiveRoot, LOCRIT, folders[0]), remaining, archived: fixtures.clean.ids.filter((id) => !remainingSet.has(id)) };
}
