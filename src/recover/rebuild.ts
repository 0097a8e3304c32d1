/**
 * A database that cannot be opened or read: salvage it table by table (src/recover/salvage.ts),
 * build a fresh database from what came back and, when rows could not be read, from every
 * readable backup too (messages a complete archive holds left out), verify it, keep the damaged
 * file under our backup naming, and swap the new one in. A result holding fewer messages than
 * last known, or none, is swapped in only with --accept-loss (or a "y" at the terminal), and
 * the Locrit then stays flagged until the operator acknowledges the loss.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseUnavailableError, ExitCode, toErrorReport } from '../errors.js';
import { DB_FILE, type LocritTarget } from '../layout/locrits.js';
import { writeLossMarker } from '../layout/lossMarker.js';
import { inspectWal } from '../layout/walOwner.js';
import { VECTOR_INDEXES } from '../schema/locrit.js';
import { vectorIndexBuildPoolMb } from '../store/vectorIndexPool.js';
import { installRebuilt, keepDamaged, workFolder } from './install.js';
import { inWorker, step, suggestFallbacks, verify, type RecoverEnv } from './flow.js';
import { buildFromSources, moveForeignWal, type SourceFile } from './merge.js';
import { findResets } from './mergeFlow.js';
import { backupsOf } from './resets.js';
import { salvageDatabase } from './salvage.js';
import type { RepairPart, SalvageReport } from './types.js';

export async function rebuildFromSalvage(
  env: RecoverEnv, target: LocritTarget, part: RepairPart, source = target.dbPath,
  /** Throws when kuzu.db is no longer the file the run started with (see src/layout/sameDatabase.ts). */
  checkSameDatabase: (step: string) => void = () => undefined,
): Promise<void> {
  const work = workFolder(target.dbPath, 'salvage');
  try {
    // A WAL another database file wrote (left by a reset) is neither read nor deleted: it goes to that file.
    const walOwner = source === target.dbPath ? inspectWal(target.dbPath, backupsOf(target.dbPath, env.backupDir)) : null;
    if (walOwner?.verdict === 'foreign') {
      const moved = moveForeignWal(target.dbPath, walOwner);
      step(part, 'move WAL', true, `kuzu.db.wal (written by another database file) moved to ${moved}; it is not read with the damaged file`);
    }
    const wal = `${source}.wal`;
    const salvaged = await salvageDatabase(source, {
      workDir: work,
      bufferPoolMb: env.store.bufferPoolMb,
      batchSize: env.batchSize,
      walPath: fs.existsSync(wal) ? wal : null,
      onProgress: (text) => env.phase(`${target.name}: ${text}`),
      knobs: env.knobs,
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
    const indexedRows = Math.max(0, ...VECTOR_INDEXES.map((index) => salvaged.tables.find((t) => t.table === index.table)?.salvaged ?? 0));
    const store = { ...env.store, bufferPoolMb: vectorIndexBuildPoolMb(env.store.bufferPoolMb, indexedRows, dimension) };
    const built = await inWorker(env, 'recover-build', target, { path: rebuilt, store, folder: target.name, dimension, files: salvaged.files });
    if (!built.ok) {
      step(part, 'build', false, built.error.message);
      part.error = built.error;
      part.outcome = 'failed';
      part.exitCode = ExitCode.unavailable;
      // A full disk is cured by freeing space, not by another source.
      if (built.error.reason !== 'no-space') suggestFallbacks(env, target, part);
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
      sources: [{ path: target.dbPath, role: 'damaged', messages: counts.Message ?? 0, messagesAdded: counts.Message ?? 0, archivedLeftOut: 0 }],
      messages: counts.Message ?? 0,
      lastKnownMessages: null,
      lastKnownFrom: null,
      losesMessages: false,
      swapped: false,
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
    const partialRows = salvaged.tables.reduce((sum, t) => sum + t.partialRows, 0);
    const incomplete = report.nothingReadable || report.totals.lost === null || report.totals.lost > 0 || partialRows > 0;
    // The last known count: the damaged file's own (when it opened), else the newest readable backup's.
    const messageTable = salvaged.tables.find((t) => t.table === 'Message');
    if (salvaged.opened && messageTable?.expected != null) {
      report.lastKnownMessages = messageTable.expected;
      report.lastKnownFrom = `${path.basename(target.dbPath)} (its own count)`;
    }
    let final = rebuilt;
    let finalCounts = counts;
    if (incomplete) {
      env.phase(`${target.name}: looking for the lost messages in backups`);
      const scan = await findResets(env, target);
      const readable = scan.backups.filter((b) => b.readable && (b.held ?? 0) > 0).sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
      if (report.lastKnownMessages === null && readable[0]) {
        // What it held, less what was archived on purpose since.
        report.lastKnownMessages = (readable[0].held ?? 0) - (readable[0].inArchives ?? 0);
        report.lastKnownFrom = `${readable[0].name} (the newest readable backup${readable[0].inArchives ? `, less ${readable[0].inArchives} archived since` : ''})`;
      }
      for (const bad of scan.unreadable) part.problems.push(`backup ${bad.name} cannot be read either: ${bad.error}`);
      if (readable.length) {
        const merged = path.join(work, 'reassembled.kuzu');
        const sources: SourceFile[] = [
          { path: rebuilt, wal: null, copy: false, role: 'current' },
          ...readable.map((b): SourceFile => ({ path: b.path, wal: b.walUsed, copy: b.walUsed !== null, role: 'backup' })),
        ];
        const built = await buildFromSources(merged, path.join(work, 'sources'), sources, {
          folder: target.name, archiveRoot: env.archiveDir, settings: env.store, dimension, progress: (text) => env.phase(`${target.name}: ${text}`),
        });
        if (built.build.problems.length) {
          step(part, 'reassemble', false, built.build.problems.join('; '));
          part.outcome = 'failed';
          part.exitCode = ExitCode.unavailable;
          suggestFallbacks(env, target, part);
          return;
        }
        report.sources = built.sources.map((s, i) => ({ path: i === 0 ? target.dbPath : s.path, role: i === 0 ? 'damaged' : 'backup', messages: s.messages, messagesAdded: s.messagesAdded, archivedLeftOut: s.archivedLeftOut }));
        final = merged;
        finalCounts = built.build.counts;
        step(part, 'reassemble', true, report.sources.map((s) => `${path.basename(s.path)} ${s.role === 'damaged' ? s.messagesAdded : `+${s.messagesAdded}`}${s.archivedLeftOut ? ` (${s.archivedLeftOut} in archives left out)` : ''}`).join(', ') + ` = ${finalCounts.Message ?? 0} messages`);
      } else {
        step(part, 'reassemble', true, `no readable backup of ${target.name} to add messages from`);
      }
    }
    report.messages = finalCounts.Message ?? 0;
    report.losesMessages = report.messages === 0 || (report.lastKnownMessages !== null && report.messages < report.lastKnownMessages);
    if (report.losesMessages && !env.options.acceptLoss) {
      const what = report.lastKnownMessages !== null
        ? `${report.messages} message(s), ${report.lastKnownMessages - report.messages} fewer than the ${report.lastKnownMessages} last known (${report.lastKnownFrom})`
        : `${report.messages} message(s), and how many the damaged file held is unknown`;
      const accepted = env.options.confirmLoss ? await env.options.confirmLoss(`${target.name}: the salvaged database would hold ${what}. Swap it in anyway?`) : false;
      if (!accepted) {
        step(part, 'swap', false, `not swapped in: the salvaged database would hold ${what}; ${target.dbPath} is unchanged`);
        part.outcome = 'refused';
        part.exitCode = ExitCode.unavailable;
        part.error = toErrorReport(new DatabaseUnavailableError(
          `${target.dbPath} is damaged and its salvage would hold ${what}: not swapped in`,
          'damaged',
          `look for another copy first (locrit-mem recover ${target.name} --list); to swap in what could be saved: locrit-mem recover ${target.name} --accept-loss`,
        ));
        suggestFallbacks(env, target, part);
        return;
      }
    }
    checkSameDatabase('moving the damaged file aside and renaming the rebuilt file into place');
    const kept = keepDamaged(target.dbPath, new Date());
    report.movedAsideTo = kept.dbBackup;
    report.walMovedAsideTo = kept.walBackup;
    installRebuilt(final, target.dbPath);
    report.swapped = true;
    step(part, 'swap', true, `damaged file kept as ${kept.dbBackup}${kept.walBackup ? ` (its WAL as ${path.basename(kept.walBackup)})` : ''}; the rebuilt database is now ${target.dbPath}`);
    if (report.losesMessages) {
      writeLossMarker(target.dbPath, { at: new Date().toISOString(), messages: report.messages, lastKnown: report.lastKnownMessages, lastKnownFrom: report.lastKnownFrom, damagedKeptAs: kept.dbBackup });
      part.problems.push(`salvaged with losses: ${report.messages} message(s)${report.lastKnownMessages !== null ? ` of ${report.lastKnownMessages} last known` : ''}; stats and validate flag ${target.name} until \`locrit-mem recover ${target.name} --acknowledge-loss\``);
    }
    const verification = await verify(env, target, target.dbPath, finalCounts);
    part.verification = verification;
    step(part, 'verify', verification.ok, verification.ok ? 'opens; every table holds what the salvage report says; schema complete' : verification.problems.join('; '));
    if (!verification.ok) {
      part.outcome = 'failed';
      part.exitCode = ExitCode.unavailable;
      suggestFallbacks(env, target, part, [kept.dbBackup]);
      return;
    }
    part.outcome = 'salvaged';
    // Rows the damaged file could not give may have come back from backups: losses are known only against a known count.
    const unknownLoss = incomplete && !(salvaged.opened && messageTable?.expected != null);
    const lostSome = report.losesMessages || unknownLoss || salvaged.tables.some((t) => t.partialRows > 0 || t.withoutEndpoints > 0 || (!incomplete && t.lostIdCount > 0));
    part.exitCode = lostSome ? ExitCode.findings : ExitCode.ok;
    if (report.nothingReadable) {
      part.problems.push(`nothing could be read from the damaged file${report.openError ? ` (${report.openError})` : ''}: the new database holds ${report.messages === 0 ? 'nothing' : `only what the backups held (${report.messages} messages)`}`);
      suggestFallbacks(env, target, part, [kept.dbBackup]);
    } else if (lostSome) {
      suggestFallbacks(env, target, part, [kept.dbBackup]);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
