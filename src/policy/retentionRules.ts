/**
 * The retention rules as pure functions: which rules apply to a Locrit, with which
 * thresholds, what makes a message critical or low-priority. No I/O, no Kuzu: src/store/retentionQueries.ts
 * turns these decisions into queries, and the tests check both against each other.
 *
 * Rules:
 *  age               older than archive_after_days, never among the keep_count most recent (the application's archive_old_messages)
 *  conversation-size a session over max_messages_per_conversation keeps its most recent ones (the conversation manager's _limit_conversation_size)
 *  emergency-count   over max_messages_per_locrit: the oldest emergency_fraction go (the application's emergency_cleanup)
 *  emergency-size    file over max_db_size_mb: the age rule with emergency_days_old / emergency_keep_count (the application's check_memory_limit)
 * Critical messages (metadata.important, or content matching critical_patterns) are spared when protect_critical
 * Low-priority embeddings: system messages and messages of low_priority_max_chars or fewer carry none (--strip-embeddings)
 */
import type { ArchiveRule } from '../archive/format.js';

export type RetentionCommand = 'archive' | 'emergency-cleanup';

/** Thresholds, from the configuration with command-line overrides applied. 0 means "no limit" for limits. */
export interface RetentionSettings {
  archiveAfterDays: number;
  keepCount: number;
  maxMessagesPerConversation: number;
  maxMessagesPerLocrit: number;
  maxDbSizeMb: number;
  emergencyFraction: number;
  emergencyDaysOld: number;
  emergencyKeepCount: number;
  protectCritical: boolean;
  criticalPatterns: string[];
  lowPriorityMaxChars: number;
  enableEmbeddings: boolean;
}

/** What the planner needs to know about a Locrit before choosing rules. */
export interface LocritFacts {
  messages: number;
  dbBytes: number;
}

/** One rule to run, with the parameters that go into its query and the manifest. */
export type RulePlan =
  | { rule: 'age'; days: number; keepCount: number; cutoff: Date }
  | { rule: 'conversation-size'; maxPerConversation: number }
  | { rule: 'emergency-count'; fraction: number; limit: number; removeCount: number }
  | { rule: 'emergency-size'; days: number; keepCount: number; cutoff: Date; limitBytes: number };

export interface RuleDecision {
  rule: ArchiveRule;
  /** Whether the rule runs on this Locrit. */
  applies: boolean;
  /** Why it runs or not, one short phrase for the report. */
  reason: string;
  plan: RulePlan | null;
}

const DAY_MS = 86_400_000;
/** Far before any message; further back a Date becomes invalid and cannot be formatted. */
const EARLIEST_CUTOFF_MS = Date.UTC(1000, 0, 1);

/** The instant before which messages are "older than `days`". */
export function ageCutoff(now: Date, days: number): Date {
  return new Date(Math.max(now.getTime() - days * DAY_MS, EARLIEST_CUTOFF_MS));
}


