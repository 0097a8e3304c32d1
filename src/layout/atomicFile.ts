import fs from 'node:fs';
import path from 'node:path';
import { applyOwnership, type DatabaseOwnership } from './ownership.js';

/**
 * Writes a file through a temporary name, flushes it, and renames it into place, so that a
 * reader (the Prometheus textfile collector, a CI job, the next run) sees the old file or the
 * whole new one, never half of it. The temporary file is removed if anything fails.
 * With `owner`, the temporary file gets that owner, group and mode before the rename (a file
 * holding message content); without, it keeps the ordinary mode of a new file (reports, metrics).
 */
export function writeFileAtomic(
  file: string,
  text: string,
  temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`),
  owner?: DatabaseOwnership,
): void {
  try {
    const fd = fs.openSync(temporary, 'w', owner ? 0o600 : 0o666);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (owner) applyOwnership(temporary, owner);
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}
