/**
 * The quarantine of `validate --fix`: invalid messages are written to an archive, in the
 * archive format of src/archive/format.ts (Parquet files + manifest.json, `.partial` folder
 * renamed when complete), read back and checked, and only then deleted.
 *
 * ADAPTER: the archive writer of `archive` was not available when this was written, so this
 * file writes the same format itself through Kuzu's COPY ... TO. When src/store/archiveIo.ts
 * (or the archive writer) lands, `writeQuarantine` should call it instead; its signature is
 * what validate needs and should stay.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_FORMAT_VERSION,
  IdDigest,
  MESSAGES_FILE,
  RELATIONSHIP_FILES,
  locritArchiveDir,
  partialFolderName,
  sha256OfFile,
  writeManifest,
  type ArchiveFileEntry,
  type ArchiveManifest,
  type ArchivedRelationship,
} from '../archive/format.js';
import { utcStamp } from '../layout/files.js';
import { embeddingDimension } from '../schema/locrit.js';
import type { KuzuStore } from './kuzu.js';
import type { DatabaseSchema } from './schema.js';

export interface QuarantineRequest {
  archiveRoot: string;
  locrit: string;
  dbPath: string;
  /** Message ids to archive, any order. */
  ids: string[];
  /** Which rules condemned how many messages (for the manifest). */
  rules: Record<string, number>;
  tool: { name: string; version: string };
  now?: Date;
}

export interface QuarantineResult {
  folder: string;
  manifest: ArchiveManifest;
}

const quote = (file: string): string => `'${file.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Which end of each relationship table is a Message (both for RESPONDS_TO). */
const MESSAGE_ENDS: Record<ArchivedRelationship, string> = {
  PART_OF: 'a.id IN $ids',
  SENT: 'b.id IN $ids',
  RESPONDS_TO: 'a.id IN $ids OR b.id IN $ids',
  MENTIONS: 'a.id IN $ids',
};

/** Archives the messages and every relationship touching them; verifies; returns the complete folder. */
export async function writeQuarantine(store: KuzuStore, schema: DatabaseSchema, request: QuarantineRequest): Promise<QuarantineResult> {
  const ids = [...new Set(request.ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const now = request.now ?? new Date();
  const locritDir = locritArchiveDir(path.resolve(request.archiveRoot), request.locrit);
  fs.mkdirSync(locritDir, { recursive: true });
  let stamp = utcStamp(now);
  for (let n = 1; fs.existsSync(path.join(locritDir, stamp)); n++) stamp = `${utcStamp(now)}-${n}`;
  const partial = path.join(locritDir, partialFolderName(stamp));
  const folder = path.join(locritDir, stamp);
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial);
  try {
    const files: ArchiveFileEntry[] = [];
    const message = schema.tables.Message;
    const columns = message.columns.map((c) => ({ name: c.name, type: c.type }));
    const messagesFile = path.join(partial, MESSAGES_FILE);
    await store.execute(
      `COPY (MATCH (m:Message) WHERE m.id IN $ids RETURN ${columns.map((c) => `m.\`${c.name}\` AS \`${c.name}\``).join(', ')} ORDER BY id) TO ${quote(messagesFile)}`,
      { ids },
    );
    files.push(await entry(store, messagesFile, 'Message', columns));
    const relationships: Partial<Record<ArchivedRelationship, number>> = {};
    for (const [table, name] of Object.entries(RELATIONSHIP_FILES) as [ArchivedRelationship, string][]) {
      const info = schema.tables[table];
      if (!info || info.kind !== 'REL' || !info.from || !info.to) continue;
      const file = path.join(partial, name);
      const properties = info.columns.filter((c) => !c.name.startsWith('_'));
      const fromKey = keyOf(schema, info.from);
      const toKey = keyOf(schema, info.to);
      await store.execute(
        `COPY (MATCH (a:\`${info.from}\`)-[r:\`${table}\`]->(b:\`${info.to}\`) WHERE ${MESSAGE_ENDS[table]} ` +
          `RETURN a.\`${fromKey}\` AS from_id, b.\`${toKey}\` AS to_id${properties.map((c) => `, r.\`${c.name}\` AS \`${c.name}\``).join('')}) TO ${quote(file)}`,
        { ids },
      );
      const fileEntry = await entry(store, file, table, [{ name: 'from_id', type: 'STRING' }, { name: 'to_id', type: 'STRING' }, ...properties.map((c) => ({ name: c.name, type: c.type }))]);
      files.push(fileEntry);
      relationships[table] = fileEntry.rows;
    }

    // Read back: every id, sorted, must be the ids asked for.
    const digest = new IdDigest();
    const readBack = await store.query<{ id: string }>(`LOAD FROM ${quote(messagesFile)} RETURN id ORDER BY id`);
    for (const row of readBack) digest.add(row.id);
    const expected = new IdDigest();
    for (const id of ids) expected.add(id);
    const value = digest.digest();
    if (digest.count !== ids.length || value !== expected.digest()) {
      throw new Error(`quarantine archive ${partial} holds ${digest.count} messages, expected ${ids.length}: not deleting anything`);
    }
    const [range] = await store.query<{ lo: string | null; hi: string | null; e: number | bigint }>(
      `MATCH (m:Message) WHERE m.id IN $ids RETURN CAST(min(m.timestamp) AS STRING) AS lo, CAST(max(m.timestamp) AS STRING) AS hi, ` +
        `${message.columns.some((c) => c.name === 'content_embedding') ? 'count(m.content_embedding)' : '0'} AS e`,
      { ids },
    );
    const embeddingType = message.columns.find((c) => c.name === 'content_embedding')?.type;
    const manifest: ArchiveManifest = {
      format: ARCHIVE_FORMAT,
      formatVersion: ARCHIVE_FORMAT_VERSION,
      tool: request.tool,
      createdAt: now.toISOString(),
      runId: `validate-fix-${stamp}`,
      reason: 'validate-fix',
      locrit: request.locrit,
      sourceDb: path.resolve(request.dbPath),
      rules: [{ rule: 'quarantine', parameters: Object.fromEntries(Object.entries(request.rules).map(([rule, n]) => [rule, n])), messages: ids.length }],
      counts: { messages: ids.length, messagesWithEmbedding: Number(range?.e ?? 0), relationships },
      timeRange: { oldest: range?.lo ?? null, newest: range?.hi ?? null },
      embeddingDimension: embeddingType ? embeddingDimension(embeddingType) : null,
      files,
      idDigest: { algorithm: 'sha256', of: 'sorted message ids, each followed by \\n', count: digest.count, value },
    };
    writeManifest(partial, manifest);
    fs.renameSync(partial, folder);
    return { folder, manifest };
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw error;
  }
}

function keyOf(schema: DatabaseSchema, table: string): string {
  return schema.tables[table]?.columns.find((c) => c.primaryKey)?.name ?? 'id';
}

async function entry(store: KuzuStore, file: string, table: ArchiveFileEntry['table'], columns: { name: string; type: string }[]): Promise<ArchiveFileEntry> {
  const rows = Number(await store.scalar(`LOAD FROM ${quote(file)} RETURN count(*)`));
  return { name: path.basename(file), table, rows, bytes: fs.statSync(file).size, sha256: sha256OfFile(file), columns };
}
