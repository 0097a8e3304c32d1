/**
 * Writing one archive: COPY ... TO Parquet into `<archive>/<locrit>/.<stamp>.partial/`, one
 * chunk of at most archive.batch_messages messages (a consecutive id range) at a time; the
 * manifest; a read-back check (row counts, id digest equal to the database's, sha256s); the
 * journal; and the rename to `<stamp>/` that makes it a complete archive. Nothing is deleted here.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  ARCHIVE_FORMAT, ARCHIVE_FORMAT_VERSION, MANIFEST_FILE, makeLocritArchiveDir, partialFolderName, verifyArchive, writeManifest, type ArchiveManifest, type ArchiveReason,
} from '../archive/format.js';
import { syncDir, writeJournal, type RunJournal } from '../archive/journal.js';
import { toolVersion } from '../version.js';
import { DataSafetyError } from '../errors.js';
import { sizeOf, utcStamp } from '../layout/files.js';
import type { LocritTarget } from '../layout/locrits.js';
import type { TaskContext } from '../runner/protocol.js';
import { explainBufferPoolError, exportSelection, kuzuParquetReader } from '../store/archiveIo.js';
import type { KuzuStore } from '../store/kuzu.js';
import type { Planned } from './plan.js';
import type { RetentionJob, RetentionResult } from './types.js';

function journalFor(payload: RetentionJob, archive: string | null, partial: string | null, messages: number, idDigest: string | null): RunJournal {
  return { runId: crypto.randomUUID(), command: payload.command, pid: process.pid, startedAt: new Date().toISOString(), archive, partial, messages, idDigest };
}

/** export -> verify -> manifest -> journal -> rename: returns a complete, verified archive. */
export async function writeArchive(
  store: KuzuStore,
  target: LocritTarget,
  payload: RetentionJob,
  p: Planned,
  task: TaskContext,
): Promise<{ archive: NonNullable<RetentionResult['archive']> }> {
  const root = makeLocritArchiveDir(payload.archiveRoot, target.name, target.dbPath);
  let stamp = utcStamp(new Date());
  for (let i = 1; fs.existsSync(path.join(root, stamp)) || fs.existsSync(path.join(root, partialFolderName(stamp))); i++) stamp = `${utcStamp(new Date())}-${i}`;
  const finalDir = path.join(root, stamp);
  const partial = path.join(root, partialFolderName(stamp));
  const runId = crypto.randomUUID();

  const planned = p.union.messages.toLocaleString('en-US');
  let done = 0;
  task.progress(`archiving: 0/${planned} messages written`);
  let exported: Awaited<ReturnType<typeof exportSelection>>;
  try {
    exported = await exportSelection(store, p.schema, p.selection, partial, {
      batchMessages: payload.batchMessages,
      onFile: (name) => task.progress(`archiving: ${done.toLocaleString('en-US')}/${planned} messages written (${name})`),
      onChunk: (chunk, chunks, messagesDone) => {
        done = messagesDone;
        task.progress(`archiving: ${done.toLocaleString('en-US')}/${planned} messages written (chunk ${chunk}/${chunks})`);
        if (chunk === 1 && chunks > 1) task.testPoint('exporting');
      },
    });
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw explainBufferPoolError(error, `archiving ${p.union.messages} messages of ${target.name}`);
  }
  task.testPoint('exported');
  if (exported.idCount !== p.union.messages || exported.idDigest !== p.idDigest) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new DataSafetyError(
      `the export of ${target.name} holds ${exported.idCount} messages (id digest ${exported.idDigest.slice(0, 12)}), the plan ${p.union.messages} (${p.idDigest.slice(0, 12)}): the database changed since it was planned; nothing was deleted`,
      'rerun the command',
    );
  }

  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    formatVersion: ARCHIVE_FORMAT_VERSION,
    tool: { name: 'locrit-mem', version: toolVersion() },
    createdAt: new Date().toISOString(),
    runId,
    reason: payload.command as ArchiveReason,
    locrit: target.name,
    sourceDb: target.dbPath,
    rules: p.rules.filter((r) => r.applies).map((r) => ({ rule: r.rule, parameters: r.parameters, messages: r.selected })),
    counts: { messages: p.union.messages, messagesWithEmbedding: p.union.withEmbedding, relationships: exported.relationships },
    timeRange: { oldest: p.union.oldest, newest: p.union.newest },
    embeddingDimension: p.dimension,
    chunking: exported.chunking,
    files: exported.files,
    idDigest: { algorithm: 'sha256', of: 'sorted message ids, each followed by \\n', count: exported.idCount, value: exported.idDigest },
  };
  writeManifest(partial, manifest);

  // Read back: sha256 of every file, row counts, and the id digest recomputed from the Parquet file
  // must equal the one computed from the database.
  task.progress('archiving: verifying the archive');
  const verification = await verifyArchive(partial, kuzuParquetReader(store));
  if (!verification.ok) {
    const failed = verification.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ');
    fs.rmSync(partial, { recursive: true, force: true });
    throw new DataSafetyError(`the archive written for ${target.name} failed its read-back check (${failed}); nothing was deleted`, 'check the disk under archive.dir and rerun');
  }
  task.testPoint('verified');
  writeJournal(target.dbPath, { ...journalFor(payload, finalDir, partial, p.union.messages, exported.idDigest), runId });
  fs.renameSync(partial, finalDir);
  syncDir(root);
  task.testPoint('committed');
  const bytes = exported.files.reduce((sum, f) => sum + f.bytes, 0) + sizeOf(path.join(finalDir, MANIFEST_FILE));
  return { archive: { path: finalDir, files: exported.files.length + 1, bytes, idDigest: exported.idDigest } };
}
