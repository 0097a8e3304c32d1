/**
 * Is a WAL this file's own? Kuzu 0.11 files and WALs carry no database id, but a WAL's records
 * do say it: a relationship record addresses its two ends by internal node offset, not by
 * primary key. Replayed beside another file, those offsets point at whatever rows that file
 * holds there. The application makes every relationship by matching both ends on their primary
 * keys (`PART_OF` to the session named by the message's `session_id`, `RESPONDS_TO` to an
 * earlier message of the same session), so its own WAL can never make a message `PART_OF` a
 * session other than its `session_id`, `PART_OF` two sessions, or `RESPONDS_TO` a message of
 * another session. Replaying a WAL into a private copy and finding more such rows than the file
 * held without it is therefore proof that the WAL was written by another file. The converse
 * does not hold: a WAL without relationship records (or whose offsets happen to land on
 * matching rows) shows no sign, and is judged by file times alone (src/layout/walOwner.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { copyWithRoom } from '../layout/backup.js';
import { makeScratchFolder } from '../layout/scratch.js';
import { withStore, type KuzuStore } from './kuzu.js';
import { readSchema } from './schema.js';
import { takeSnapshot } from './snapshot.js';
import type { ReadSettings } from './idSets.js';

interface Check {
  needs: string[];
  query: string;
  sign: (n: number) => string;
}

const CHECKS: Check[] = [
  {
    needs: ['Message', 'Session', 'PART_OF'],
    query: 'MATCH (m:Message)-[:PART_OF]->(s:Session) WHERE s.id <> m.session_id RETURN count(*) AS n',
    sign: (n) => `${n} message(s) PART_OF a session other than the one their session_id names`,
  },
  {
    needs: ['Message', 'Session', 'PART_OF'],
    query: 'MATCH (m:Message)-[r:PART_OF]->(:Session) WITH m, count(r) AS k WHERE k > 1 RETURN count(*) AS n',
    sign: (n) => `${n} message(s) PART_OF two sessions or more`,
  },
  {
    needs: ['Message', 'RESPONDS_TO'],
    query: 'MATCH (a:Message)-[:RESPONDS_TO]->(b:Message) WHERE a.session_id <> b.session_id RETURN count(*) AS n',
    sign: (n) => `${n} RESPONDS_TO between messages of different sessions`,
  },
];

async function counts(store: KuzuStore): Promise<(number | null)[]> {
  const schema = await readSchema(store);
  const out: (number | null)[] = [];
  for (const check of CHECKS) {
    if (!check.needs.every((t) => schema.tables[t])) {
      out.push(null);
      continue;
    }
    out.push(Number((await store.scalar<number | bigint>(check.query)) ?? 0));
  }
  return out;
}

/**
 * What replaying the WAL adds that its own writer could not have written. `pairDb`: a private
 * copy of kuzu.db with the WAL beside it (a read-only open replays it in memory only);
 * `aloneDb`: the same file without the WAL. Empty when the WAL shows no sign of another file.
 */
export async function foreignWalSigns(pairDb: string, aloneDb: string, settings: ReadSettings): Promise<string[]> {
  const open = { readOnly: true, bufferPoolMb: settings.bufferPoolMb, threads: settings.threads };
  const before = await withStore(aloneDb, open, counts);
  const after = await withStore(pairDb, open, counts);
  const signs: string[] = [];
  CHECKS.forEach((check, i) => {
    const was = before[i];
    const now = after[i];
    if (was !== null && now !== null && now > was) signs.push(check.sign(now - was));
  });
  return signs;
}

/** A private pair (kuzu.db + its WAL) and the same file alone, for foreignWalSigns. Call `remove()`. */
export function copiesForWalCheck(dbPath: string, walPath: string): { pairDb: string; aloneDb: string; remove(): void } {
  const folder = makeScratchFolder('wal-check');
  const remove = (): void => fs.rmSync(folder, { recursive: true, force: true });
  try {
    const pairDb = path.join(folder, 'pair', 'kuzu.db');
    const aloneDb = path.join(folder, 'alone', 'kuzu.db');
    fs.mkdirSync(path.dirname(pairDb), { mode: 0o700 });
    fs.mkdirSync(path.dirname(aloneDb), { mode: 0o700 });
    copyWithRoom(dbPath, pairDb, `copying ${dbPath} to check its WAL`);
    copyWithRoom(walPath, `${pairDb}.wal`, `copying ${walPath} to check it`);
    // Read-only opens write nothing: one copy serves both views.
    fs.linkSync(pairDb, aloneDb);
    return { pairDb, aloneDb, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/** foreignWalSigns on private copies, in this process (a WAL that crashes Kuzu takes the process with it). */
export async function foreignWalSignsOf(dbPath: string, walPath: string, settings: ReadSettings): Promise<string[]> {
  const copies = copiesForWalCheck(dbPath, walPath);
  try {
    return await foreignWalSigns(copies.pairDb, copies.aloneDb, settings);
  } finally {
    copies.remove();
  }
}

/**
 * foreignWalSigns for the WAL beside a live kuzu.db, read from a consistent private copy of the
 * pair (src/store/snapshot.ts): the application may open and close the file meanwhile, and its
 * close checkpoints, rewriting kuzu.db and deleting the WAL. Empty when a process held the file
 * during the copy (the WAL is then its own, being written) or the copy has no WAL any more
 * (nothing would be replayed).
 */
export async function foreignWalSignsOfLive(dbPath: string, settings: ReadSettings): Promise<string[]> {
  const snapshot = await takeSnapshot(dbPath);
  try {
    if (snapshot.holder || !snapshot.walBytes) return [];
    // The pair is kuzu.db and its WAL only, as a holder-less live file would be opened.
    fs.rmSync(`${snapshot.dbPath}.shadow`, { force: true });
    const aloneDb = path.join(path.dirname(snapshot.dbPath), 'alone', 'kuzu.db');
    fs.mkdirSync(path.dirname(aloneDb), { mode: 0o700 });
    fs.linkSync(snapshot.dbPath, aloneDb);
    return await foreignWalSigns(snapshot.dbPath, aloneDb, settings);
  } finally {
    snapshot.remove();
  }
}

/** The reason a WAL is judged foreign from what replaying it adds. */
export function foreignWalReason(signs: string[]): string {
  return `replayed into a private copy of kuzu.db it adds ${signs.join(', ')}: its records address rows of another database file`;
}
