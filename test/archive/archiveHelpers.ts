/** Test helpers for archives: read archived ids back from the Parquet files, list archives, read every message. */
import { listArchives, messageFilesOf } from '../../src/archive/format.js';
import { withStore } from '../../src/store/kuzu.js';

/** Sorted values of `column` in a Parquet file, read by Kuzu (an in-memory database). */
export async function parquetColumn(file: string, column = 'id'): Promise<string[]> {
  return withStore(':memory:', { readOnly: false, create: true, bufferPoolMb: 64 }, async (store) => {
    const rows = await store.query<{ v: string }>(`LOAD FROM '${file}' RETURN \`${column}\` AS v ORDER BY v`);
    return rows.map((r) => String(r.v));
  });
}

export interface ArchiveOnDisk {
  folder: string;
  ids: string[];
}

/** Every complete archive of a Locrit with the ids its messages files hold (all chunks, in chunk order). */
export async function archivesOf(archiveRoot: string, locrit: string): Promise<ArchiveOnDisk[]> {
  const out: ArchiveOnDisk[] = [];
  for (const folder of listArchives(archiveRoot, locrit).complete) {
    const ids: string[] = [];
    for (const file of messageFilesOf(folder)) ids.push(...(await parquetColumn(file)));
    out.push({ folder, ids });
  }
  return out;
}

export interface MessageRow {
  id: string;
  role: string;
  content: string;
  metadata: string;
  /** Stored wall-clock time with microseconds, e.g. "2026-09-04 11:05:25.607612". */
  t: string;
  session: string | null;
  embedded: boolean;
}

/** Every message with what the rules look at, in (timestamp, id) order. */
export async function messageRows(dbPath: string): Promise<MessageRow[]> {
  return withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
    const rows = await store.query<{ id: string; role: string; content: string; metadata: string; t: string; session: string | null; e: boolean }>(
      'MATCH (m:Message) OPTIONAL MATCH (m)-[:PART_OF]->(s:Session) RETURN m.id AS id, m.role AS role, m.content AS content, m.metadata AS metadata, ' +
        'CAST(m.timestamp AS STRING) AS t, s.id AS session, m.content_embedding IS NOT NULL AS e ORDER BY m.timestamp, m.id',
    );
    return rows.map((r) => ({ id: r.id, role: r.role, content: r.content, metadata: r.metadata, t: r.t, session: r.session, embedded: r.e }));
  });
}

/** Timestamps as stored compare as strings only when they have the same shape: pad the microseconds. */
export function sortKey(row: { t: string; id: string }): string {
  const [date, time] = row.t.split(' ');
  const [hms, frac = ''] = time.split('.');
  return `${date} ${hms}.${frac.padEnd(6, '0')}\u0000${row.id}`;
}

export function sorted(ids: Iterable<string>): string[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
