/**
 * `emergency-cleanup`: the emergency count rule (over max_messages_per_locrit: the oldest
 * emergency_fraction go) and the emergency size rule (file over max_db_size_mb: the age rule
 * with emergency_days_old / emergency_keep_count), on the Locrits that break them; the others
 * are left untouched ("nothing to do"). Same engine (src/retention/), archive format and crash
 * safety as `archive`; compacts by default.
 */
import type { CommandContext } from './context.js';
import { runRetention, type RetentionOptions, type RetentionReport } from './archive.js';

export async function runEmergencyCleanup(context: CommandContext, options: RetentionOptions): Promise<RetentionReport> {
  return runRetention(context, 'emergency-cleanup', { compact: true, ...options });
}
