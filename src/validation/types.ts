/**
 * The shapes of `validate`: the settings the rules use, what a worker is asked to do for one
 * Locrit and what it returns, and the per-Locrit part of the report.
 */
import type { ErrorReport, ExitCode, LockHolder } from '../errors.js';
import type { FixPlan, Finding } from '../policy/integrityRules.js';
import type { TableScan } from '../store/deepScan.js';
import type { StoreSettings } from '../store/settings.js';

/** The configuration the rules use (from the config file; see config.example.yaml). */
export interface ValidateSettings {
  enable_embeddings: boolean;
  embedding_dimension: number;
  low_priority_max_chars: number;
  future_skew_seconds: number;
  max_db_size_mb: number;
  max_messages_per_locrit: number;
  max_messages_per_conversation: number;
}

export interface CheckedFigures {
  messages: number;
  sessions: number | null;
}

export interface FixReport {
  dryRun: boolean;
  /** What --fix does (dry run) or did. Lists every id. */
  plan: FixPlan;
  /** Why nothing was changed although the plan is not empty (e.g. a WAL is present), or null. */
  skipped: string | null;
  applied: { quarantined: number; deleted: number; sessionIdsCorrected: number; embeddingsNulled: number } | null;
  /** The quarantine archive (format of src/archive/format.ts), when messages were removed. */
  archive: { folder: string; messages: number; idDigest: string } | null;
  /** Findings before the fix (the Locrit's `findings` are those after it). */
  findingsBefore: Finding[];
}

/** What every validate worker task takes (the task's name says what it does: src/validation/task.ts). */
export interface ValidatePayload {
  store: StoreSettings;
  settings: ValidateSettings;
  strict: boolean;
  dryRun: boolean;
  waitSeconds?: number;
  archiveRoot: string;
  /** Messages per quarantine archive chunk (archive.batch_messages). */
  batchMessages: number;
  tool: { name: string; version: string };
  nowMs: number;
}

export interface CheckResult {
  findings: Finding[];
  checked: CheckedFigures;
  /** The private copy that was read, and who held the live file then. */
  snapshot?: ReadFrom;
}

export interface ReadFrom {
  takenAt: string;
  holder: LockHolder | null;
}

export interface FixTaskResult {
  before: CheckResult;
  after: CheckResult;
  fix: Omit<FixReport, 'findingsBefore'>;
}

export interface DeepResult {
  scans: TableScan[];
  snapshot: ReadFrom;
}

/** The deep read as the combined phase returns it: the scans, or why reading failed. */
export type DeepRead = { ok: true; result: DeepResult } | { ok: false; error: ErrorReport };

export interface CheckDeepResult {
  check: CheckResult;
  deep: DeepRead;
}

export type ValidateStatus = 'ok' | 'warn' | 'error' | 'unavailable';

export interface LocritValidation {
  /** The folder name, which is how the tool names a Locrit everywhere. */
  name: string;
  /** The name the application shows ("Bob Technique"), from locrits.instances; null when the configuration does not name it. */
  displayName: string | null;
  /** `active` in locrits.instances, or null. */
  active: boolean | null;
  /** Its memory service in locrits.instances (`kuzu_graph` is Kuzu), or null when unknown. */
  memoryService: string | null;
  path: string;
  /** Worst severity found (info counts as ok), or unavailable when the database could not be read. */
  status: ValidateStatus;
  findings: Finding[];
  counts: { error: number; warn: number; info: number };
  checked: CheckedFigures | null;
  /** --deep: what was read of each table. */
  deep: TableScan[] | null;
  fix: FixReport | null;
  inUse: LockHolder | null;
  /**
   * When the private copy the checks read was taken (ISO 8601), or null when the live file was
   * opened (--fix without --dry-run) or nothing was read. The read-only checks never open the live file.
   */
  snapshotAt: string | null;
  error: ErrorReport | null;
  exitCode: ExitCode;
  durationMs: number;
}

export interface ValidateSummary {
  locrits: number;
  ok: number;
  warn: number;
  error: number;
  unavailable: number;
  findings: { error: number; warn: number; info: number };
  /** Per rule: in how many Locrits it fired and its total count. */
  rules: Record<string, { locrits: number; count: number }>;
}
