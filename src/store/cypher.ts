/**
 * Small helpers for writing Cypher that every store module uses: a path as a string literal
 * (COPY and LOAD cannot take it as a parameter), only the parameters a statement names (Kuzu
 * rejects the others), and a transaction that rolls back on any error.
 */
import type { KuzuStore, Params } from './kuzu.js';

/** Escapes a value for a single-quoted Cypher string literal (paths in COPY/LOAD cannot be parameters). */
export function cypherString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Only the parameters a query text really uses: Kuzu rejects unknown parameters. */
export function paramsFor(cypher: string, params: Params): Params {
  const used: Params = {};
  for (const [key, value] of Object.entries(params)) if (new RegExp(`\\$${key}\\b`).test(cypher)) used[key] = value;
  return used;
}

export async function queryWith<T>(store: KuzuStore, cypher: string, params: Params): Promise<T[]> {
  return store.query<T>(cypher, paramsFor(cypher, params));
}

/** Runs `work` inside BEGIN TRANSACTION ... COMMIT, rolling back on any error. */
export async function inTransaction<T>(store: KuzuStore, work: () => Promise<T>): Promise<T> {
  await store.execute('BEGIN TRANSACTION');
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await store.execute('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await store.execute('COMMIT');
  return result;
}
