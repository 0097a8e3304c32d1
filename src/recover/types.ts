/**
 * Longer than most files on purpose: the whole JSON contract of the `recover` report, every
 * flow's part of it, in one place beside its documentation.
 *
 * The shapes of the `recover` report (the JSON contract, documented in the README).
 */
import type { Leftover } from '../retention/leftovers.js';
import type { ArchiveCheck } from '../archive/format.js';
import type { ErrorReport, ExitCode, LockHolder } from '../errors.js';
import type { RestoredTable } from '../store/restoreIo.js';
import type { TableCounts } from '../store/salvageQueries.js';
import type { TableSalvage } from './salvage.js';

/** What is wrong with a Locrit, in the order recover checks ('requested': --from-backup, --from-archive, --list). Stable strings. */
export type RecoverProblem = 'none' | 'requested' | 'in-use' | 'unclean-stop' | 'unreadable' | 'missing' | 'unsupported-version' | 'check-failed' | 'unsaved-conversations' | 'reset' | 'foreign-wal';
/** What recover does (or, with --dry-run, would do) about it. */
export type RecoverAction = 'none' | 'refuse' | 'replay-wal' | 'salvage' | 'restore-backup' | 'restore-archive' | 'report' | 'list' | 'merge' | 'move-foreign-wal' | 'prune-backups';
/** How it ended. */
export type RecoverOutcome = 'ok' | 'planned' | 'repaired' | 'salvaged' | 'restored' | 'refused' | 'unusable' | 'failed' | 'reported' | 'listed' | 'merged';

export interface RecoverStep {
  step: string;
  ok: boolean;
  detail: string;
}

export interface TableMismatch {
  table: string;
  expected: number | null;
  found: number | null;
}

/** The check that ends every repair: the database opens, every table holds what it should, the schema is whole. */
export interface Verification {
  ok: boolean;
  path: string;
  opened: boolean;
  error: string | null;
  counts: TableCounts | null;
  expected: TableCounts | null;
  mismatches: TableMismatch[];
  schemaMissing: string[];
  vectorIndexes: string[];
  walLeft: boolean;
  problems: string[];
}

export interface ReplayReport {
  walBytes: number;
  dbBackup: string;
  walBackup: string | null;
  /** Rows per table in kuzu.db alone, before the WAL (null when it could not be read). */
  countsBefore: TableCounts | null;
  /** Rows per table a read-only open of the untouched pair showed (kuzu.db + WAL). */
  countsExpected: TableCounts;
  /** Rows per table the WAL added (or removed, negative). */
  replayed: Record<string, number>;
}

export interface SalvageReport {
  /** Where the damaged file was kept: kuzu.db.locrit-mem-damaged_<UTC stamp>. */
  movedAsideTo: string | null;
  walMovedAsideTo: string | null;
  opened: boolean;
  openError: string | null;
  usedWal: boolean;
  dimension: number;
  dimensionFrom: 'database' | 'config';
  tables: TableSalvage[];
  totals: { expected: number | null; recovered: number; lost: number | null };
  nothingReadable: boolean;
  schemaMissing: string[];
  extraTables: string[];
  vectorIndexes: string[];
  attempts: number;
  crashes: number;
  /** Where the messages of the new database came from: the damaged file's rows first, then backups. */
  sources: { path: string; role: 'damaged' | 'backup'; messages: number; messagesAdded: number; archivedLeftOut: number }[];
  /** Messages the new database holds. */
  messages: number;
  /** The last known message count (damaged file's header, else the newest readable backup) and where it came from. */
  lastKnownMessages: number | null;
  lastKnownFrom: string | null;
  /** Fewer messages than last known, or none: swapped in only with --accept-loss or a "y" at the terminal. */
  losesMessages: boolean;
  swapped: boolean;
}

export interface BackupRestoreReport {
  source: string;
  sourceWal: string | null;
  sourceCounts: TableCounts | null;
  /** The database that was in place, kept as a backup (null when there was none). */
  keptCurrentAs: string | null;
  /** A WAL that was beside the replaced database, moved aside with it. */
  movedWal: string | null;
}

export interface ArchiveRestoreReport {
  archive: string;
  createdAt: string;
  checks: ArchiveCheck[];
  /** Backup of the database taken before the restore. */
  dbBackup: string | null;
  messages: RestoredTable | null;
  relationships: RestoredTable[];
}

/** A reset found: a backup holding messages neither kuzu.db nor a complete archive holds. */
export interface ResetFound {
  backup: string;
  madeBy: 'application' | 'locrit-mem';
  /** When it was made, from its name (ISO). */
  createdAt: string | null;
  held: number;
  missing: number;
}

/** What a merge of backups into kuzu.db found and did (`--dry-run`: found and planned). */
export interface MergeSummary {
  resets: ResetFound[];
  /** Distinct messages found only in backups. */
  missingMessages: number;
  /** Local wall-clock time of the current file's first message (the Locrit's restart). */
  currentFirstMessageAt: string | null;
  unreadableBackups: { backup: string; error: string }[];
  /** A WAL beside kuzu.db that another database file wrote, and why that is known. */
  foreignWal: { path: string; reason: string; ownerBackup: string | null } | null;
  /** Per source, what went into the merged database (empty for a dry run). */
  sources: { path: string; role: 'current' | 'backup'; walUsed: string | null; messages: number; messagesAdded: number; archivedLeftOut: number }[];
  messagesBefore: number | null;
  messagesAfter: number | null;
  /** Ids held by several sources with different values: the current file's values were kept. */
  conflicts: { table: string; id: string; source: string }[];
  conflictCount: number;
  vectorIndexes: { name: string; present: boolean; answered: boolean | null }[];
  keptCurrentAs: string | null;
  foreignWalMovedTo: string | null;
  durationMs: number | null;
}

