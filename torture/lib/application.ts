/**
 * Child process playing the Locrit application's side of the file: opens kuzu.db read-write in a
 * loop (open, count the messages, close, a short pause), the way the application opens a Locrit
 * it has not touched yet. On SIGTERM it prints how many opens worked and how many failed, and why.
 * It never moves the file aside (the application would): the campaign counts the failures instead.
 *   node application.js <kuzu.db>
 */
import { KuzuStore } from '../../src/store/kuzu.js';

const dbPath = process.argv[2];
let opened = 0;
let failed = 0;
const reasons = new Map<string, number>();
let stopping = false;

process.on('SIGTERM', () => {
  stopping = true;
});

process.stdout.write('ready\n');
while (!stopping) {
  try {
    const store = await KuzuStore.open(dbPath, { readOnly: false, bufferPoolMb: 32 });
    try {
      await store.scalar('MATCH (m:Message) RETURN count(m)');
      opened++;
    } finally {
      await store.close();
    }
  } catch (error) {
    failed++;
    const reason = (error as Error).message.replace(/\d+/g, 'N').slice(0, 80);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  await new Promise((r) => setTimeout(r, 25));
}
process.stdout.write(`${JSON.stringify({ opened, failed, reasons: Object.fromEntries(reasons) })}\n`);
