/**
 * Damaged files: a copy of a base Locrit is damaged in one of eight ways, then goes through
 * `stats`, `validate --deep`, `archive --dry-run` (none may change a byte) and `recover`, which
 * must leave a database that holds every row it reports, or the original bytes kept. The rows
 * recover brings back are counted against the undamaged file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { caseRandom, intIn, type CaseResult } from '../lib/cases.js';
import { caseFolder, LOCRIT, type BaseFixture, type BaseFixtures } from '../lib/fixtures.js';
import { hashTree, readDb, sha256 } from '../lib/inspect.js';
import { jsonOf, outputProblems, runTool, type RunResult } from '../lib/proc.js';

export const DAMAGE_TYPES = ['random-pages', 'zeroed-pages', 'bit-flips', 'truncated', 'header', 'wal-garbage', 'wal-cut', 'foreign-wal'] as const;
export type DamageType = (typeof DAMAGE_TYPES)[number];

const PAGE = 4096;

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

const randomBytes = (random: () => number, n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

/** Applies the damage; returns the base it started from and a description. */
function damage(type: DamageType, random: () => number, fixtures: BaseFixtures, dbPath: string): { base: BaseFixture; what: string } {
  const wal = `${dbPath}.wal`;
  const useWalBase = type === 'wal-garbage' || type === 'wal-cut';
  const base = useWalBase ? fixtures.withWal : fixtures.clean;
  for (const name of ['kuzu.db', 'kuzu.db.wal']) {
    const from = path.join(base.dir, name);
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(path.dirname(dbPath), name));
  }
  const size = fs.statSync(dbPath).size;
  const pages = Math.floor(size / PAGE);
  switch (type) {
    case 'random-pages':
    case 'zeroed-pages': {
      const count = intIn(random, 1, 3);
      const chosen: number[] = [];
      for (let i = 0; i < count; i++) {
        const page = intIn(random, 1, pages - 1);
        chosen.push(page);
        overwrite(dbPath, page * PAGE, type === 'zeroed-pages' ? Buffer.alloc(PAGE) : randomBytes(random, PAGE));
      }
      return { base, what: `${type === 'zeroed-pages' ? 'zeroed' : 'random bytes over'} page(s) ${chosen.join(', ')} of ${pages}` };
    }
    case 'bit-flips': {
      const count = intIn(random, 1, 16);
      const buffer = fs.readFileSync(dbPath);
      const offsets: number[] = [];
      for (let i = 0; i < count; i++) {
        const offset = Math.floor(random() * size);
        buffer[offset] ^= 1 << intIn(random, 0, 7);
        offsets.push(offset);
      }
      fs.writeFileSync(dbPath, buffer);
      return { base, what: `${count} bit(s) flipped at ${offsets.slice(0, 4).join(', ')}${count > 4 ? ', ...' : ''}` };
    }
    case 'truncated': {
      const at = Math.floor(random() * size);
      fs.truncateSync(dbPath, at);
      return { base, what: `cut at byte ${at} of ${size}` };
    }
    case 'header': {
      const length = intIn(random, 1, 64);
      const offset = intIn(random, 0, random() < 0.5 ? 63 : PAGE - length);
      overwrite(dbPath, offset, randomBytes(random, length));
      return { base, what: `${length} random byte(s) at offset ${offset} of the header page` };
    }
    case 'wal-garbage': {
      const walSize = fs.statSync(wal).size;
      if (random() < 0.3) {
        fs.writeFileSync(wal, randomBytes(random, intIn(random, 1, walSize)));
        return { base, what: `WAL replaced by random bytes` };
      }
      const length = intIn(random, 1, Math.min(512, walSize));
      const offset = intIn(random, 0, walSize - length);
      overwrite(wal, offset, randomBytes(random, length));
      return { base, what: `${length} random byte(s) at offset ${offset} of the ${walSize}-byte WAL` };
    }
    case 'wal-cut': {
      const walSize = fs.statSync(wal).size;
      const at = Math.floor(random() * walSize);
      fs.truncateSync(wal, at);
      return { base, what: `WAL cut at byte ${at} of ${walSize}` };
    }
    case 'foreign-wal': {
      fs.copyFileSync(fixtures.foreignWal, wal);
      if (random() < 0.5) {
        const walSize = fs.statSync(wal).size;
        const at = intIn(random, Math.floor(walSize / 2), walSize);
        fs.truncateSync(wal, at);
        return { base, what: `another Locrit's WAL beside the file, cut at byte ${at} of ${walSize}` };
      }
      return { base, what: `another Locrit's WAL beside the file` };
    }
  }
}

