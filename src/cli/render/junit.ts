/**
 * JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters): one <testsuite> per
 * Locrit, one <testcase> per rule. A rule broken at severity error (and warn under --strict) is
 * a <failure>; a database that could not be read is an <error> on the file rule that says why,
 * with every other rule <skipped>; --deep rules are <skipped> without --deep. Warnings and info
 * findings that do not fail the run pass, with the finding in <system-out>.
 */
import os from 'node:os';
import type { LocritValidation, ValidateReport } from '../../commands/validate.js';
import type { Finding } from '../../policy/integrityRules.js';

export function escapeXml(text: string): string {
  // Characters XML 1.0 forbids are dropped; the five specials are escaped.
  return text
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const attr = (name: string, value: string | number): string => `${name}="${escapeXml(String(value))}"`;

interface CaseResult {
  xml: string;
  failed: boolean;
  errored: boolean;
  skipped: boolean;
}

function describe(finding: Finding, next: string): string {
  return [
    `rule: ${finding.rule} (${finding.severity})`,
    `count: ${finding.count}`,
    `examples: ${finding.examples.length ? finding.examples.join(', ') : '-'}`,
    ...(finding.detail ? [`detail: ${finding.detail}`] : []),
    `next: ${next}`,
  ].join('\n');
}

function testCase(report: ValidateReport, locrit: LocritValidation, rule: ValidateReport['rules'][number]): CaseResult {
  const open = `    <testcase ${attr('name', rule.id)} ${attr('classname', `locrit-mem.validate.${locrit.name}`)} ${attr('time', '0')}`;
  const finding = locrit.findings.find((f) => f.rule === rule.id);
  const next = rule.next.replace(/<locrit>/g, locrit.name);
  if (locrit.status === 'unavailable') {
    if (finding && finding.severity === 'error' && (rule.category === 'file' || rule.category === 'storage')) {
      const message = locrit.error?.message ?? rule.title;
      return { xml: `${open}>\n      <error ${attr('message', message)} ${attr('type', rule.id)}>${escapeXml(describe(finding, next))}</error>\n    </testcase>`, failed: false, errored: true, skipped: false };
    }
    if (!finding) return { xml: `${open}>\n      <skipped ${attr('message', 'the database could not be read')}/>\n    </testcase>`, failed: false, errored: false, skipped: true };
  }
  if (!finding) {
    if (rule.category === 'storage' && !report.options.deep) return { xml: `${open}>\n      <skipped ${attr('message', 'runs with --deep')}/>\n    </testcase>`, failed: false, errored: false, skipped: true };
    return { xml: `${open}/>`, failed: false, errored: false, skipped: false };
  }
  const fails = finding.severity === 'error' || (report.options.strict && finding.severity === 'warn');
  const message = `${finding.count} x ${rule.title}`;
  if (fails) {
    return { xml: `${open}>\n      <failure ${attr('message', message)} ${attr('type', finding.severity)}>${escapeXml(describe(finding, next))}</failure>\n    </testcase>`, failed: true, errored: false, skipped: false };
  }
  return { xml: `${open}>\n      <system-out>${escapeXml(describe(finding, next))}</system-out>\n    </testcase>`, failed: false, errored: false, skipped: false };
}

export function validateJunit(report: ValidateReport): string {
  const suites: string[] = [];
  const total = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const locrit of report.locrits) {
    const cases = report.rules.map((rule) => testCase(report, locrit, rule));
    const counts = {
      tests: cases.length,
      failures: cases.filter((c) => c.failed).length,
      errors: cases.filter((c) => c.errored).length,
      skipped: cases.filter((c) => c.skipped).length,
    };
    total.tests += counts.tests;
    total.failures += counts.failures;
    total.errors += counts.errors;
    total.skipped += counts.skipped;
    suites.push(
      `  <testsuite ${attr('name', locrit.name)} ${attr('tests', counts.tests)} ${attr('failures', counts.failures)} ${attr('errors', counts.errors)} ` +
        `${attr('skipped', counts.skipped)} ${attr('time', (locrit.durationMs / 1000).toFixed(3))} ${attr('timestamp', report.generatedAt)} ${attr('hostname', os.hostname())}>\n` +
        `    <properties>\n      <property ${attr('name', 'path')} ${attr('value', locrit.path)}/>\n      <property ${attr('name', 'status')} ${attr('value', locrit.status)}/>\n` +
        `      <property ${attr('name', 'exitCode')} ${attr('value', locrit.exitCode)}/>\n    </properties>\n` +
        `${cases.map((c) => c.xml).join('\n')}\n  </testsuite>`,
    );
  }
  const time = report.locrits.reduce((sum, l) => sum + l.durationMs, 0) / 1000;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites ${attr('name', 'locrit-mem validate')} ${attr('tests', total.tests)} ${attr('failures', total.failures)} ${attr('errors', total.errors)} ` +
    `${attr('skipped', total.skipped)} ${attr('time', time.toFixed(3))}>\n${suites.join('\n')}\n</testsuites>\n`
  );
}
