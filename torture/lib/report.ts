/** The campaign's table on the terminal and its TORTURE.md: seed, counts, figures, every failure. */
import fs from 'node:fs';
import os from 'node:os';
import type { CaseResult, KindName } from './cases.js';

/** CPU seconds used by this process and every child it waited for (Linux /proc), or null. */
export function cpuSeconds(): number | null {
  try {
    const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    // utime, stime, cutime, cstime are fields 14-17 of stat(5); [0] here is field 3.
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return ticks / 100;
  } catch {
    return null;
  }
}

export interface CampaignMeta {
  seed: number;
  kinds: KindName[];
  cases: Partial<Record<KindName, number>>;
  startedAt: Date;
  durationMs: number;
  jobs: number;
  /** CPU seconds of the campaign and all its processes. */
  cpuSeconds: number | null;
  /** Why a whole kind did not run (no permission to mount, ...). */
  skippedKinds: Partial<Record<KindName, string>>;
  command: string;
}

const KIND_TITLES: Record<KindName, string> = {
  damaged: 'damaged files',
  kills: 'SIGKILL at a random moment',
  disk: 'full disk',
  races: 'races with writers, readers and the application',
  input: 'bad input',
};

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i])).join('  ');
}

export function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => row(r, widths)).join('\n');
}

interface GroupFigures {
  kind: KindName;
  group: string;
  cases: number;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
}

export function groupFigures(results: CaseResult[]): GroupFigures[] {
  const map = new Map<string, GroupFigures>();
  for (const r of results) {
    const key = `${r.kind}\u0000${r.group}`;
    const g = map.get(key) ?? { kind: r.kind, group: r.group, cases: 0, passed: 0, failed: 0, skipped: 0, seconds: 0 };
    g.cases++;
    if (r.skipped) g.skipped++;
    else if (r.passed) g.passed++;
    else g.failed++;
    g.seconds += r.durationMs / 1000;
    map.set(key, g);
  }
  return [...map.values()];
}

export function kindFigures(results: CaseResult[], kinds: KindName[]): { kind: KindName; cases: number; passed: number; failed: number; skipped: number }[] {
  return kinds.map((kind) => {
    const of = results.filter((r) => r.kind === kind);
    return { kind, cases: of.length, passed: of.filter((r) => r.passed && !r.skipped).length, failed: of.filter((r) => !r.passed && !r.skipped).length, skipped: of.filter((r) => r.skipped).length };
  });
}

export const ROW_BUCKETS = ['all', '90-99%', '50-89%', '1-49%', 'none'] as const;

export function bucketOf(recovered: number, expected: number): (typeof ROW_BUCKETS)[number] {
  if (expected === 0 || recovered >= expected) return 'all';
  const share = recovered / expected;
  if (recovered === 0) return 'none';
  if (share >= 0.9) return '90-99%';
  if (share >= 0.5) return '50-89%';
  return '1-49%';
}

/** Per damage type: how many cases got back all, most, some or none of the undamaged file's messages. */
export function rowsDistribution(results: CaseResult[]): string[][] {
  const damaged = results.filter((r) => r.kind === 'damaged' && r.rows);
  const groups = [...new Set(damaged.map((r) => r.group))];
  const header = ['damage', 'cases', ...ROW_BUCKETS.map((b) => `rows back: ${b}`), 'foreign rows added', 'messages back (sum)'];
  const lines = [header];
  const line = (name: string, of: CaseResult[]): string[] => {
    const counts = ROW_BUCKETS.map((b) => of.filter((r) => bucketOf(r.rows!.recovered, r.rows!.expected) === b).length);
    const back = of.reduce((s, r) => s + r.rows!.recovered, 0);
    const total = of.reduce((s, r) => s + r.rows!.expected, 0);
    return [name, String(of.length), ...counts.map(String), String(of.filter((r) => r.rows!.foreign > 0).length), `${back} of ${total} (${total ? ((100 * back) / total).toFixed(1) : '0'}%)`];
  };
  for (const g of groups) lines.push(line(g, damaged.filter((r) => r.group === g)));
  if (groups.length > 1) lines.push(line('all', damaged));
  return lines;
}

export function terminalReport(results: CaseResult[], meta: CampaignMeta): string {
  const out: string[] = [];
  const rows = [['kind', 'group', 'cases', 'passed', 'failed', 'skipped', 'seconds']];
  for (const g of groupFigures(results)) rows.push([g.kind, g.group, String(g.cases), String(g.passed), String(g.failed), String(g.skipped), g.seconds.toFixed(0)]);
  for (const k of kindFigures(results, meta.kinds)) rows.push([k.kind, 'total', String(k.cases), String(k.passed), String(k.failed), String(k.skipped), '']);
  out.push(textTable(rows));
  if (results.some((r) => r.kind === 'damaged')) out.push('', 'Rows recover brought back, against the undamaged file:', textTable(rowsDistribution(results)));
  const kills = results.filter((r) => r.kind === 'kills');
  if (kills.length) out.push('', `Kills: ${kills.filter((k) => k.killed).length} of ${kills.length} runs killed while running, ${kills.filter((k) => k.killed && k.passed).length} of them survived.`);
  for (const [kind, why] of Object.entries(meta.skippedKinds)) out.push(`skipped ${kind}: ${why}`);
  const failed = results.filter((r) => !r.passed && !r.skipped);
  if (failed.length) {
    out.push('', `${failed.length} failure(s):`);
    for (const f of failed) out.push(`  ${f.id} (${f.label}): ${f.failures.join('; ')}`);
  }
  out.push('', `seed ${meta.seed}, ${results.length} case(s) in ${(meta.durationMs / 1000).toFixed(0)} s with ${meta.jobs} job(s)${meta.cpuSeconds !== null ? `, ${meta.cpuSeconds.toFixed(0)} s of CPU` : ''}`);
  return out.join('\n');
}

