/**
 * Child process of a salvage: opens one (possibly damaged) database read-only and answers
 * small requests from src/recover/salvage.ts, one at a time. A native crash here (SIGSEGV on a
 * damaged page) ends only this process; the parent starts a new one and tries a smaller batch.
 * Usage: fork(salvageWorker.js) then messages of type SalvageRequest.
 */
import { toErrorReport } from '../errors.js';
import { KuzuStore } from '../store/kuzu.js';
import { copyNodeRange, copyRelRange, countTable, nextIds, readSchema } from '../store/salvageQueries.js';
import type { DatabaseSchema } from '../store/schema.js';
import type { SalvageReply, SalvageRequest } from './salvageProtocol.js';

let store: KuzuStore | null = null;
let schema: DatabaseSchema | null = null;

const send = (reply: SalvageReply): void => {
  process.send!(reply);
};

async function handle(request: SalvageRequest): Promise<unknown> {
  if (request.type === 'open') {
    store = await KuzuStore.open(request.dbPath, { readOnly: true, bufferPoolMb: request.bufferPoolMb, threads: 1 });
    schema = await readSchema(store);
    return schema;
  }
  if (!store || !schema) throw new Error('the salvage child has no open database');
  switch (request.type) {
    case 'count':
      return countTable(store, request.table, request.kind);
    case 'ids':
      return nextIds(store, request.table, request.after, request.limit);
    case 'nodes':
      return copyNodeRange(store, schema, request.table, request.dimension, request.after, request.last, request.file, request.only ?? null);
    case 'rels':
      return copyRelRange(store, schema, request.table, request.side, request.after, request.last, request.file);
  }
}

process.on('message', async (request: SalvageRequest | { type: 'exit' }) => {
  if (request.type === 'exit') {
    await store?.close().catch(() => undefined);
    process.disconnect();
    return;
  }
  try {
    send({ id: request.id, ok: true, value: await handle(request) });
  } catch (error) {
    send({ id: request.id, ok: false, error: toErrorReport(error) });
  }
});

// The parent is gone (or let go of us): never linger with a damaged database open.
process.on('disconnect', () => process.exit(0));
