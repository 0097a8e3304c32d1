import type { ValueSource } from '../config/sources.js';

/**
 * Status of a Locrit against the configured limits: ok, warn (within 80% of a limit, the
 * application's conversation manager's cleanup threshold) or over. Pure: no I/O, no Kuzu.
 */

export type LimitStatus = 'ok' | 'warn' | 'over';

export const WARN_THRESHOLD = 0.8;

export interface LimitInput {
  dbBytes: number | null;
  messages: number;
  largestSessionMessages: number;
  messagesWithEmbedding: number;
}

export interface LimitSettings {
  max_db_size_mb: number;
  max_messages_per_locrit: number;
  max_messages_per_conversation: number;
  enable_embeddings: boolean;
}

export type LimitName = 'max_db_size_mb' | 'max_messages_per_locrit' | 'max_messages_per_conversation' | 'enable_embeddings';

export interface LimitCheck {
  name: LimitName;
  /** The configured limit, in the unit of `value` (bytes for the file size); 0 = no limit. */
  limit: number | boolean;
  value: number;
  status: LimitStatus;
  /** Where the limit's value came from (key and file, built-in default, or flag); null when not known. */
  source: ValueSource | null;
}

export function statusAgainst(value: number, limit: number): LimitStatus {
  if (limit <= 0) return 'ok'; // 0 means "no limit", as in journalctl --vacuum-*
  if (value > limit) return 'over';
  if (value >= limit * WARN_THRESHOLD) return 'warn';
  return 'ok';
}

export function evaluateLimits(input: LimitInput, settings: LimitSettings, sources: Partial<Record<LimitName, ValueSource>> = {}): LimitCheck[] {
  const sizeLimitBytes = Math.round(settings.max_db_size_mb * 1024 * 1024);
  const checks: Omit<LimitCheck, 'source'>[] = [
    { name: 'max_db_size_mb', limit: sizeLimitBytes, value: input.dbBytes ?? 0, status: statusAgainst(input.dbBytes ?? 0, sizeLimitBytes) },
    { name: 'max_messages_per_locrit', limit: settings.max_messages_per_locrit, value: input.messages, status: statusAgainst(input.messages, settings.max_messages_per_locrit) },
    {
      name: 'max_messages_per_conversation',
      limit: settings.max_messages_per_conversation,
      value: input.largestSessionMessages,
      status: statusAgainst(input.largestSessionMessages, settings.max_messages_per_conversation),
    },
    // Embeddings kept while the application is told not to make them: memory it did not mean to spend.
    { name: 'enable_embeddings', limit: settings.enable_embeddings, value: input.messagesWithEmbedding, status: !settings.enable_embeddings && input.messagesWithEmbedding > 0 ? 'warn' : 'ok' },
  ];
  return checks.map((check) => ({ ...check, source: sources[check.name] ?? null }));
}

export function worstStatus(statuses: Iterable<LimitStatus>): LimitStatus {
  let worst: LimitStatus = 'ok';
  for (const status of statuses) {
    if (status === 'over') return 'over';
    if (status === 'warn') worst = 'warn';
  }
  return worst;
}