/** How many of the oldest messages the emergency count rule removes: floor(total x fraction), as the application's `count // 2`. */
export function emergencyRemoveCount(total: number, fraction: number): number {
  return Math.max(0, Math.min(total, Math.floor(total * fraction)));
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

export function mebibytes(mb: number): number {
  return Math.round(mb * 1024 * 1024);
}

/**
 * Which rules run for a command. `archive` runs the age and conversation-size rules whenever they are configured;
 * `emergency-cleanup` runs the emergency count and/or size rule only on a Locrit that breaks that limit, so a healthy
 * Locrit is left untouched ("nothing to do").
 */
export function decideRules(command: RetentionCommand, facts: LocritFacts, settings: RetentionSettings, now: Date): RuleDecision[] {
  if (command === 'archive') {
    const age: RuleDecision = settings.archiveAfterDays > 0
      ? {
          rule: 'age', applies: true,
          reason: `older than ${settings.archiveAfterDays} days, keeping the ${settings.keepCount} most recent`,
          plan: { rule: 'age', days: settings.archiveAfterDays, keepCount: settings.keepCount, cutoff: ageCutoff(now, settings.archiveAfterDays) },
        }
      : { rule: 'age', applies: false, reason: 'archive_after_days is 0 (no age limit)', plan: null };
    const size: RuleDecision = settings.maxMessagesPerConversation > 0
      ? {
          rule: 'conversation-size', applies: true,
          reason: `sessions over ${settings.maxMessagesPerConversation} messages keep their most recent ones`,
          plan: { rule: 'conversation-size', maxPerConversation: settings.maxMessagesPerConversation },
        }
      : { rule: 'conversation-size', applies: false, reason: 'max_messages_per_conversation is 0 (no limit)', plan: null };
    return [age, size];
  }
  const limitBytes = mebibytes(settings.maxDbSizeMb);
  const count: RuleDecision =
    settings.maxMessagesPerLocrit > 0 && facts.messages > settings.maxMessagesPerLocrit
      ? {
          rule: 'emergency-count', applies: true,
          reason: `${facts.messages} messages > max_messages_per_locrit ${settings.maxMessagesPerLocrit}`,
          plan: {
            rule: 'emergency-count', fraction: settings.emergencyFraction, limit: settings.maxMessagesPerLocrit,
            removeCount: emergencyRemoveCount(facts.messages, settings.emergencyFraction),
          },
        }
      : {
          rule: 'emergency-count', applies: false,
          reason: settings.maxMessagesPerLocrit > 0 ? `${facts.messages} messages <= max_messages_per_locrit ${settings.maxMessagesPerLocrit}` : 'max_messages_per_locrit is 0 (no limit)',
          plan: null,
        };
  const size: RuleDecision =
    settings.maxDbSizeMb > 0 && facts.dbBytes > limitBytes
      ? {
          rule: 'emergency-size', applies: true,
          reason: `file ${mib(facts.dbBytes)} MiB > max_db_size_mb ${settings.maxDbSizeMb} MiB`,
          plan: {
            rule: 'emergency-size', days: settings.emergencyDaysOld, keepCount: settings.emergencyKeepCount,
            cutoff: ageCutoff(now, settings.emergencyDaysOld), limitBytes,
          },
        }
      : {
          rule: 'emergency-size', applies: false,
          reason: settings.maxDbSizeMb > 0 ? `file ${mib(facts.dbBytes)} MiB <= max_db_size_mb ${settings.maxDbSizeMb} MiB` : 'max_db_size_mb is 0 (no limit)',
          plan: null,
        };
  return [count, size];
}

/** The parameters of a rule as they are written to the manifest and the report (dates as ISO 8601). */
export function ruleParameters(plan: RulePlan): Record<string, string | number | boolean | null> {
  switch (plan.rule) {
    case 'age':
      return { days: plan.days, keepCount: plan.keepCount, cutoff: plan.cutoff.toISOString() };
    case 'conversation-size':
      return { maxPerConversation: plan.maxPerConversation };
    case 'emergency-count':
      return { fraction: plan.fraction, limit: plan.limit, removeCount: plan.removeCount };
    case 'emergency-size':
      return { days: plan.days, keepCount: plan.keepCount, cutoff: plan.cutoff.toISOString(), limitBytes: plan.limitBytes };
  }
}

// ---------------------------------------------------------------- critical and low-priority messages

/** metadata.important == true, matched in the JSON text (Kuzu has no built-in JSON without an extension). */
export const IMPORTANT_METADATA_REGEX = '"important"\\s*:\\s*true';

/**
 * A pattern found anywhere in the text, written for a whole-text match: `.*(?:pattern).*` with
 * `(?s)` so that `.` crosses newlines. Kuzu 0.11 compiles the pattern of `regexp_matches` again
 * for every row (~8 us each), while `regexp_full_match` with a literal pattern compiles it once:
 * 45 ms against 1.5 ms over 6,000 messages, same rows found.
 */
export function anywhere(regex: string): string {
  const flags = regex.match(/^\(\?([a-z]+)\)/);
  const body = flags ? regex.slice(flags[0].length) : regex;
  return `(?${flags ? flags[1].replace('s', '') : ''}s).*(?:${body}).*`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The content pattern of critical messages: any of `patterns`, case-insensitive, as an RE2 regex
 * for Kuzu's regexp_matches (`(?i)(a|b)`), or null when there are no patterns.
 */
export function criticalContentRegex(patterns: string[]): string | null {
  const parts = patterns.filter((p) => p.length > 0).map(escapeRegex);
  return parts.length ? `(?i)(${parts.join('|')})` : null;
}

/** A critical message: metadata.important is true, or the content contains a critical pattern (case-insensitive). */
export function isCritical(message: { content: string | null; metadata: string | null }, patterns: string[]): boolean {
  if (message.metadata && new RegExp(IMPORTANT_METADATA_REGEX).test(message.metadata)) return true;
  const content = (message.content ?? '').toLowerCase();
  return patterns.some((p) => p.length > 0 && content.includes(p.toLowerCase()));
}

/** A low-priority message: system messages and messages of `maxChars` characters or fewer should carry no embedding. */
export function isLowPriority(message: { role: string | null; content: string | null }, maxChars: number): boolean {
  return message.role === 'system' || [...(message.content ?? '')].length <= maxChars;
}

/** Bytes held by `count` stored embeddings of `dimension` FLOATs. */
export function embeddingBytes(count: number, dimension: number | null): number {
  return count * (dimension ?? 0) * 4;
}

/** What decides whether a run rebuilds the file afterwards. */
export interface CompactionFacts {
  command: RetentionCommand;
  /** --compact (emergency-cleanup's default). */
  compact: boolean;
  /** Embeddings --strip-embeddings drops: only a rebuild can drop them, so any makes it compact. */
  embeddingsToStrip: number;
  /** Messages the run takes out (planned, or deleted). */
  messagesLeaving: number;
  /** An interrupted run was finished by deleting what it had archived. */
  finishedInterrupted: boolean;
  /** Earlier runs deleted messages and did not compact afterwards: the file still holds their pages. */
  compactionOwed?: boolean;
  /** Whether any rule applies to the Locrit (emergency-cleanup compacts a Locrit over a limit even when nothing is selected). */
  anyRuleApplies: boolean;
}

/** Whether the run compacts the file: the dry run's plan, the real run's free-space check and its last step all ask this. */
export function willCompact(f: CompactionFacts): boolean {
  if (f.embeddingsToStrip > 0) return true;
  if (!f.compact) return false;
  return f.messagesLeaving > 0 || f.finishedInterrupted || Boolean(f.compactionOwed) || (f.command === 'emergency-cleanup' && f.anyRuleApplies);
}
