/**
 * Child process for the live `stats` benchmark: the Locrit application holding many Locrits.
 * Opens every database read-write (bounded pool, automatic checkpoint off), commits
 * `perLocrit` messages to each so that every one has a WAL that is not empty, prints
 * "ready <messages added>" and keeps them all open until SIGTERM.
 * Usage: node dist/bench/lib/liveHolders.js <perLocrit> <kuzu.db>...
 */
import { KuzuStore } from '../../src/store/kuzu.js';

const [perLocritText, ...dbPaths] = process.argv.slice(2);
const perLocrit = Number(perLocritText);
const stores: KuzuStore[] = [];
let added = 0;
for (const dbPath of dbPaths) {
  const store = await KuzuStore.open(dbPath, { readOnly: false, bufferPoolMb: 16, autoCheckpoint: false });
  stores.push(store);
  for (let i = 0; i < perLocrit; i++) {
    await store.execute('BEGIN TRANSACTION');
    await store.execute(`CREATE (m:Message {id: 'live_${i}', role: 'user', content: 'written while held #${i}', timestamp: CAST('2026-11-01 11:59:0${i % 10}' AS TIMESTAMP), session_id: 'none', metadata: '{}'})`);
    await store.execute('COMMIT');
    added++;
  }
}
process.stdout.write(`ready ${added}\n`);
const stop = async (): Promise<void> => {
  for (const store of stores) await store.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
setInterval(() => undefined, 60_000);
