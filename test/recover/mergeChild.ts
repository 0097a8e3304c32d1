/**
 * Runs a merge in its own process and kills itself with SIGKILL when it reaches `phase`
 * (a progress phase, or "swap" for the moment after the check and before the swap).
 * Usage: node mergeChild.js <kuzu.db> <folder> <phase>
 */
import { mergeLocrit } from '../../src/recover/merge.js';

const [dbPath, folder, phase] = process.argv.slice(2);
const die = (): void => {
  process.kill(process.pid, 'SIGKILL');
};
await mergeLocrit(dbPath, {
  folder,
  backups: null,
  archiveRoot: null,
  backupDir: null,
  settings: { bufferPoolMb: 64 },
  progress: (reached) => {
    if (reached.startsWith(phase)) die();
  },
  beforeSwap: () => {
    if (phase === 'swap') die();
  },
});
process.stdout.write('finished\n');
