/**
 * A full disk is the operator's to fix: every way it shows up (Node's ENOSPC, Kuzu's short
 * write) becomes one error naming the folder and the free space, exit 3, never "internal" or
 * "damaged".
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { asNoSpace, checkFreeSpace, ExitCode, formatBytes, isNoSpace, NoSpaceError, toErrorReport } from '../src/errors.js';

function errno(code: string, message: string, extra: Record<string, string> = {}): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, ...extra });
}

describe('full disk', () => {
  it("recognises Node's ENOSPC and Kuzu's short write, and nothing else", () => {
    assert.ok(isNoSpace(errno('ENOSPC', 'ENOSPC: no space left on device, write')));
    assert.ok(isNoSpace(errno('EDQUOT', 'EDQUOT: disk quota exceeded, write')));
    // Kuzu 0.11.3 on a full tmpfs (errno is not set on a short write, hence "Success").
    assert.ok(isNoSpace(new Error('IO exception: Cannot write to file. path: /tmp/x/kuzu.db.wal fileDescriptor: 19 offsetToWrite: 8381461 numBytesToWrite: 4096 numBytesWritten: 3051. Error: Success')));
    assert.ok(!isNoSpace(new Error('Runtime exception: Reading past the end of the file')));
    assert.ok(!isNoSpace(errno('EACCES', 'EACCES: permission denied, open')));
  });

  it('names the folder of the failed write and what is free there; exit 3, reason no-space', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'locrit-mem-nospace-'));
    try {
      const error = asNoSpace(errno('ENOSPC', 'ENOSPC: no space left on device, copyfile', { dest: path.join(folder, 'kuzu.db.partial') }), undefined, 'copying kuzu.db');
      assert.ok(error instanceof NoSpaceError);
      assert.match(error.message, new RegExp(`^no space left on the disk of ${folder} \\([\\d.]+ (bytes|KiB|MiB|GiB|TiB) free\\) while copying kuzu\\.db$`));
      const report = toErrorReport(errno('ENOSPC', 'ENOSPC: no space left on device, write'));
      assert.equal(report.exitCode, ExitCode.unavailable);
      assert.equal(report.reason, 'no-space');
      assert.equal(report.kind, 'NoSpaceError');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('refuses a copy of known size before writing a byte', () => {
    assert.throws(() => checkFreeSpace(os.tmpdir(), Number.MAX_SAFE_INTEGER, 'copying a huge file'), (e: unknown) => e instanceof NoSpaceError && /about [\d.]+ TiB needed\) while copying a huge file/.test(e.message));
    checkFreeSpace(os.tmpdir(), 1, 'copying one byte');
  });

  it('shows sizes as df -h would', () => {
    assert.equal(formatBytes(0), '0 bytes');
    assert.equal(formatBytes(4096), '4.0 KiB');
    assert.equal(formatBytes(38.4 * 1024 * 1024), '38.4 MiB');
  });
});