const mdTable = (rows: string[][]): string => [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`).join('\n');

/** Why the foreign-wal cases can pass although Kuzu 0.11 files carry no database id. */
const FOREIGN_WAL_METHOD = [
  'How a WAL of another database is told apart: Kuzu 0.11 puts no database id in the file or the WAL, but a WAL\'s',
  'relationship records address both ends by internal node offset, not by primary key. Replayed beside another',
  'file they join whatever rows sit at those offsets there. The application makes every relationship by matching',
  'both ends on their ids, so its own WAL can never add a message `PART_OF` a session other than its `session_id`,',
  'a second `PART_OF`, or a `RESPONDS_TO` between sessions. `recover`, `validate` and `archive` replay the WAL into a',
  'private copy (read-only, in memory) and compare with the file alone; any such row the WAL adds means it is',
  'another file\'s, and it is moved aside, never replayed. The check is sound one way only: a foreign WAL with no',
  'relationship records, or whose offsets land on rows that agree, shows no sign and would still be replayed.',
].join('\n');

export function markdownReport(results: CaseResult[], meta: CampaignMeta): string {
  const out: string[] = [];
  out.push('# Torture campaign', '');
  out.push('Written by `npm run torture` (torture/run.ts). Every case runs the built CLI as real processes; the same seed gives the same cases.', '');
  out.push(mdTable([
    ['what', 'value'],
    ['date', meta.startedAt.toISOString()],
    ['seed', String(meta.seed)],
    ['command', `\`${meta.command}\``],
    ['duration', `${(meta.durationMs / 1000).toFixed(0)} s, ${meta.jobs} case(s) at a time${meta.cpuSeconds !== null ? `; ${meta.cpuSeconds.toFixed(0)} s of CPU (the campaign and every process it ran)` : ''}`],
    ['machine', `${os.cpus().length} core(s), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end, Node ${process.version}`],
  ]));
  out.push('', '## Cases per kind', '');
  out.push(mdTable([['kind', 'what', 'cases', 'passed', 'failed', 'skipped'], ...kindFigures(results, meta.kinds).map((k) => [k.kind, KIND_TITLES[k.kind], String(k.cases), String(k.passed), String(k.failed), String(k.skipped)])]));
  for (const [kind, why] of Object.entries(meta.skippedKinds)) out.push('', `Skipped ${kind}: ${why}`);
  out.push('', '## Per group', '');
  out.push(mdTable([['kind', 'group', 'cases', 'passed', 'failed', 'skipped', 'seconds'], ...groupFigures(results).map((g) => [g.kind, g.group, String(g.cases), String(g.passed), String(g.failed), String(g.skipped), g.seconds.toFixed(0)])]));
  if (results.some((r) => r.kind === 'damaged')) {
    out.push('', '## Rows recovered', '');
    out.push('Messages in the database after `recover`, against the messages the undamaged file held (WAL included). "foreign rows added": cases where messages that were never in this Locrit appeared (a WAL of another database replayed).', '');
    out.push(mdTable(rowsDistribution(results)));
    const outcomes = new Map<string, number>();
    for (const r of results.filter((x) => x.rows)) outcomes.set(`${r.group}: ${r.rows!.outcome}`, (outcomes.get(`${r.group}: ${r.rows!.outcome}`) ?? 0) + 1);
    out.push('', 'What `recover` found and did (problem -> outcome):', '');
    out.push(mdTable([['damage: problem -> outcome', 'cases'], ...[...outcomes.entries()].sort().map(([k, v]) => [k, String(v)])]));
    out.push('', FOREIGN_WAL_METHOD);
  }
  const kills = results.filter((r) => r.kind === 'kills');
  if (kills.length) {
    out.push('', '## Kills', '');
    out.push(`${kills.filter((k) => k.killed).length} of ${kills.length} runs were still going when SIGKILL came (the others had finished first); ${kills.filter((k) => k.killed && k.passed).length} of those were survived: the next run finished or rolled back and nothing was lost.`, '');
    const groups = [...new Set(kills.map((k) => k.group))];
    out.push(mdTable([['command', 'cases', 'killed while running', 'survived'], ...groups.map((g) => {
      const of = kills.filter((k) => k.group === g);
      return [g, String(of.length), String(of.filter((k) => k.killed).length), String(of.filter((k) => k.passed).length)];
    })]));
  }
  const failed = results.filter((r) => !r.passed && !r.skipped);
  out.push('', `## Failures (${failed.length})`, '');
  if (failed.length === 0) out.push('None.');
  for (const f of failed) out.push(`- \`${f.id}\` ${f.label}: ${f.failures.join('; ')}`);
  const skipped = results.filter((r) => r.skipped);
  if (skipped.length) {
    out.push('', `## Skipped (${skipped.length})`, '');
    for (const s of skipped) out.push(`- \`${s.id}\` ${s.label}: ${s.skipped}`);
  }
  // Kill cases note every run that finished before its kill: only what a later run left behind is worth reading.
  const notesOf = (r: CaseResult): string[] => (r.kind === 'kills' ? (r.notes ?? []).filter((n) => !n.startsWith('finished')) : (r.notes ?? []));
  const noted = results.filter((r) => r.kind !== 'damaged' && notesOf(r).length);
  if (noted.length) {
    out.push('', '## Notes', '');
    for (const n of noted) out.push(`- \`${n.id}\` ${n.label}: ${notesOf(n).join('; ')}`);
  }
  out.push('', `Rerun one case: \`npm run torture -- --seed ${meta.seed} --only <id>\` (add \`--keep\` to keep its folder).`, '');
  return out.join('\n');
}
