/**
 * The per-Locrit part of `stats`, run in a worker process: a private copy of the database (the
 * live file is never opened: see src/store/snapshot.ts), a read-only open of the copy, a few
 * aggregate queries, close. Kept apart from the command (src/commands/stats.ts) so that a worker loads only what it needs.
 */
import type { LocritTarget } from '../layout/locrits.js';
import { ageSeconds, wallClockToInstant } from '../policy/time.js';
import type { TaskContext } from '../runner/protocol.js';
import { readFigures, readSessions, type SessionFigures } from '../store/figures.js';
import { checkHeader } from '../store/header.js';
import { withStore } from '../store/kuzu.js';
import { withSnapshot, type Snapshot } from '../store/snapshot.js';
import { preparedSnapshot } from '../store/snapshotsAhead.js';
import { statusAgainst } from '../policy/limits.js';
import type { DatabaseFigures, SessionStats, StatsPayload, StatsTaskResult } from './types.js';

declare module '../runner/protocol.js' {
  interface TaskTable {
    stats: { payload: StatsPayload; result: StatsTaskResult };
  }
}

/** Bytes one embedding value takes (FLOAT). */
const FLOAT_BYTES = 4;
/** The conversation manager's rough estimate per message held in memory. */
const CONVERSATION_BYTES_PER_MESSAGE = 1024;

/**
 * Buffer pool for the stats scans, at most: they read each page once, so a bigger pool only
 * holds pages that are never read again. On 200,000 messages with 100,000 768-float embeddings
 * counting the embeddings took the same time with 64 MiB as with 256 MiB, and the worker's peak
 * RSS fell from 347 to 155 MB. kuzu.buffer_pool_mb stays the upper bound, and is used in full
 * if a database cannot be read within this one.
 */
export const STATS_BUFFER_POOL_MB = 64;

/** Per-Locrit work, in a worker process: read-only open, a few aggregate queries, close. */
export async function statsTask(target: LocritTarget, payload: StatsPayload, task: TaskContext): Promise<StatsTaskResult> {
  const { storageVersion } = checkHeader(target.dbPath);
  // Usually the parent took the copy already (src/store/snapshotsAhead.ts); it is read first.
  const taken = preparedSnapshot(task.prepared, target.dbPath);
  if (!taken) task.progress('copying');
  return withSnapshot(target.dbPath, async (snapshot) => {
    task.progress('reading');
    task.testPoint('reading');
    const configured = payload.store.bufferPoolMb;
    const small = Math.min(configured, STATS_BUFFER_POOL_MB);
    let database: DatabaseFigures;
    try {
      database = await figuresOf(snapshot.dbPath, payload, storageVersion, small);
    } catch (error) {
      if (!(small < configured && /buffer pool is full|unable to allocate memory/i.test(error instanceof Error ? error.message : String(error)))) throw error;
      database = await figuresOf(snapshot.dbPath, payload, storageVersion, configured);
    }
    return { database, snapshot: snapshotInfo(snapshot) };
  }, { taken });
}

/** What a report says about the copy it read. */
export function snapshotInfo(snapshot: Snapshot): StatsTaskResult['snapshot'] {
  return { takenAt: snapshot.takenAt, attempts: snapshot.attempts, walBytes: snapshot.walBytes, holder: snapshot.holder };
}

async function figuresOf(dbPath: string, payload: StatsPayload, storageVersion: number, bufferPoolMb: number): Promise<DatabaseFigures> {
  return withStore(dbPath, { readOnly: true, ...payload.store, bufferPoolMb, privateCopy: true }, async (store) => {
    // Reads only the part of the schema the figures need (the full readSchema costs ~20 statements).
    const figures = await readFigures(store);
    const now = new Date(payload.nowMs);
    const oldest = figures.oldestMessage ? wallClockToInstant(figures.oldestMessage) : null;
    const newest = figures.newestMessage ? wallClockToInstant(figures.newestMessage) : null;
    const stored = (table: string): number => {
      const entry = figures.embeddingsStored[table];
      return entry ? entry.count * entry.dimension * FLOAT_BYTES : 0;
    };
    const storedEmbeddingBytes = { Message: stored('Message'), Memory: stored('Memory'), Concept: stored('Concept'), total: 0 };
    storedEmbeddingBytes.total = storedEmbeddingBytes.Message + storedEmbeddingBytes.Memory + storedEmbeddingBytes.Concept;
    return {
      storageVersion,
      messages: figures.messages,
      messagesWithEmbedding: figures.messagesWithEmbedding,
      embeddingDimension: figures.embeddingDimension,
      estimatedEmbeddingBytes: figures.messages * (figures.embeddingDimension ?? 0) * FLOAT_BYTES,
      storedEmbeddingBytes,
      nodeRows: figures.nodeRows,
      relRows: figures.relRows,
      sessions: figures.sessions,
      largestSession: figures.largestSession,
      oldestMessageAt: oldest?.toISOString() ?? null,
      newestMessageAt: newest?.toISOString() ?? null,
      oldestMessageAgeSeconds: oldest ? ageSeconds(oldest, now) : null,
      newestMessageAgeSeconds: newest ? ageSeconds(newest, now) : null,
      conversationMemoryEstimateBytes: figures.messages * CONVERSATION_BYTES_PER_MESSAGE,
      ...(payload.sessions ? { sessionList: (await readSessions(store)).map((s) => sessionStats(s, payload.sessions!.cap)) } : {}),
    };
  });
}

function sessionStats(s: SessionFigures, cap: number): SessionStats {
  const at = (value: Date | null): string | null => (value ? wallClockToInstant(value).toISOString() : null);
  return { id: s.id, userId: s.userId, messages: s.messages, firstMessageAt: at(s.first), lastMessageAt: at(s.last), cap: statusAgainst(s.messages, cap) };
}
