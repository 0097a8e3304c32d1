/** The shapes the per-Locrit stats task takes and returns (parts of the `stats` JSON contract). */
import type { LockHolder } from '../errors.js';
import type { LimitStatus } from '../policy/limits.js';
import type { StoreSettings } from '../store/settings.js';

/** One session, with its standing against max_messages_per_conversation. */
export interface SessionStats {
  id: string;
  userId: string | null;
  messages: number;
  firstMessageAt: string | null;
  lastMessageAt: string | null;
  /** ok, warn (80 % of the cap or more: the conversation manager's cleanup threshold) or over; ok when there is no cap. */
  cap: LimitStatus;
}

export interface DatabaseFigures {
  storageVersion: number;
  messages: number;
  messagesWithEmbedding: number;
  embeddingDimension: number | null;
  /** The application's estimate: messages x dimension x 4 bytes. */
  estimatedEmbeddingBytes: number;
  /** Bytes actually held by stored (non-NULL) embeddings, per table and in total. */
  storedEmbeddingBytes: { Message: number; Memory: number; Concept: number; total: number };
  nodeRows: Record<string, number>;
  relRows: Record<string, number>;
  sessions: number;
  largestSession: { id: string; messages: number } | null;
  oldestMessageAt: string | null;
  newestMessageAt: string | null;
  oldestMessageAgeSeconds: number | null;
  newestMessageAgeSeconds: number | null;
  /** The conversation manager's estimate: messages x 1 KiB. */
  conversationMemoryEstimateBytes: number;
  /** With --sessions: every session, largest first; absent otherwise. */
  sessionList?: SessionStats[];
}

/** What the per-Locrit task returns: the figures and what it read them from. */
export interface StatsTaskResult {
  database: DatabaseFigures;
  snapshot: { takenAt: string; attempts: number; walBytes: number | null; holder: LockHolder | null };
}

export interface StatsPayload {
  store: StoreSettings;
  nowMs: number;
  /** List every session, and the cap each is measured against (max_messages_per_conversation; 0 = none). */
  sessions?: { cap: number };
}
