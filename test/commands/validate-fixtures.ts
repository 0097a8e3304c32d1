/**
 * Locrits with planted defects for the `validate` tests: one defect per rule, on messages
 * chosen so that no defect sets off another rule. Written through the store layer, as the
 * application (or a bug in it) would have written them. Every planted id is returned.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatWallClock } from '../../src/policy/time.js';
import { VECTOR_INDEXES, vectorIndexDdl } from '../../src/schema/locrit.js';
import { withStore, type KuzuStore } from '../../src/store/kuzu.js';
import type { FixtureSummary } from '../../src/fixtures/generate.js';
import { makeLocrit } from '../helpers.js';

export const DIMENSION = 16;

/** A config under which a clean generated fixture has no error or warning (see the README). */
export const CLEAN_CONFIG = `memory:
  enable_embeddings: true
  embedding_dimension: ${DIMENSION}
`;

interface Placed {
  id: string;
  role: string;
  len: number;
  session: string;
  pos: number;
}

export interface PlantedDefects {
  fixture: FixtureSummary;
  /** Rule id -> the ids the rule must report (sorted), for the rules planted in this Locrit. */
  expected: Record<string, string[]>;
  /** Messages that carry an embedding after planting (all of them fire message.embeddings-disabled when embeddings are off). */
  embedded: string[];
  /** Messages --fix must quarantine, set session_id on, and null the embedding of. */
  quarantine: string[];
  sessionFixes: Record<string, string>;
  embeddingFixes: string[];
  sessionSizes: Record<string, number>;
}

