import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes a file through a temporary name, flushes it, and renames it into place, so that a
 * reader (the Prometheus textfile collector, a CI job, the next run) sees the old file or the
 * whole new one, never half of it. The temporary file is removed if anything fails.
 */
export function writeFileAtomic(file: string, text: string, temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)): void {
  try {
    const fd = fs.openSync(temporary, 'w');
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}
