/**
 * The writes of `validate --fix`. Each runs in one transaction and is rolled back on error.
 *
 * Kuzu 0.11 refuses `SET` on a column that has an HNSW vector index ("Cannot set property vec
 * ... used in one or more indexes. Try delete and then insert"), and after DROP_VECTOR_INDEX a
 * later SET on that column crashed the process (SIGSEGV) here. So an embedding is set to NULL
 * the way Kuzu suggests: the message is deleted and inserted again without it, with every
 * column cast back from its exact text form (timestamps keep their microseconds) and every
 * relationship touching it re-created with its properties.
 */
import type { KuzuStore, Params } from './kuzu.js';
import { inTransaction } from './cypher.js';
import type { DatabaseSchema } from './schema.js';

/** Sets session_id from the one Session each message is PART_OF. */
export async function setSessionFromGraph(store: KuzuStore, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return inTransaction(store, async () => {
    const rows = await store.query<{ n: number | bigint }>(
      'MATCH (m:Message)-[:PART_OF]->(s:Session) WHERE m.id IN $ids WITH m, collect(s.id) AS sessions WHERE size(sessions) = 1 ' +
        'SET m.session_id = sessions[1] RETURN count(m) AS n',
      { ids },
    );
    return Number(rows[0]?.n ?? 0);
  });
}

interface RelEnd {
  table: string;
  /** The other node's table and key. */
  otherTable: string;
  otherKey: string;
  outgoing: boolean;
  properties: { name: string; type: string }[];
}

/** Sets Message.content_embedding to NULL for these messages (delete and insert again, see above). */
export async function nullEmbeddings(store: KuzuStore, schema: DatabaseSchema, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const message = schema.tables.Message;
  const columns = message.columns.filter((c) => c.name !== 'content_embedding');
  const ends: RelEnd[] = [];
  for (const table of Object.values(schema.tables)) {
    if (table.kind !== 'REL' || !table.from || !table.to) continue;
    const properties = table.columns.filter((c) => !c.name.startsWith('_')).map((c) => ({ name: c.name, type: c.type }));
    const keyOf = (name: string): string => schema.tables[name]?.columns.find((c) => c.primaryKey)?.name ?? 'id';
    if (table.from === 'Message') ends.push({ table: table.name, otherTable: table.to, otherKey: keyOf(table.to), outgoing: true, properties });
    if (table.to === 'Message') ends.push({ table: table.name, otherTable: table.from, otherKey: keyOf(table.from), outgoing: false, properties });
  }
  let done = 0;
  for (const id of ids) {
    await inTransaction(store, async () => {
      const [row] = await store.query<Record<string, string | null>>(
        `MATCH (m:Message {id: $id}) RETURN ${columns.map((c) => `CAST(m.\`${c.name}\` AS STRING) AS \`${c.name}\``).join(', ')}`,
        { id },
      );
      if (!row) return;
      const links: { end: RelEnd; other: string; values: Record<string, string | null> }[] = [];
      for (const end of ends) {
        const pattern = end.outgoing
          ? `MATCH (m:Message {id: $id})-[r:\`${end.table}\`]->(o:\`${end.otherTable}\`)`
          : `MATCH (o:\`${end.otherTable}\`)-[r:\`${end.table}\`]->(m:Message {id: $id})`;
        const rows = await store.query<Record<string, string | null>>(
          `${pattern} RETURN CAST(o.\`${end.otherKey}\` AS STRING) AS __other${end.properties.map((p) => `, CAST(r.\`${p.name}\` AS STRING) AS \`${p.name}\``).join('')}`,
          { id },
        );
        for (const r of rows) {
          // A relationship from the message to itself is seen from both ends: re-create it once.
          if (!end.outgoing && end.otherTable === 'Message' && r.__other === id) continue;
          links.push({ end, other: r.__other!, values: r });
        }
      }
      await store.execute('MATCH (m:Message {id: $id}) DETACH DELETE m', { id });
      const params: Params = { id };
      const assignments = ['id: $id'];
      for (const column of columns) {
        if (column.name === 'id' || row[column.name] === null) continue;
        params[`c_${column.name}`] = row[column.name];
        assignments.push(`\`${column.name}\`: CAST($c_${column.name} AS ${column.type})`);
      }
      await store.execute(`CREATE (m:Message {${assignments.join(', ')}})`, params);
      for (const link of links) {
        const linkParams: Params = { id, other: link.other };
        const props: string[] = [];
        for (const p of link.end.properties) {
          const value = link.values[p.name];
          if (value === null || value === undefined) continue;
          linkParams[`p_${p.name}`] = value;
          props.push(`\`${p.name}\`: CAST($p_${p.name} AS ${p.type})`);
        }
        const other = `(o:\`${link.end.otherTable}\` {\`${link.end.otherKey}\`: CAST($other AS STRING)})`;
        const rel = `[:\`${link.end.table}\`${props.length ? ` {${props.join(', ')}}` : ''}]`;
        const arrow = link.end.outgoing ? `(m)-${rel}->(o)` : `(o)-${rel}->(m)`;
        await store.execute(`MATCH (m:Message {id: $id}), ${other} CREATE ${arrow}`, linkParams);
      }
      done++;
    });
  }
  return done;
}