const vector = (value: (i: number) => number): number[] => Array.from({ length: DIMENSION }, (_, i) => value(i));
const sorted = (ids: string[]): string[] => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** One Locrit with one planted defect per message, graph and schema-index rule. */
export async function plantDefects(dataDir: string, name = 'defects'): Promise<PlantedDefects> {
  const fixture = await makeLocrit(dataDir, { name, messages: 160, sessions: 4, embeddedShare: 0, vectorIndexes: false, criticalShare: 0 });
  const expected: Record<string, string[]> = {};
  let result: Omit<PlantedDefects, 'fixture' | 'expected'> | null = null;
  await withStore(fixture.dbPath, { readOnly: false, bufferPoolMb: 64 }, async (store) => {
    const rows = await store.query<{ id: string; role: string; len: number; session: string; pos: number }>(
      'MATCH (m:Message)-[p:PART_OF]->(s:Session) RETURN m.id AS id, m.role AS role, size(m.content) AS len, s.id AS session, p.position AS pos ORDER BY session, pos',
    );
    const placed: Placed[] = rows.map((r) => ({ ...r, len: Number(r.len), pos: Number(r.pos) }));
    const sessions = [...new Set(placed.map((p) => p.session))];
    const inSession = (s: number): Placed[] => placed.filter((p) => p.session === sessions[s]);
    const used = new Set<string>();
    // A long user/assistant message in the middle of a session, not used by another defect.
    const pick = (s: number, from = 3): string => {
      const candidate = inSession(s).find((p) => p.pos >= from && p.role !== 'system' && p.len > 30 && !used.has(p.id));
      if (!candidate) throw new Error(`no candidate in session ${s}`);
      used.add(candidate.id);
      return candidate.id;
    };
    const plant = (rule: string, id: string): void => {
      (expected[rule] ??= []).push(id);
    };
    const set = (id: string, assignment: string, params: Record<string, string | number | number[] | null> = {}): Promise<void> =>
      store.execute(`MATCH (m:Message {id: $id}) SET ${assignment}`, { id, ...params });

    const contentNull = pick(0);
    await set(contentNull, 'm.content = NULL');
    plant('message.content-null', contentNull);

    const timestampNull = pick(0);
    await set(timestampNull, 'm.timestamp = NULL');
    plant('message.timestamp-null', timestampNull);

    // The last message of the last session: nothing responds to it, so no RESPONDS_TO rule moves.
    const last = inSession(sessions.length - 1).at(-1)!;
    used.add(last.id);
    await set(last.id, 'm.timestamp = timestamp($t)', { t: formatWallClock(new Date(Date.now() + 2 * 86_400_000)) });
    plant('message.timestamp-future', last.id);

    const notArray = pick(0);
    const notJson = pick(1);
    await set(notArray, 'm.metadata = $v', { v: '[1, 2]' });
    await set(notJson, 'm.metadata = $v', { v: 'important=true' });
    plant('message.metadata-not-object', notArray);
    plant('message.metadata-not-object', notJson);

    const role = pick(1);
    await set(role, 'm.role = $v', { v: 'tool' });
    plant('message.role-unknown', role);

    const sessionNull = pick(1);
    await set(sessionNull, 'm.session_id = NULL');
    plant('message.session-id-null', sessionNull);

    const orphan = pick(1);
    await store.execute('MATCH (m:Message {id: $id})-[p:PART_OF]->(:Session) DELETE p', { id: orphan });
    const twice = pick(2);
    await store.execute('MATCH (m:Message {id: $id}), (s:Session {id: $s}) CREATE (m)-[:PART_OF {position: 999}]->(s)', { id: twice, s: sessions[0] });
    plant('message.part-of-not-one', orphan);
    plant('message.part-of-not-one', twice);

    const mismatch = pick(2);
    await set(mismatch, 'm.session_id = $v', { v: sessions[3] });
    plant('message.session-mismatch', mismatch);

    const nan = pick(2);
    const inf = pick(2);
    const zeros = pick(3);
    const fine = pick(3);
    await set(nan, 'm.content_embedding = $e', { e: vector((i) => (i === 3 ? Number.NaN : 0.1)) });
    await set(inf, 'm.content_embedding = $e', { e: vector((i) => (i === 0 ? Number.NEGATIVE_INFINITY : 0.2)) });
    await set(zeros, 'm.content_embedding = $e', { e: vector(() => 0) });
    await set(fine, 'm.content_embedding = $e', { e: vector((i) => (i % 2 ? 0.3 : -0.4)) });
    plant('message.embedding-invalid', nan);
    plant('message.embedding-invalid', inf);
    plant('message.embedding-invalid', zeros);

    const low = placed.find((p) => !used.has(p.id) && p.pos >= 1 && (p.role === 'system' || p.len <= 20));
    if (!low) throw new Error('no low-priority message to plant on');
    used.add(low.id);
    await set(low.id, 'm.content_embedding = $e', { e: vector((i) => i / 10 + 0.05) });
    plant('message.embedding-low-priority', low.id);

    // A second save of the same message: same session, timestamp and content, PART_OF the same session.
    const original = pick(3);
    const copy = `${original}_dup`;
    await store.execute(
      'MATCH (m:Message {id: $id})-[:PART_OF]->(s:Session) CREATE (c:Message {id: $copy, role: m.role, content: m.content, timestamp: m.timestamp, session_id: m.session_id, metadata: m.metadata})-[:PART_OF {position: 5000}]->(s)',
      { id: original, copy },
    );
    plant('message.duplicate', copy);

    // RESPONDS_TO from the first message of session 2 to the last of session 1 (earlier, another session).
    const first2 = inSession(2).find((p) => p.pos === 0)!;
    const last1 = inSession(1).at(-1)!;
    used.add(first2.id);
    await store.execute('MATCH (a:Message {id: $a}), (b:Message {id: $b}) CREATE (a)-[:RESPONDS_TO {delay_seconds: 60}]->(b)', { a: first2.id, b: last1.id });
    plant('graph.responds-to-cross-session', first2.id);

    // RESPONDS_TO from an earlier message to a later one of the same session.
    const early = pick(3, 2);
    const earlyPos = placed.find((p) => p.id === early)!.pos;
    const later = inSession(3).filter((p) => p.pos > earlyPos + 2 && !used.has(p.id)).at(-1)!;
    used.add(later.id);
    await store.execute('MATCH (a:Message {id: $a}), (b:Message {id: $b}) CREATE (a)-[:RESPONDS_TO {delay_seconds: -5}]->(b)', { a: early, b: later.id });
    plant('graph.responds-to-later', early);

    await store.execute("CREATE (:Session {id: 'session_empty_1', name: 'Nothing said', topic: 'none', created_at: timestamp('2026-10-01 10:00:00'), user_id: 'user_1'})");
    plant('graph.session-empty', 'session_empty_1');
    await store.execute("CREATE (:User {id: 'user_lonely', name: 'Lonely', email: 'lonely@example.org', created_at: timestamp('2026-10-01 10:00:00')})");
    plant('graph.user-without-messages', 'user_lonely');

    // Vector indexes on Message and Memory, none on Concept (which holds embeddings).
    for (const index of VECTOR_INDEXES.filter((i) => i.table !== 'Concept')) await store.query(vectorIndexDdl(fixture.folder, index));
    plant('schema.vector-index-missing', `Concept.name_embedding (${fixture.nodeCounts.Concept} embeddings)`);

    const sizes = await store.query<{ id: string; n: number }>('MATCH (m:Message)-[:PART_OF]->(s:Session) RETURN s.id AS id, count(m) AS n');
    result = {
      embedded: sorted([nan, inf, zeros, fine, low.id]),
      quarantine: sorted([contentNull, timestampNull, notArray, notJson, orphan, twice, copy]),
      sessionFixes: { [sessionNull]: placed.find((p) => p.id === sessionNull)!.session, [mismatch]: placed.find((p) => p.id === mismatch)!.session },
      embeddingFixes: sorted([nan, inf, zeros]),
      sessionSizes: Object.fromEntries(sizes.map((s) => [s.id, Number(s.n)])),
    };
  });
  // The application's own backup beside the database.
  fs.writeFileSync(path.join(path.dirname(fixture.dbPath), 'kuzu.db.backup_20261020_101500'), 'old copy');
  plant2(expected, 'file.app-backups', 'kuzu.db.backup_20261020_101500');
  // It is not a Kuzu file: whether it holds lost messages cannot be known.
  plant2(expected, 'file.backup-unreadable', 'kuzu.db.backup_20261020_101500');
  for (const rule of Object.keys(expected)) expected[rule] = sorted(expected[rule]);
  return { fixture, expected, ...result! };
}

