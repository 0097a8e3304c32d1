/**
 * Child process: writes the Message ids of one database file to a Parquet file and prints the
 * figures as one JSON line. Run in its own process because a damaged backup can crash Kuzu
 * natively; the parent then reports that backup as unreadable and goes on.
 * Usage: node idExportChild.js <database> <output.parquet> <bufferPoolMb>
 */
import { toErrorReport } from '../errors.js';
import { exportMessageIds } from '../store/idSets.js';

const [dbPath, file, bufferPoolText] = process.argv.slice(2);
try {
  const result = await exportMessageIds(dbPath, file, { bufferPoolMb: Number(bufferPoolText) || 64 });
  process.stdout.write(`${JSON.stringify({ ok: true, value: result })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: toErrorReport(error) })}\n`);
}
