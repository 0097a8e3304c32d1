/**
 * Child process that reads one database file and prints the result as one JSON line:
 *   ids <database> <output.parquet> <bufferPoolMb>           its Message ids (src/store/idSets.ts)
 *   ids-of-copy <copy> <output.parquet> <bufferPoolMb>       the same from a private copy, finishing first a
 *                                                            checkpoint killed half-way (a read-write open of the copy)
 *   tables <database> <output folder> <bufferPoolMb> <dim>   every Locrit table (src/store/mergeQueries.ts)
 *   wal-check <pair database> <same file alone> <bufferPoolMb>   signs of a foreign WAL (src/store/walContent.ts)
 * Run in its own process because a damaged backup can crash Kuzu natively; the parent then
 * reports that source as unreadable and goes on.
 */
import fs from 'node:fs';
import { toErrorReport } from '../errors.js';
import { withStore } from '../store/kuzu.js';
import { exportMessageIds } from '../store/idSets.js';
import { exportSourceTables } from '../store/mergeQueries.js';
import { foreignWalSigns } from '../store/walContent.js';

const [mode, dbPath, output, bufferPoolText, dimensionText] = process.argv.slice(2);
// A parent killed mid-run (SIGKILL) cannot stop its readers: a reader left alone stops itself
// rather than go on writing into a work folder the next run cleans and fills again.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 250).unref();
const settings = { bufferPoolMb: Number(bufferPoolText) || 64 };
try {
  if (mode === 'ids-of-copy' && fs.existsSync(`${dbPath}.shadow`)) await withStore(dbPath, { readOnly: false, bufferPoolMb: settings.bufferPoolMb }, async () => undefined);
  const value =
    mode === 'tables'
      ? await exportSourceTables(dbPath, output, dimensionText ? Number(dimensionText) : null, settings)
      : mode === 'wal-check'
        ? await foreignWalSigns(dbPath, output, settings)
        : await exportMessageIds(dbPath, output, settings);
  process.stdout.write(`${JSON.stringify({ ok: true, value })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: toErrorReport(error) })}\n`);
}
