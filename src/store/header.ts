import fs from 'node:fs';
import { DatabaseUnavailableError, NotRegularFileError } from '../errors.js';

/** Kuzu 0.11.x writes storage version 39; 0.11.2 and 0.11.3 read each other's files. */
export const SUPPORTED_STORAGE_VERSION = 39;
const MAGIC = 'KUZU';

export interface HeaderInfo {
  storageVersion: number;
}

/**
 * Reads the first bytes of a database file and refuses anything Kuzu 0.11 cannot open, before
 * Kuzu sees it: a wrong file can crash Kuzu instead of raising an error.
 */
export function checkHeader(dbPath: string): HeaderInfo {
  const stat = fs.statSync(dbPath, { throwIfNoEntry: false });
  if (!stat) {
    throw new DatabaseUnavailableError(`${dbPath} does not exist`, 'missing', 'run `locrit-mem recover --list` to see its backups and archives');
  }
  if (stat.isDirectory()) {
    throw new DatabaseUnavailableError(
      `${dbPath} is a folder: a Kuzu 0.10-or-older database, which Kuzu 0.11 cannot open`,
      'unsupported-version',
      'migrate it with the Locrit application (EXPORT DATABASE in the old version, IMPORT DATABASE in 0.11)',
    );
  }
  // Opening a FIFO blocks until something writes to it, and Kuzu would block the same way.
  if (!stat.isFile()) {
    throw new NotRegularFileError(`${dbPath} is not a regular file (${fileKind(stat)})`, 'not-kuzu', 'move it aside; `locrit-mem recover --list` shows the backups and archives');
  }
  const wal = fs.statSync(`${dbPath}.wal`, { throwIfNoEntry: false });
  if (wal && !wal.isFile()) {
    throw new NotRegularFileError(`${dbPath}.wal is not a regular file (${fileKind(wal)})`, 'damaged', `move ${dbPath}.wal aside, then run \`locrit-mem recover\``);
  }
  const head = Buffer.alloc(8);
  const fd = fs.openSync(dbPath, 'r');
  let read: number;
  try {
    read = fs.readSync(fd, head, 0, 8, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (read < 8 || head.subarray(0, 4).toString('latin1') !== MAGIC) {
    const found = read === 0 ? 'an empty file' : `a file starting with bytes ${head.subarray(0, Math.min(read, 4)).toString('hex')}`;
    throw new DatabaseUnavailableError(
      `${dbPath} is not a Kuzu database (found ${found}, expected the magic 'KUZU')`,
      'not-kuzu',
      'run `locrit-mem recover` to move it aside and restore the newest backup',
    );
  }
  const storageVersion = head.readUInt32LE(4);
  if (storageVersion !== SUPPORTED_STORAGE_VERSION) {
    throw new DatabaseUnavailableError(
      `${dbPath} has Kuzu storage version ${storageVersion}; this tool reads version ${SUPPORTED_STORAGE_VERSION} (Kuzu 0.11.x)`,
      'unsupported-version',
      'use a locrit-mem built for the Kuzu version the application runs',
    );
  }
  return { storageVersion };
}

function fileKind(stat: fs.Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isDirectory()) return 'a folder';
  return 'not a file';
}