function plant2(expected: Record<string, string[]>, rule: string, id: string): void {
  (expected[rule] ??= []).push(id);
}

/** An older schema: PART_OF, RELATES_TO, Topic.category and Session.topic dropped; embeddings of dimension 8. */
export async function plantSchemaDefects(dataDir: string, name = 'legacy'): Promise<{ fixture: FixtureSummary; expected: Record<string, string[]> }> {
  const fixture = await makeLocrit(dataDir, { name, messages: 60, sessions: 2, dimension: 8, embeddedShare: 0, criticalShare: 0 });
  await withStore(fixture.dbPath, { readOnly: false, bufferPoolMb: 64 }, async (store: KuzuStore) => {
    await store.execute('DROP TABLE PART_OF');
    await store.execute('DROP TABLE RELATES_TO');
    await store.execute('ALTER TABLE Topic DROP category');
    await store.execute('ALTER TABLE Session DROP topic');
  });
  return {
    fixture,
    expected: {
      'schema.core-table-missing': ['PART_OF (missing)'],
      'schema.table-missing': ['RELATES_TO (missing)'],
      'schema.core-column-mismatch': ['Session.topic (missing)'],
      'schema.column-mismatch': ['Topic.category (missing)'],
      'schema.embedding-dimension': sorted([
        `Message.content_embedding (FLOAT[8], expected ${DIMENSION})`,
        `Memory.content_embedding (FLOAT[8], expected ${DIMENSION})`,
        `Concept.name_embedding (FLOAT[8], expected ${DIMENSION})`,
      ]),
    },
  };
}
