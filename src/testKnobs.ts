/**
 * Test-only knobs: how a test makes a run die or wait at an exact point (to prove that every
 * step is safe to kill), or sees a different disk or salvage budget. Never set outside tests.
 *
 * One environment variable, `knob=value` items separated by `;`:
 *
 *   LOCRIT_MEM_TEST='kill-at=carol:compacting,dave:exported; free-bytes=1000'
 *
 *   kill-at=[<locrit>:]<point>,...  the process working on that Locrit (on any Locrit without
 *                                   `<locrit>:`) kills itself with SIGKILL at that point
 *   pause-at=<point>@<folder>       at that point, create `<folder>/<locrit>.<point>` and wait
 *                                   until the test removes it (to change files under a run)
 *   free-bytes=<n>                  the free disk space the compaction check sees
 *   salvage-timeout-ms=<n>          a salvage attempt taking longer is killed (default 60000)
 *   salvage-crash-budget=<n>        crashes one table may cost a salvage (default 24)
 *   salvage-debug=1                 the salvage logs each request on stderr
 *
 * Points of archive and emergency-cleanup: exporting (the first chunk's files written, more
 * chunks to go), exported (files written, no manifest), verified (manifest written, not
 * renamed), committed (archive complete, journal written, nothing deleted), deleting (inside the
 * delete transaction, before COMMIT), deleted (committed, journal still there), compacting
 * (verified copy built, not swapped in). Points of validate --fix: quarantine-exported,
 * quarantine-archived, quarantine-deleted. Point of recover --from-archive: restoring (the
 * archived messages inserted, before COMMIT). Points of stats: copied (in the command's process:
 * a Locrit's private copy taken, before its worker is sent it), reading (in the worker: the copy
 * in hand, before it is opened).
 *
 * The command's process reads the variable once (buildContext) and passes the knobs on: to
 * worker processes in each task request, where the task sees them as `TaskContext.testPoint`
 * and `TaskContext.knobs`.
 */
import fs from 'node:fs';

export const TEST_KNOBS_ENV = 'LOCRIT_MEM_TEST';

export interface TestKnobs {
  killAt: { locrit: string | null; point: string }[];
  pauseAt: { point: string; folder: string } | null;
  freeBytes: number | null;
  salvageTimeoutMs: number | null;
  salvageCrashBudget: number | null;
  salvageDebug: boolean;
}

export const NO_TEST_KNOBS: TestKnobs = { killAt: [], pauseAt: null, freeBytes: null, salvageTimeoutMs: null, salvageCrashBudget: null, salvageDebug: false };

/** Parses LOCRIT_MEM_TEST; an unknown knob or a bad value throws, so that a test's typo cannot pass unnoticed. */
export function readTestKnobs(env: NodeJS.ProcessEnv = process.env): TestKnobs {
  const spec = env[TEST_KNOBS_ENV];
  if (!spec) return NO_TEST_KNOBS;
  const knobs: TestKnobs = { ...NO_TEST_KNOBS, killAt: [] };
  const count = (name: string, value: string): number => {
    const n = Number(value);
    if (value === '' || !Number.isFinite(n) || n < 0) throw new Error(`${TEST_KNOBS_ENV}: ${name} must be a number >= 0, not '${value}'`);
    return n;
  };
  for (const item of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
    const at = item.indexOf('=');
    const [name, value] = at < 0 ? [item, ''] : [item.slice(0, at).trim(), item.slice(at + 1).trim()];
    switch (name) {
      case 'kill-at':
        for (const entry of value.split(',').filter(Boolean)) {
          const colon = entry.indexOf(':');
          knobs.killAt.push(colon < 0 ? { locrit: null, point: entry } : { locrit: entry.slice(0, colon), point: entry.slice(colon + 1) });
        }
        break;
      case 'pause-at': {
        const [point, folder] = value.split('@');
        if (!point || !folder) throw new Error(`${TEST_KNOBS_ENV}: pause-at must be <point>@<folder>, not '${value}'`);
        knobs.pauseAt = { point, folder };
        break;
      }
      case 'free-bytes':
        knobs.freeBytes = count(name, value);
        break;
      case 'salvage-timeout-ms':
        knobs.salvageTimeoutMs = count(name, value);
        break;
      case 'salvage-crash-budget':
        knobs.salvageCrashBudget = count(name, value);
        break;
      case 'salvage-debug':
        knobs.salvageDebug = value !== '0';
        break;
      default:
        throw new Error(`${TEST_KNOBS_ENV}: unknown knob '${name}' (see src/testKnobs.ts)`);
    }
  }
  return knobs;
}

/** The test point of one Locrit: pauses, then kills the process, where the knobs say so. */
export function testPointFor(knobs: TestKnobs, locrit: string): (point: string) => void {
  if (knobs.killAt.length === 0 && knobs.pauseAt === null) return () => undefined;
  return (point) => {
    if (knobs.pauseAt?.point === point) pauseHere(`${knobs.pauseAt.folder}/${locrit}.${point}`);
    if (knobs.killAt.some((k) => k.point === point && (k.locrit === null || k.locrit === locrit))) process.kill(process.pid, 'SIGKILL');
  };
}

/** Blocks this process (a worker: nothing else runs in it) until the test removes `marker`. */
function pauseHere(marker: string): void {
  fs.writeFileSync(marker, String(process.pid));
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (fs.existsSync(marker)) Atomics.wait(sleeper, 0, 0, 20);
}
