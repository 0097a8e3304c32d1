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

/**
 * For foreignWalSigns: a consistent private copy of kuzu.db with its WAL beside it (taken as
 * src/store/snapshot.ts takes any copy: the application may open and close the file meanwhile,
 * and its close checkpoints, rewriting kuzu.db and deleting the WAL), and the same file without
 * the WAL. Null when a process held the file during the copy (the WAL is then its own, being
 * written) or the copy has no WAL any more (nothing would be replayed). Call `remove()`.
 */
export async function walCheckPair(dbPath: string): Promise<{ pairDb: string; aloneDb: string; remove(): void } | null> {
  const snapshot = await takeSnapshot(dbPath);
  try {
    if (snapshot.holder || !snapshot.walBytes) {
      snapshot.remove();
      return null;
    }
    // The pair is kuzu.db and its WAL only, as a holder-less live file would be opened.
    fs.rmSync(`${snapshot.dbPath}.shadow`, { force: true });
    // Read-only opens write nothing: one copy serves both views.
    const aloneDb = path.join(path.dirname(snapshot.dbPath), 'alone', 'kuzu.db');
    fs.mkdirSync(path.dirname(aloneDb), { mode: 0o700 });
    fs.linkSync(snapshot.dbPath, aloneDb);
    return { pairDb: snapshot.dbPath, aloneDb, remove: snapshot.remove };
  } catch (error) {
    snapshot.remove();
    throw error;
  }
}

/** foreignWalSigns for the WAL beside a live kuzu.db, in this process (a WAL that crashes Kuzu takes the process with it). */
export async function foreignWalSignsOfLive(dbPath: string, settings: ReadSettings): Promise<string[]> {
  const pair = await walCheckPair(dbPath);
  if (!pair) return [];
  try {
    return await foreignWalSigns(pair.pairDb, pair.aloneDb, settings);
  } finally {
    pair.remove();
  }
}

/** The reason a WAL is judged foreign from what replaying it adds. */
export function foreignWalReason(signs: string[]): string {
  return `replayed into a private copy of kuzu.db it adds ${signs.join(', ')}: its records address rows of another database file`;
}
