/**
 * The test-only knobs, all in one place. Each is an environment variable that a test sets on the
 * CLI it runs (worker processes inherit it); none is meant for operators, and an unset knob
 * changes nothing.
 *
 *   LOCRIT_MEM_TEST_KILL_AT          archive, emergency-cleanup: SIGKILL the worker at a phase
 *                                    (exporting, exported, verified, committed, deleting, deleted, compacting)
 *   LOCRIT_MEM_VALIDATE_KILL_AT      validate --fix: SIGKILL the worker at a quarantine phase
 *                                    (exported, archived, deleted)
 *       both kill knobs: `<phase>` kills on every Locrit, `<locrit>:<phase>,<locrit>:<phase>` per Locrit
 *   LOCRIT_MEM_TEST_FREE_BYTES       pretend the file system has this many free bytes
 *   LOCRIT_MEM_SALVAGE_TIMEOUT_MS    give up on one salvage attempt after this long (default 60,000)
 *   LOCRIT_MEM_SALVAGE_CRASH_BUDGET  crashes one table may cost a salvage (default 24)
 *   LOCRIT_MEM_DEBUG_SALVAGE         any value: trace the salvage child's requests on stderr
 */
export const KNOBS = {
  retentionKillAt: 'LOCRIT_MEM_TEST_KILL_AT',
  quarantineKillAt: 'LOCRIT_MEM_VALIDATE_KILL_AT',
  freeBytes: 'LOCRIT_MEM_TEST_FREE_BYTES',
  salvageTimeoutMs: 'LOCRIT_MEM_SALVAGE_TIMEOUT_MS',
  salvageCrashBudget: 'LOCRIT_MEM_SALVAGE_CRASH_BUDGET',
  debugSalvage: 'LOCRIT_MEM_DEBUG_SALVAGE',
} as const;

/** Kills this process with SIGKILL when the kill knob names `phase` for every Locrit or for `locrit`. */
export function killPoint(knob: typeof KNOBS.retentionKillAt | typeof KNOBS.quarantineKillAt, phase: string, locrit: string): void {
  const spec = process.env[knob];
  if (!spec) return;
  for (const item of spec.split(',')) {
    const [who, what] = item.includes(':') ? item.split(':') : ['', item];
    if (what === phase && (who === '' || who === locrit)) process.kill(process.pid, 'SIGKILL');
  }
}

/** A number knob, or `fallback` when it is unset, empty or not a positive number. */
export function numberKnob(knob: typeof KNOBS.salvageTimeoutMs | typeof KNOBS.salvageCrashBudget, fallback: number): number {
  return Number(process.env[knob]) || fallback;
}

/** The free bytes a test pretends the file system has, or null when it does not. */
export function forcedFreeBytes(): number | null {
  const forced = process.env[KNOBS.freeBytes];
  return forced === undefined || forced === '' ? null : Number(forced);
}

export function debugSalvage(): boolean {
  return Boolean(process.env[KNOBS.debugSalvage]);
}
