/**
 * Kill points: a test makes the worker SIGKILL itself at a named phase to prove crash safety.
 * LOCRIT_MEM_TEST_KILL_AT=<phase> kills at that phase on every Locrit, `<locrit>:<phase>,...`
 * per Locrit. Phases: exporting (the first chunk's files written, more chunks to go; only when
 * there are several), exported (files written, no manifest), verified (manifest written, not
 * renamed), committed (archive complete, journal written, nothing deleted), deleting (inside the
 * delete transaction, before COMMIT), deleted (committed, journal still there), compacting
 * (verified copy built, not swapped in). Never set it outside tests.
 *
 * LOCRIT_MEM_TEST_PAUSE_AT=<phase>@<folder> instead makes the worker create
 * `<folder>/<locrit>.<phase>` at that phase and wait until the file is removed, so that a test
 * can change the files under a run at an exact moment (the application resetting the Locrit).
 */
import fs from 'node:fs';

export const KILL_AT_ENV = 'LOCRIT_MEM_TEST_KILL_AT';
export const PAUSE_AT_ENV = 'LOCRIT_MEM_TEST_PAUSE_AT';

let currentLocrit = '';

/** The Locrit the worker is working on, for `<locrit>:<phase>` items. */
export function killPointsFor(locrit: string): void {
  currentLocrit = locrit;
}

export function killPoint(phase: string): void {
  pausePoint(phase);
  const spec = process.env[KILL_AT_ENV];
  if (!spec) return;
  for (const item of spec.split(',')) {
    const [who, what] = item.includes(':') ? item.split(':') : ['', item];
    if (what === phase && (who === '' || who === currentLocrit)) process.kill(process.pid, 'SIGKILL');
  }
}

function pausePoint(phase: string): void {
  const spec = process.env[PAUSE_AT_ENV];
  if (!spec) return;
  const [what, folder] = spec.split('@');
  if (what !== phase || !folder) return;
  const marker = `${folder}/${currentLocrit}.${phase}`;
  fs.writeFileSync(marker, String(process.pid));
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (fs.existsSync(marker)) Atomics.wait(sleeper, 0, 0, 20);
}