export interface UnsavedConversation {
  conversationId: string;
  file: string;
  sessionId: string;
  /** message_count in the conversation file. */
  recorded: number;
  /** Messages of that session in Kuzu. */
  stored: number;
  /** Messages of that session in this Locrit's archives. */
  archived: number;
  /** recorded - stored - archived. */
  missing: number;
  lastActivity: string | null;
  status: string | null;
}

export interface ConversationCheck {
  /** Conversation files of this Locrit that were compared. */
  checked: number;
  /** Files of this Locrit without session_id or message_count (cannot be compared). */
  notComparable: number;
  unsaved: UnsavedConversation[];
  /** Whether archived messages were counted (so archived ones are not reported as unsaved). */
  archivesCounted: boolean;
}

export interface ListedBackup {
  path: string;
  madeBy: 'application' | 'locrit-mem';
  createdAt: string | null;
  bytes: number;
  walBytes: number | null;
  /** Messages it holds (null when it could not be read). */
  messages: number | null;
  newestMessageAt: string | null;
  readable: boolean;
  error: string | null;
}

export interface ListedArchive {
  folder: string;
  complete: boolean;
  createdAt: string | null;
  reason: string | null;
  rules: string[];
  messages: number | null;
  bytes: number;
  oldest: string | null;
  newest: string | null;
  error: string | null;
}

export interface LocritRecovery {
  /** The folder name. */
  name: string;
  /** The name the application shows, from locrits.instances; null when the configuration does not name the folder. */
  displayName: string | null;
  /** `active` in locrits.instances, or null. */
  active: boolean | null;
  /** Its memory service in locrits.instances (`kuzu_graph` is Kuzu), or null when unknown. */
  memoryService: string | null;
  path: string;
  /** Files an interrupted run left (compaction copies, journals, partial archives, stale locks), with the command that clears them. */
  leftovers?: Leftover[];
  problem: RecoverProblem;
  /** Every problem found, in words. */
  problems: string[];
  action: RecoverAction;
  outcome: RecoverOutcome;
  /** What recover does about it, step by step (the plan of --dry-run). */
  plan: string[];
  /** What was done, in order, each with its result. */
  steps: RecoverStep[];
  holder: LockHolder | null;
  waitedSeconds: number | null;
  /** When the private copy of kuzu.db the diagnosis read was taken (ISO 8601); null when none was read. */
  snapshotAt: string | null;
  replay: ReplayReport | null;
  salvage: SalvageReport | null;
  backupRestore: BackupRestoreReport | null;
  archiveRestore: ArchiveRestoreReport | null;
  conversations: ConversationCheck | null;
  /** Resets found and merged back (null when none was found). */
  merge: MergeSummary | null;
  verification: Verification | null;
  backups: ListedBackup[] | null;
  archives: ListedArchive[] | null;
  /** --prune-backups: every backup, whether it could go and whether it went. */
  pruned: PrunedBackup[] | null;
  /** Commands the operator may run next. */
  suggestions: string[];
  error: ErrorReport | null;
  exitCode: ExitCode;
  durationMs: number;
}

/** What every recover flow reports about one Locrit, whatever it did. */
export interface RecoveryBase {
  problem: RecoverProblem;
  problems: string[];
  outcome: RecoverOutcome;
  plan: string[];
  steps: RecoverStep[];
  holder: LockHolder | null;
  waitedSeconds: number | null;
  /** When the private copy the diagnosis read was taken (ISO 8601); null when no copy of kuzu.db was read. */
  snapshotAt: string | null;
  verification: Verification | null;
  suggestions: string[];
  error: ErrorReport | null;
  exitCode: ExitCode;
}

/** Diagnose and repair: nothing to do, refuse a held file, report, replay a WAL, or salvage into a fresh database. */
export type RepairAction = 'none' | 'refuse' | 'report' | 'replay-wal' | 'salvage' | 'merge' | 'move-foreign-wal';

/** Diagnose and repair: what it found and did, with the report of the repair it ran. */
export interface RepairPart extends RecoveryBase {
  action: RepairAction;
  replay: ReplayReport | null;
  salvage: SalvageReport | null;
  conversations: ConversationCheck | null;
  merge: MergeSummary | null;
}

/** --from-backup ('refuse' when the database is still held at the last check). */
export interface BackupRestorePart extends RecoveryBase {
  action: 'restore-backup' | 'refuse';
  backupRestore: BackupRestoreReport;
}

/** --from-archive ('refuse' when the database is still held at the last check). */
export interface ArchiveRestorePart extends RecoveryBase {
  action: 'restore-archive' | 'refuse';
  archiveRestore: ArchiveRestoreReport;
}

/** --list. */
export interface ListPart extends RecoveryBase {
  action: 'list';
  backups: ListedBackup[];
  archives: ListedArchive[];
}

/** One flow's part of a Locrit's report, keyed on the action; the command adds name, path and duration. */
/** A backup --prune-backups looked at. */
export interface PrunedBackup {
  path: string;
  madeBy: 'application' | 'locrit-mem';
  createdAt: string | null;
  bytes: number;
  held: number | null;
  missing: number | null;
  /** Every message it holds is in kuzu.db or a complete archive. */
  removable: boolean;
  removed: boolean;
  reason: string;
}

/** --prune-backups. */
export interface PrunePart extends RecoveryBase {
  action: 'prune-backups' | 'refuse';
  pruned: PrunedBackup[];
}

export type RecoveryPart = RepairPart | BackupRestorePart | ArchiveRestorePart | ListPart | PrunePart;

/** A flow's part for one Locrit, with how long the flow took on it. */
export interface Timed<P extends RecoveryPart> {
  target: { name: string; dbPath: string };
  part: P;
  durationMs: number;
}
