import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';
import type { LocritValidation, ValidateReport } from '../../commands/validate.js';
import type { Severity } from '../../policy/integrityRules.js';
import path from 'node:path';
import { count, counted, fittedTable, locritLabel, plural, status, TABLE_STYLE, type TableWidth } from '../format.js';

/** Ids listed per fix category on the terminal unless --verbose (JSON always lists all). */
const LISTED_IDS = 50;

function severity(colors: ChalkInstance, value: Severity): string {
  return value === 'error' ? colors.red(value) : value === 'warn' ? colors.yellow(value) : colors.cyan(value);
}

export function validateTable(report: ValidateReport, colors: ChalkInstance, verbose = false, fit: TableWidth = { width: null }): string {
  const rules = new Map(report.rules.map((r) => [r.id, r]));
  const out: string[] = [];
  for (const l of report.locrits) {
    const head = `${colors.bold(locritLabel(l))} ${colors.dim(l.path)}: ${status(colors, l.status)}`;
    const figures = l.checked ? `, ${counted(l.checked.messages, 'message')} checked` : '';
    const deep = l.deep ? `, deep: ${counted(l.deep.reduce((n, s) => n + s.rowsRead, 0), 'row')} read in ${counted(l.deep.length, 'table')}` : '';
    out.push(`${head} (${counted(l.counts.error, 'error')}, ${counted(l.counts.warn, 'warning')}, ${count(l.counts.info)} info${figures}${deep})`);
    if (l.error) out.push(`  ${colors.red('✗')} ${l.error.message}${l.error.hint ? `\n    Try: ${l.error.hint}` : ''}`);
    if (l.findings.length > 0) {
      const table: string[][] = [];
      const next = new Map<string, string[]>();
      for (const f of l.findings) {
        const more = f.count > f.examples.length && f.examples.length > 0 ? [`… ${count(f.count - f.examples.length)} more`] : [];
        const detail = f.detail && f.detail.length > 70 && !verbose ? `${f.detail.slice(0, 69)}…` : f.detail;
        const examples = f.examples.length ? [...f.examples, ...more].join('\n') : (detail ?? '-');
        table.push([severity(colors, f.severity), f.rule, count(f.count), examples]);
        const command = (rules.get(f.rule)?.next ?? '').replace(/<locrit>/g, l.name);
        if (f.severity !== 'info' || verbose) next.set(command, [...(next.get(command) ?? []), f.rule]);
      }
      out.push(fittedTable(['Severity', 'Rule', 'Count', 'Examples'], table, { ...fit, shrink: 3 }, colors));
      if (next.size) {
        out.push('  Next:');
        for (const [command, ids] of next) out.push(`  - ${command}  ${colors.dim(`[${ids.join(', ')}]`)}`);
      }
      if (verbose) for (const f of l.findings) if (f.detail && f.examples.length) out.push(`  ${f.rule}: ${f.detail}`);
    } else if (!l.error) {
      out.push(`  ${colors.green('✓')} no findings`);
    }
    if (l.fix) out.push(...fixLines(l, colors, verbose, report.archiveDir));
    out.push('');
  }
  if (report.locrits.length > 0) out.push(summaryTable(report, colors));
  return `${out.join('\n')}\n`;
}

function fixLines(l: LocritValidation, colors: ChalkInstance, verbose: boolean, archiveDir: string): string[] {
  const fix = l.fix!;
  const out: string[] = [];
  const list = (ids: string[]): string[] => {
    const shown = verbose ? ids : ids.slice(0, LISTED_IDS);
    return [...shown.map((id) => `    ${id}`), ...(shown.length < ids.length ? [`    … ${count(ids.length - shown.length)} more (--verbose or --json lists all)`] : [])];
  };
  const title = fix.dryRun ? colors.bold('Fix plan (dry run: nothing changed)') : colors.bold('Fix');
  const { plan } = fix;
  if (plan.quarantine.length + plan.sessionFromGraph.length + plan.embeddingToNull.length === 0) {
    out.push(`  ${title}: nothing to repair`);
    return out;
  }
  out.push(`  ${title}:`);
  if (plan.quarantine.length) {
    out.push(`  - quarantine ${count(plan.quarantine.length)} invalid ${plural(plan.quarantine.length, 'message')} into an archive under ${path.join(archiveDir, l.name)}, then remove them:`);
    out.push(...list(plan.quarantine.map((q) => `${q.id}  (${q.rules.join(', ')})`)));
  }
  if (plan.sessionFromGraph.length) {
    out.push(`  - set session_id from PART_OF for ${count(plan.sessionFromGraph.length)} messages:`);
    out.push(...list(plan.sessionFromGraph.map((s) => `${s.id}  ${s.from ?? 'NULL'} -> ${s.to}`)));
  }
  if (plan.embeddingToNull.length) {
    out.push(`  - set ${count(plan.embeddingToNull.length)} invalid embeddings to NULL:`);
    out.push(...list(plan.embeddingToNull));
  }
  if (fix.skipped) out.push(`  ${colors.yellow('!')} not applied: ${fix.skipped}`);
  if (fix.applied) {
    const a = fix.applied;
    out.push(`  ${colors.green('✓')} applied: ${a.deleted} quarantined and removed, ${a.sessionIdsCorrected} session_id corrected, ${a.embeddingsNulled} embeddings set to NULL`);
  }
  if (fix.archive) out.push(`  archive: ${fix.archive.folder} (${count(fix.archive.messages)} messages, id digest ${fix.archive.idDigest.slice(0, 16)}…)`);
  if (!fix.dryRun && fix.applied) out.push(`  findings before the fix: ${fix.findingsBefore.map((f) => `${f.rule} ${f.count}`).join(', ') || 'none'}; the table above is after it`);
  return out;
}

function summaryTable(report: ValidateReport, colors: ChalkInstance): string {
  const table = new Table({ head: ['Locrit', 'Status', 'Errors', 'Warnings', 'Info', 'Messages', 'Time'].map((h) => colors.bold(h)), ...TABLE_STYLE });
  for (const l of report.locrits) {
    table.push([locritLabel(l, colors), status(colors, l.status), count(l.counts.error), count(l.counts.warn), count(l.counts.info), count(l.checked?.messages), `${(l.durationMs / 1000).toFixed(1)}s`]);
  }
  const s = report.summary;
  const parts = [`${count(s.ok)} ok`, `${count(s.warn)} with warnings`, `${count(s.error)} with errors`, `${count(s.unavailable)} unavailable`];
  const mode = [report.options.strict && '--strict', report.options.deep && '--deep', report.options.fix && (report.options.dryRun ? '--fix --dry-run' : '--fix')].filter(Boolean).join(' ');
  return `${table.toString()}\n${counted(s.locrits, 'Locrit')}: ${parts.join(', ')}${mode ? ` (${mode})` : ''}; exit ${report.exitCode}`;
}