const TIME_LIMITS: Record<string, number> = { stats: 60_000, validate: 120_000, archive: 60_000, recover: 240_000 };

interface RecoverTable {
  table: string;
  recovered?: number;
}

export async function damagedCase(seed: number, index: number, fixtures: BaseFixtures, casesRoot: string): Promise<CaseResult> {
  const started = Date.now();
  const type = DAMAGE_TYPES[index % DAMAGE_TYPES.length];
  const id = `damaged-${index}`;
  const random = caseRandom(seed, id);
  const { dir, locritDir, dbPath } = caseFolder(casesRoot, id);
  const { base, what } = damage(type, random, fixtures, dbPath);
  const failures: string[] = [];
  const notes: string[] = [];
  const originals = [dbPath, `${dbPath}.wal`].map((f) => ({ name: path.basename(f), hash: sha256(f) })).filter((f) => f.hash !== null);
  const run = (args: string[], limit: number): Promise<RunResult> => runTool(['-d', 'data/memory', '-j', '1', ...args, LOCRIT], { cwd: dir, timeoutMs: limit });

  const readOnly: [string, string[]][] = [
    ['stats', ['stats', '--json']],
    ['validate', ['validate', '--deep', '--json']],
    ['archive', ['archive', '--dry-run', '--json']],
  ];
  const before = hashTree(locritDir);
  for (const [name, args] of readOnly) {
    const result = await run(args, TIME_LIMITS[name]);
    failures.push(...outputProblems(result, { json: true }));
    const after = hashTree(locritDir);
    if (JSON.stringify(after) !== JSON.stringify(before)) failures.push(`\`${args.join(' ')}\` changed the files of the Locrit`);
  }

  const recover = await run(['recover', '--json'], TIME_LIMITS.recover);
  failures.push(...outputProblems(recover, { json: true }));
  const report = jsonOf<{ locrits?: { problem?: string; outcome?: string; salvage?: { tables?: RecoverTable[] }; replay?: { countsExpected?: Record<string, number> } }[] }>(recover);
  const locrit = report?.locrits?.[0];
  const outcome = locrit ? `${locrit.problem ?? '?'} -> ${locrit.outcome ?? '?'}` : 'no report';

  // The original bytes are kept somewhere in the folder (in place, or as a backup).
  const afterHashes = new Set(Object.values(hashTree(locritDir)));
  for (const original of originals) {
    if (!afterHashes.has(original.hash!)) failures.push(`recover did not keep the original ${original.name} (no file in the folder has its bytes)`);
  }
  const dbChanged = sha256(dbPath) !== originals.find((o) => o.name === 'kuzu.db')?.hash;
  const contents = fs.existsSync(dbPath) ? await readDb(dbPath) : { error: 'kuzu.db is missing', tables: {}, ids: [] };
  if (dbChanged || fs.existsSync(`${dbPath}.wal`) !== originals.some((o) => o.name === 'kuzu.db.wal')) {
    if (contents.error) failures.push(`after recover changed the files, kuzu.db does not open: ${contents.error}`);
    else {
      for (const table of locrit?.salvage?.tables ?? []) {
        const found = contents.tables[table.table] ?? 0;
        if (typeof table.recovered === 'number' && found < table.recovered) failures.push(`recover reported ${table.recovered} ${table.table} row(s) recovered, the database holds ${found}`);
      }
      for (const [table, expected] of Object.entries(locrit?.replay?.countsExpected ?? {})) {
        const found = contents.tables[table] ?? 0;
        if (typeof expected === 'number' && found < expected) failures.push(`recover replayed the WAL to ${expected} ${table} row(s), the database holds ${found}`);
      }
    }
  }
  if (contents.error) notes.push(`after recover: ${contents.error}`);
  const expectedIds = new Set(base.ids);
  const recovered = contents.ids.filter((i) => expectedIds.has(i)).length;
  const foreign = contents.ids.length - recovered;
  if (foreign > 0) failures.push(`recover put ${foreign} message(s) this Locrit never held into kuzu.db (a WAL of another database was replayed)`);
  if (failures.length === 0) fs.rmSync(dir, { recursive: true, force: true });
  return {
    kind: 'damaged', id, group: type, label: `${type}: ${what}`, passed: failures.length === 0, failures, notes,
    durationMs: Date.now() - started, rows: { expected: base.ids.length, recovered, foreign, outcome },
  };
}
