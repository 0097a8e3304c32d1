/**
 * `emergency-cleanup`: rules 3 (over max_messages_per_locrit: the oldest emergency_fraction go)
 * and 4 (file over max_db_size_mb: age rule with emergency_days_old / emergency_keep_count), on
 * the Locrits that break them; the others are left untouched ("nothing to do"). Same engine,
 * archive format and crash safety as `archive` (src/commands/archive.ts); compacts by default.
 */
import type { CommandContext } from './context.js';
import { runRetention, type RetentionOptions, type RetentionReport } from './archive.js';

export async function runEmergencyCleanup(context: CommandContext, options: RetentionOptions): Promise<RetentionReport> {
  return runRetention(context, 'emergency-cleanup', { compact: true, ...options });
}
