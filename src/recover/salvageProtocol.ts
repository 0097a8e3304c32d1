import type { ErrorReport } from '../errors.js';

/** Parent -> salvage child. Every request carries an id echoed by the reply. */
export type SalvageRequest =
  | { id: number; type: 'open'; dbPath: string; bufferPoolMb: number }
  | { id: number; type: 'count'; table: string; kind: 'NODE' | 'REL' }
  | { id: number; type: 'ids'; table: string; after: string | null; limit: number }
  | { id: number; type: 'nodes'; table: string; dimension: number; after: string | null; last: string; file: string; only?: string[] | null }
  | { id: number; type: 'rels'; table: string; side: 'from' | 'to'; after: string | null; last: string; file: string };

/** Salvage child -> parent. */
export type SalvageReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ErrorReport };
