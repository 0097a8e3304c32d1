/**
 * The quarantine of `validate --fix`: invalid messages go into an archive of the `archive`
 * command's own format and protocol (src/archive/format.ts, src/store/archiveIo.ts,
 * src/archive/journal.ts), and only then are removed:
 *   export (Parquet, every column, every relationship touching them) into `.<stamp>.partial/`
 *   -> manifest -> read-back verification (sha256, row counts, id digest)
 *   -> journal -> rename to `<stamp>/` -> delete exactly the archived ids in one transaction
 *   -> remove the journal.
 * A run killed after the rename leaves the journal; the next `archive` run on that Locrit
 * finishes the delete (and `validate --fix` refuses to start until it has).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_FORMAT_VERSION,
  DEFAULT_BATCH_MESSAGES,
  listArchives,
  makeLocritArchiveDir,
  messageFilesOf,
  partialFolderName,
  verifyArchive,
  writeManifest,
  type ArchiveManifest,
} from '../archive/format.js';
import { removeJournal, syncDir, writeJournal } from '../archive/journal.js';
import { utcStamp } from '../layout/files.js';
import { embeddingDimension } from '../schema/locrit.js';
import { exportSelection, kuzuParquetReader } from './archiveIo.js';
import type { KuzuStore } from './kuzu.js';
import { deleteArchivedIds, measure, type Selection } from './retentionQueries.js';
import type { DatabaseSchema } from './schema.js';
import { DataSafetyError } from '../errors.js';

export interface QuarantineRequest {
  archiveRoot: string;
  locrit: string;
  dbPath: string;
  /** Message ids to archive and remove, any order. */
  ids: string[];
  /** Which rules condemned how many messages (recorded in the manifest). */
  rules: Record<string, number>;
  tool: { name: string; version: string };
  /** Messages per archive chunk (archive.batch_messages); the default when not given. */
  batchMessages?: number;
  /** Called inside the delete's transaction, just before COMMIT; throwing rolls the delete back. */
  beforeCommit?: () => void;
  /** Where a test may kill the worker (quarantine-exported, -archived, -deleted) to prove a killed --fix loses nothing (src/testKnobs.ts). */
  testPoint?: (point: string) => void;
}

export interface QuarantineResult {
  folder: string;
  manifest: ArchiveManifest;
  deleted: number;
}

/** Archives the messages with every relationship touching them, verifies the archive, then deletes exactly them. */
export async function quarantineMessages(store: KuzuStore, schema: DatabaseSchema, request: QuarantineRequest): Promise<QuarantineResult> {
  const ids = [...new Set(request.ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const selection: Selection = {
    rules: [],
    params: { quarantine_ids: ids },
    protectCritical: false,
    critical: () => 'false',
    selected: (v) => `${v}.id IN $quarantine_ids`,
  };
  const root = makeLocritArchiveDir(path.resolve(request.archiveRoot), request.locrit, request.dbPath);
  // `.partial` folders are runs killed before their archive was complete: nothing was deleted for them.
  for (const stale of listArchives(path.resolve(request.archiveRoot), request.locrit).partial) fs.rmSync(stale, { recursive: true, force: true });
  let stamp = utcStamp(new Date());
  for (let i = 1; fs.existsSync(path.join(root, stamp)) || fs.existsSync(path.join(root, partialFolderName(stamp))); i++) stamp = `${utcStamp(new Date())}-${i}`;
  const partial = path.join(root, partialFolderName(stamp));
  const folder = path.join(root, stamp);
  try {
    const exported = await exportSelection(store, schema, selection, partial, { batchMessages: request.batchMessages ?? DEFAULT_BATCH_MESSAGES });
    if (exported.idCount !== ids.length) throw new DataSafetyError(`the quarantine export holds ${exported.idCount} messages, expected ${ids.length}; nothing was deleted`);
    const embeddingType = schema.tables.Message.columns.find((c) => c.name === 'content_embedding')?.type ?? null;
    const dimension = embeddingType ? embeddingDimension(embeddingType) : null;
    const figures = await measure(store, schema, selection.selected('m'), selection.params, dimension);
    const manifest: ArchiveManifest = {
      format: ARCHIVE_FORMAT,
      formatVersion: ARCHIVE_FORMAT_VERSION,
      tool: request.tool,
      createdAt: new Date().toISOString(),
      runId: crypto.randomUUID(),
      reason: 'validate-fix',
      locrit: request.locrit,
      sourceDb: path.resolve(request.dbPath),
      rules: [{ rule: 'quarantine', parameters: { ...request.rules }, messages: ids.length }],
      counts: { messages: ids.length, messagesWithEmbedding: figures.withEmbedding, relationships: exported.relationships },
      timeRange: { oldest: figures.oldest, newest: figures.newest },
      embeddingDimension: dimension,
      chunking: exported.chunking,
      files: exported.files,
      idDigest: { algorithm: 'sha256', of: 'sorted message ids, each followed by \\n', count: exported.idCount, value: exported.idDigest },
    };
    writeManifest(partial, manifest);
    request.testPoint?.('quarantine-exported');
    const verification = await verifyArchive(partial, kuzuParquetReader(store));
    if (!verification.ok) {
      const failed = verification.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ');
      throw new DataSafetyError(`the quarantine archive failed its read-back check (${failed}); nothing was deleted`);
    }
    writeJournal(request.dbPath, {
      runId: manifest.runId, command: 'validate --fix', pid: process.pid, startedAt: manifest.createdAt,
      archive: folder, partial, messages: ids.length, idDigest: exported.idDigest,
    });
    fs.renameSync(partial, folder);
    syncDir(root);
    request.testPoint?.('quarantine-archived');
    const deleted = await deleteArchivedIds(store, messageFilesOf(folder), ids.length, request.beforeCommit);
    request.testPoint?.('quarantine-deleted');
    removeJournal(request.dbPath);
    return { folder, manifest, deleted };
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw error;
  }
}
