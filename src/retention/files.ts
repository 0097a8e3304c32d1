import fs from 'node:fs';

/** A file's size in bytes, 0 when it does not exist. */
export function sizeOf(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}
