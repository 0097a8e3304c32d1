/**
 * `npm run demo`: builds demo-data/ (a healthy Locrit, one over the message limit, one left
 * with a WAL by a killed writer) and runs `locrit-mem stats` on it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateLocrit } from '../src/fixtures/generate.js';
import { killWriterMidWrite } from '../src/fixtures/damage.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dataDir = path.join(root, 'demo-data', 'memory');
fs.rmSync(path.join(root, 'demo-data'), { recursive: true, force: true });

const say = (text: string): void => void process.stderr.write(`${text}\n`);
say(`Building ${path.relative(process.cwd(), dataDir) || dataDir} ...`);
const healthy = await generateLocrit({ dataDir, name: 'Alice', messages: 800, embeddedShare: 0, dimension: 768, sessions: 12, seed: 1 });
say(`  ${healthy.folder}: ${healthy.messageIds.length} messages, no embeddings (healthy)`);
const big = await generateLocrit({ dataDir, name: 'Bob Technique', messages: 6000, embeddedShare: 0.3, dimension: 768, sessions: 8, days: 90, seed: 2 });
say(`  ${big.folder}: ${big.messageIds.length} messages, a 1,000+ message conversation, embeddings while they are disabled`);
const crashed = await generateLocrit({ dataDir, name: 'Carol', messages: 400, embeddedShare: 0, dimension: 768, sessions: 4, seed: 3 });
const killed = killWriterMidWrite(crashed.dbPath, { committed: 3 });
say(`  ${crashed.folder}: ${crashed.messageIds.length} messages, then a writer killed mid-write left ${killed.committedIds.length} committed messages in a WAL`);
say('');
say(`$ locrit-mem --data-dir demo-data/memory stats`);
const run = spawnSync(process.execPath, [path.join(root, 'bin', 'locrit-mem.js'), '--data-dir', dataDir, 'stats'], { stdio: 'inherit' });
say(`\n(exit code ${run.status}; try also: locrit-mem -d demo-data/memory stats --json, --format prometheus, --check)`);
