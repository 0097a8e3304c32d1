/** The shapes of one Locrit's retention run (the per-Locrit part of the `archive` and `emergency-cleanup` JSON). */
import type { CompactionOwed } from './owed.js';
import type { ArchiveRule } from '../archive/format.js';
import type { RetentionCommand, RetentionSettings } from '../policy/retentionRules.js';
import type { CompactionResult } from '../store/compact.js';
import type { StoreSettings } from '../store/settings.js';
import type { ValueSource } from '../config/sources.js';

export interface RuleReport {
  rule: ArchiveRule;
  applies: boolean;
  reason: string;
  parameters: Record<string, string | number | boolean | null>;
  /** Messages this rule selects (a message selected by two rules counts in both). */
  selected: number;
  /** Critical messages this rule would have taken, spared. */
  spared: number;
  /** Stored wall-clock times of the oldest and newest message this rule takes. */
  oldest: string | null;
  newest: string | null;
  detail: Record<string, string | number | null>;
}

export interface LimitOutcome {
  name: 'max_messages_per_locrit' | 'max_db_size_mb' | 'max_messages_per_conversation';
  /** 0 = no limit. Bytes for max_db_size_mb. */
  limit: number;
  before: number;
  /** After the run (predicted by a dry run; the file size is known only after compaction). */
  after: number | null;
  /** Whether the value is within the limit after the run; null when unknown or no limit. */
  met: boolean | null;
  /** Where the limit's value came from (key and file, built-in default, or flag); set in the report, null inside the worker. */
  source?: ValueSource | null;
}

export interface InterruptedRun {
  /** finished: a killed run's archive was complete, its messages are now deleted; rolled-back: its partial archive was removed;
   *  cleaned-up: only leftovers (compaction temp files) were repaired; would-*: the same, in a dry run. */
  action: 'finished' | 'rolled-back' | 'cleaned-up' | 'would-finish' | 'would-roll-back' | 'would-clean-up';
  archive: string | null;
  deleted: number;
  removed: string[];
}

export interface RetentionResult {
  /** done: changes made; planned: dry run; nothing-to-do: no rule selected anything (and nothing else to do). */
  status: 'done' | 'planned' | 'nothing-to-do';
  before: { messages: number; dbBytes: number; walPresent: boolean; largestSession: number };
  after: { messages: number; dbBytes: number | null; largestSession: number };
  rules: RuleReport[];
  /** Messages selected by the rules (union), after sparing critical ones. */
  selected: number;
  archived: number;
  deleted: number;
  /** Critical messages spared (matched by a rule, kept). */
  spared: number;
  oldestAffected: string | null;
  newestAffected: string | null;
  /** Data bytes of the rows that leave plus the embeddings stripped: what the file gives back once compacted (an estimate). */
  expectedBytesBack: number;
  archive: { path: string; files: number; bytes: number; idDigest: string } | null;
  limits: LimitOutcome[];
  embeddings: { stripped: number; bytesFreed: number; dimension: number | null } | null;
  compaction: (Omit<CompactionResult, 'tables' | 'vectorIndexes'> & { tables: number; vectorIndexes: CompactionResult['vectorIndexes'] }) | null;
  /** In a dry run: whether a compaction would run, and the free disk it needs. */
  compactionPlanned: { neededBytes: number; freeBytes: number } | null;
  /** Messages deleted by earlier runs that did not compact (or were stopped before it): what a compaction still owes. */
  compactionOwed?: CompactionOwed | null;
  interrupted: InterruptedRun | null;
}

/** What the command hands each worker: one Locrit's run is fully described by it and the target. */
export interface RetentionJob {
  command: RetentionCommand;
  settings: RetentionSettings;
  nowMs: number;
  dryRun: boolean;
  compact: boolean;
  strip: boolean;
  archive: boolean;
  archiveRoot: string;
  /** Messages per archive chunk (archive.batch_messages). */
  batchMessages: number;
  backupDir: string | null;
  backupKeep: number;
  store: StoreSettings;
  /** When a process holds the database, wait up to this many seconds for it to let go (--wait); undefined: refuse at once. */
  waitSeconds?: number;
}
