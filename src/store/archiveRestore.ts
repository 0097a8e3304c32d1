/**
 * `recover --from-archive`: put the messages of an archive (src/archive/format.ts) back into a
 * Locrit's database. The archive is checked first (every file's size and sha256 against the
 * manifest, then each messages file's row count); ids already in the database are skipped and
 * relationships already present are not doubled, so restoring the same archive twice gives the
 * same database as restoring it once. The files are loaded one chunk file per statement, inside
 * one transaction: every messages file first, then the relationship files (a RESPONDS_TO row
 * may point at a message of another chunk).
 */
import path from 'node:path';
import type { StoreSettings } from './settings.js';
import { withStore } from './kuzu.js';
import { restoreMessages, restoreRelationships, parquetRows, type RestoredTable } from './restoreIo.js';
import { missingFromLocritSchema, readSchema, tableCounts, type TableCounts } from './salvageQueries.js';
import { ArchiveError, messageEntries, RELATIONSHIP_FILES, verifyArchive, type ArchivedRelationship, type ArchiveCheck } from '../archive/format.js';

/** What a checked archive holds, in a form that crosses to a worker process. */
export interface ArchiveToRestore {
  folder: string;
  /** The Locrit folder name the archive was made for. */
  locrit: string;
  createdAt: string;
  messages: number;
  /** The messages files in chunk order, with the rows the manifest lists. */
  messageFiles: { file: string; rows: number }[];
  messageColumns: string[];
  /** Relationship files (several per table, one per chunk), in manifest order. */
  relationships: { table: ArchivedRelationship; file: string; rows: number; columns: string[] }[];
  checks: ArchiveCheck[];
}

export interface ArchiveRestoreCounts {
  messages: RestoredTable;
  relationships: RestoredTable[];
  /** Rows per table after the restore. */
  countsAfter: TableCounts;
  /** Locrit tables and columns the database lacked before the restore (an older database). */
  schemaMissingBefore: string[];
}

/**
 * Checks an archive folder (or its manifest.json) without Kuzu: the manifest's shape and every
 * file's size and sha256. Throws ArchiveError (exit 3) naming what failed.
 */
export async function checkArchive(location: string): Promise<ArchiveToRestore> {
  const verification = await verifyArchive(path.resolve(location));
  if (!verification.ok || !verification.manifest) {
    const failed = verification.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    throw new ArchiveError(`archive ${verification.folder} failed its checks: ${failed.join('; ')}`, 'use another archive (`locrit-mem recover --list` shows them); nothing was changed');
  }
  const manifest = verification.manifest;
  const messagesEntries = messageEntries(manifest);
  if (messagesEntries.length === 0) throw new ArchiveError(`archive ${verification.folder} lists no messages file`, 'use another archive');
  const relationships = manifest.files
    .filter((f): f is typeof f & { table: ArchivedRelationship } => f.table !== 'Message' && f.table in RELATIONSHIP_FILES)
    .map((f) => ({ table: f.table, file: path.join(verification.folder, f.name), rows: f.rows, columns: f.columns.map((c) => c.name) }));
  return {
    folder: verification.folder,
    locrit: manifest.locrit,
    createdAt: manifest.createdAt,
    messages: manifest.counts.messages,
    messageFiles: messagesEntries.map((f) => ({ file: path.join(verification.folder, f.name), rows: f.rows })),
    messageColumns: messagesEntries[0].columns.map((c) => c.name),
    relationships,
    checks: verification.checks,
  };
}

/**
 * Runs in a worker: opens the database read-write and puts the archive back. `beforeCommit`
 * runs last inside the transaction; when it throws, the transaction is rolled back.
 */
export async function restoreArchiveInto(dbPath: string, archive: ArchiveToRestore, settings: StoreSettings, beforeCommit: () => void = () => undefined): Promise<ArchiveRestoreCounts> {
  return withStore(dbPath, { readOnly: false, bufferPoolMb: settings.bufferPoolMb, threads: settings.threads }, async (store) => {
    for (const { file, rows: listed } of archive.messageFiles) {
      const rows = await parquetRows(store, file);
      if (rows !== listed) throw new ArchiveError(`${file} holds ${rows} rows, its manifest says ${listed}`, 'use another archive; nothing was changed');
    }
    const schema = await readSchema(store);
    if (!schema.tables.Message) throw new ArchiveError(`${dbPath} has no Message table to restore into`, 'salvage or restore the database first (`locrit-mem recover`)');
    await store.execute('BEGIN TRANSACTION');
    let committed = false;
    try {
      let messages: RestoredTable = { table: 'Message', inArchive: 0, created: 0, alreadyPresent: 0, missingEndpoint: 0 };
      for (const { file } of archive.messageFiles) messages = addUp(messages, await restoreMessages(store, schema, file, archive.messageColumns));
      // Sessions and users of archived messages stay in the database (archive deletes messages
      // only), so relationships find both ends unless the other end was removed since.
      const relationships: RestoredTable[] = [];
      for (const rel of archive.relationships) {
        const restored = await restoreRelationships(store, schema, rel.table, rel.file, rel.columns);
        const i = relationships.findIndex((r) => r.table === rel.table);
        if (i < 0) relationships.push(restored);
        else relationships[i] = addUp(relationships[i], restored);
      }
      beforeCommit();
      await store.execute('COMMIT');
      committed = true;
      await store.execute('CHECKPOINT');
      return { messages, relationships, countsAfter: await tableCounts(store, schema), schemaMissingBefore: missingFromLocritSchema(schema) };
    } finally {
      if (!committed) await store.execute('ROLLBACK').catch(() => undefined);
    }
  });
}

/** One table's restore figures summed over its chunk files. */
function addUp(a: RestoredTable, b: RestoredTable): RestoredTable {
  return {
    table: a.table, inArchive: a.inArchive + b.inArchive, created: a.created + b.created,
    alreadyPresent: a.alreadyPresent + b.alreadyPresent, missingEndpoint: a.missingEndpoint + b.missingEndpoint,
  };
}
