/**
 * Child process that reads what is really on disk, through the store layer, and prints it as
 * JSON: a damaged file can crash Kuzu, and that must cost this probe, never the campaign.
 *   node probe.js db <kuzu.db>                 {tables: {name: rows}, ids: [Message ids]}
 *   node probe.js archives <archive root> <locrit>   {complete: [{folder, ids}], partial: n}
 */
import { listArchives, messageFilesOf } from '../../src/archive/format.js';
import { readSchema } from '../../src/store/schema.js';
import { withStore } from '../../src/store/kuzu.js';

const [mode, first, second] = process.argv.slice(2);

async function probeDb(dbPath: string): Promise<unknown> {
  return withStore(dbPath, { readOnly: true, bufferPoolMb: 64 }, async (store) => {
    const schema = await readSchema(store);
    const tables: Record<string, number> = {};
    for (const [name, info] of Object.entries(schema.tables)) {
      const query = info.kind === 'NODE' ? `MATCH (n:\`${name}\`) RETURN count(n)` : `MATCH ()-[r:\`${name}\`]->() RETURN count(r)`;
      tables[name] = Number(await store.scalar(query));
    }
    const ids = schema.tables.Message ? (await store.query<{ id: string }>('MATCH (m:Message) RETURN m.id AS id ORDER BY id')).map((r) => r.id) : [];
    return { tables, ids };
  });
}

async function probeArchives(root: string, locrit: string): Promise<unknown> {
  const listing = listArchives(root, locrit);
  const complete: { folder: string; ids: string[] }[] = [];
  for (const folder of listing.complete) {
    const ids: string[] = [];
    for (const file of messageFilesOf(folder)) {
      const rows = await withStore(':memory:', { readOnly: false, create: true, bufferPoolMb: 64 }, (store) =>
        store.query<{ id: string }>(`LOAD FROM '${file.replace(/'/g, "\\'")}' RETURN id ORDER BY id`),
      );
      ids.push(...rows.map((r) => String(r.id)));
    }
    complete.push({ folder, ids });
  }
  return { complete, partial: listing.partial.length };
}

try {
  const result = mode === 'db' ? await probeDb(first) : await probeArchives(first, second);
  process.stdout.write(JSON.stringify(result));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: (error as Error).message.split('\n')[0] }));
}
