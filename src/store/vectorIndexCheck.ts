/**
 * Whether a rebuilt HNSW vector index answers: a query with a stored vector must find that row.
 * HNSW search is approximate and Kuzu builds the index on several threads, so one sample can
 * miss itself on a sound index (seen about once in four merge test runs on a loaded machine).
 * The check widens the search (efs) and tries a few stored vectors: a sound index finds at
 * least one of them, a broken or empty one finds none.
 */
import type { KuzuStore } from './kuzu.js';
import { cypherString } from './cypher.js';

const SAMPLES = 3;
const SEARCH_WIDTH = 500;

/** True when a query with a stored vector finds its row; null when the table holds no vector. */
export async function vectorIndexAnswers(store: KuzuStore, table: string, name: string, column: string, key = 'id'): Promise<boolean | null> {
  const samples = await store.query<{ k: string; v: number[] }>(
    `MATCH (n:\`${table}\`) WHERE n.\`${column}\` IS NOT NULL RETURN CAST(n.\`${key}\` AS STRING) AS k, n.\`${column}\` AS v ORDER BY k LIMIT ${SAMPLES}`,
  );
  if (samples.length === 0) return null;
  for (const sample of samples) {
    const hits = await store.query<{ k: string; d: number }>(
      `CALL QUERY_VECTOR_INDEX(${cypherString(table)}, ${cypherString(name)}, $v, 10, efs := ${SEARCH_WIDTH}) RETURN CAST(node.\`${key}\` AS STRING) AS k, distance AS d`,
      { v: sample.v },
    );
    // The stored vector itself, or another at distance ~0 (a duplicate direction), must come back first.
    if (hits.length > 0 && (hits.some((h) => h.k === sample.k) || Math.abs(hits[0].d) < 1e-5)) return true;
  }
  return false;
}
