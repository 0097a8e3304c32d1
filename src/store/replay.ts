/**
 * Replaying a WAL left by an unclean stop: a read-write open replays it into kuzu.db and an
 * explicit CHECKPOINT makes sure it is folded in before the WAL goes. The result of CHECKPOINT
 * is closed before the database (store.execute does): the other order can SIGSEGV.
 */
import { withStore } from './kuzu.js';
import { readSchema, tableCounts, type TableCounts } from './salvageQueries.js';

export async function replayWal(dbPath: string, options: { bufferPoolMb: number; threads?: number }): Promise<TableCounts> {
  return withStore(dbPath, { readOnly: false, bufferPoolMb: options.bufferPoolMb, threads: options.threads }, async (store) => {
    await store.execute('CHECKPOINT');
    return tableCounts(store, await readSchema(store));
  });
}
