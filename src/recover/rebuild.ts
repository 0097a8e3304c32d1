/**
 * A database that cannot be opened or read: salvage it table by table (src/recover/salvage.ts),
 * build a fresh database from what came back, verify it, keep the damaged file under the
 * application's backup naming, and swap the new one in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../errors.js';
import { DB_FILE, type LocritTarget } from '../layout/locrits.js';
import type { BuildResult } from '../store/salvage.js';
import { installRebuilt, keepAsAppBackup, workFolder } from './files.js';
import { inWorker, step, suggestFallbacks, verify, type RecoverEnv } from './flow.js';
import { salvageDatabase } from './salvage.js';
import type { RepairPart, SalvageReport } from './types.js';

export async function rebuildFromSalvage(
  env: RecoverEnv, target: LocritTarget, part: RepairPart, source = target.dbPath,
  /** Throws when kuzu.db is no longer the file the run started with (see src/layout/sameDatabase.ts). */
  checkSameDatabase: (step: string) => void = () => undefined,
): Promise<void> {
  const work = workFolder(target.dbPath, 'salvage');
  try {
    const wal = `${source}.wal`;
    const salvaged = await salvageDatabase(source, {
      workDir: work,
      bufferPoolMb: env.store.bufferPoolMb,
      batchSize: env.batchSize,
      walPath: fs.existsSync(wal) ? wal : null,
      onProgress: (text) => env.phase(`${target.name}: ${text}`),
    });
    const read = salvaged.tables.reduce((sum, t) => sum + t.salvaged, 0);
    step(
      part, 'salvage', salvaged.opened,
      salvaged.opened
        ? `${read} row(s) read in ${salvaged.attempts} attempt(s), ${salvaged.crashes} of which crashed Kuzu${salvaged.usedWal ? '' : fs.existsSync(wal) ? '; the WAL could not be used, the main file was read alone' : ''}`
        : `Kuzu cannot open the file at all: ${salvaged.openError ?? 'unknown error'}`,
    );
    const dimension = salvaged.dimension ?? env.dimension;
    const rebuilt = path.join(work, DB_FILE);
    const built = await inWorker<BuildResult>(env, target, { op: 'build', path: rebuilt, store: env.store, folder: target.name, dimension, files: salvaged.files });
    if (!built.ok) {
      step(part, 'build', false, built.error.message);
      part.outcome = 'failed';
      part.exitCode = ExitCode.unavailable;
      suggestFallbacks(env, target, part);
      return;
    }
    const counts = built.value.counts;
    for (const table of salvaged.tables) {
      table.recovered = counts[table.table] ?? 0;
      table.withoutEndpoints = built.value.relsWithoutEndpoints[table.table] ?? 0;
      table.lost = table.expected === null ? (table.lostIdCount || null) : Math.max(0, table.expected - table.recovered);
      if (table.withoutEndpoints) table.notes.push(`${table.withoutEndpoints} relationship(s) read but not loaded: an end did not come back`);
    }
    const knownExpected = salvaged.tables.every((t) => t.expected !== null);
    const report: SalvageReport = {
      movedAsideTo: null,
      walMovedAsideTo: null,
      opened: salvaged.opened,
      openError: salvaged.openError,
      usedWal: salvaged.usedWal,
      dimension,
      dimensionFrom: salvaged.dimension === null ? 'config' : 'database',
      tables: salvaged.tables,
      totals: {
        expected: knownExpected && salvaged.opened ? salvaged.tables.reduce((s, t) => s + (t.expected ?? 0), 0) : null,
        recovered: salvaged.tables.reduce((s, t) => s + t.recovered, 0),
        lost: knownExpected && salvaged.opened ? salvaged.tables.reduce((s, t) => s + (t.lost ?? 0), 0) : null,
      },
      nothingReadable: salvaged.nothingReadable,
      schemaMissing: salvaged.schemaMissing,
      extraTables: salvaged.extraTables,
      vectorIndexes: built.value.vectorIndexes,
      attempts: salvaged.attempts,
      crashes: salvaged.crashes,
    };
    part.salvage = report;
    step(part, 'build', true, `fresh database with the Locrit schema (dimension ${dimension}${report.dimensionFrom === 'config' ? ', from memory.embedding_dimension' : ''}), ${report.totals.recovered} row(s) loaded${built.value.vectorIndexes.length ? `, vector indexes ${built.value.vectorIndexes.join(', ')}` : ''}`);
    // Check the new file before it replaces anything.
    const before = await verify(env, target, rebuilt, counts);
    step(part, 'verify new file', before.ok, before.ok ? 'opens; row counts equal what was loaded; schema complete' : before.problems.join('; '));
    if (!before.ok) {
      part.verification = before;
      part.outcome = 'failed';
      part.exitCode = ExitCode.unavailable;
      suggestFallbacks(env, target, part);
      return;
    }
    checkSameDatabase('moving the damaged file aside and renaming the rebuilt file into place');
    const kept = keepAsAppBackup(target.dbPath, new Date());
    report.movedAsideTo = kept.dbBackup;
    report.walMovedAsideTo = kept.walBackup;
    installRebuilt(rebuilt, target.dbPath);
    step(part, 'swap', true, `damaged file kept as ${kept.dbBackup}${kept.walBackup ? ` (its WAL as ${path.basename(kept.walBackup)})` : ''}; the rebuilt database is now ${target.dbPath}`);
    const verification = await verify(env, target, target.dbPath, counts);
    part.verification = verification;
    step(part, 'verify', verification.ok, verification.ok ? 'opens; every table holds what the salvage report says; schema complete' : verification.problems.join('; '));
    if (!verification.ok) {
      part.outcome = 'failed';
      part.exitCode = ExitCode.unavailable;
      suggestFallbacks(env, target, part, [kept.dbBackup]);
      return;
    }
    part.outcome = 'salvaged';
    const lostSome = report.totals.lost === null || report.totals.lost > 0 || salvaged.tables.some((t) => t.lostIdCount > 0 || t.partialRows > 0 || t.withoutEndpoints > 0);
    part.exitCode = lostSome ? ExitCode.findings : ExitCode.ok;
    if (report.nothingReadable) {
      part.problems.push(`nothing could be read from the damaged file${report.openError ? ` (${report.openError})` : ''}: the new database is empty`);
      suggestFallbacks(env, target, part, [kept.dbBackup]);
    } else if (lostSome) {
      suggestFallbacks(env, target, part, [kept.dbBackup]);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
