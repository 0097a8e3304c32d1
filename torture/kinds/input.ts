/**
 * Bad input: every numeric flag with a wrong type, a negative and a huge number; missing,
 * unreadable and special files where a file is expected; a configuration with a wrong type at
 * every key; a data directory that is a file; names with `../`; symlinks out of the data
 * directory; a kuzu.db that is a folder or a FIFO. Each must end with exit 2 or 3 and one line
 * naming the thing, within seconds, and change nothing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_SPEC, type KeySpec } from '../../src/config/spec.js';
import type { CaseResult } from '../lib/cases.js';
import { caseFolder, LOCRIT, type BaseFixtures } from '../lib/fixtures.js';
import { hashTree } from '../lib/inspect.js';
import { outputProblems, runTool } from '../lib/proc.js';

export interface InputCase {
  id: string;
  group: string;
  label: string;
  args: string[];
  /** Text the error must contain (a flag, a key, a file name). */
  names: string;
  /** Exit codes that are right; a value that is merely unusual may also be accepted (0, 1). */
  exitCodes?: number[];
  /** Prepares the case folder (cwd of the run). */
  setup?: (dir: string) => void;
}

const NUMERIC_FLAGS: { command: string[]; flag: string; extra?: string[]; hugeOk?: boolean }[] = [
  { command: ['stats'], flag: '--jobs' },
  { command: ['archive', '--dry-run'], flag: '--days', hugeOk: true },
  { command: ['archive', '--dry-run'], flag: '--keep', hugeOk: true },
  { command: ['archive', '--dry-run'], flag: '--max-per-conversation', hugeOk: true },
  { command: ['emergency-cleanup', '--dry-run'], flag: '--max-messages', hugeOk: true },
  { command: ['emergency-cleanup', '--dry-run'], flag: '--max-size-mb', hugeOk: true },
  { command: ['emergency-cleanup', '--dry-run'], flag: '--fraction' },
  { command: ['stats'], flag: '--watch' },
  { command: ['recover', '--dry-run'], flag: '--wait', hugeOk: true },
  { command: ['recover', '--dry-run'], flag: '--batch-size', hugeOk: true },
];
const BAD_NUMBERS: [string, string][] = [
  ['word', 'lots'],
  ['negative', '-5'],
  ['huge', '99999999999999999999'],
  ['overflow', '1e400'],
  ['empty', ''],
  ['hex', '0x10'],
  ['nan', 'NaN'],
];

/** A wrong value for a configuration key of this type (YAML text). */
function wrongValues(spec: KeySpec): [string, string][] {
  const out: [string, string][] = [];
  switch (spec.type) {
    case 'int':
      out.push(['text', '"many"'], ['fraction', '2.5']);
      break;
    case 'number':
      out.push(['text', '"huge"'], ['bool', 'true']);
      break;
    case 'bool':
      out.push(['text', '"maybe"'], ['number', '3']);
      break;
    case 'string':
      out.push(['list', '[1, 2]'], ['mapping', '{a: 1}']);
      break;
    case 'string-list':
      out.push(['number', '42'], ['mapping', '{a: 1}']);
      break;
  }
  if (spec.min !== undefined && spec.min >= 0) out.push(['below minimum', String(spec.min - 1)]);
  return out;
}

/** A configuration whose only wrong value is `section.key: value` (the data directory stays valid). */
function configWith(section: string, key: string, value: string): string {
  if (section === 'memory') return key === 'base_path' ? `memory:\n  base_path: ${value}\n` : `memory:\n  base_path: data/memory\n  ${key}: ${value}\n`;
  return `memory:\n  base_path: data/memory\n${section}:\n  ${key}: ${value}\n`;
}

const mkfifo = (file: string): void => {
  execFileSync('mkfifo', [file]);
};

export function inputCases(): InputCase[] {
  const cases: InputCase[] = [];
  const add = (c: Omit<InputCase, 'id'>): void => {
    cases.push({ ...c, id: `input-${cases.length}` });
  };
  for (const { command, flag, hugeOk } of NUMERIC_FLAGS) {
    for (const [what, value] of BAD_NUMBERS) {
      add({
        group: 'flags', label: `${command[0]} ${flag} ${what} (${JSON.stringify(value)})`,
        args: flag === '--jobs' ? ['-j', value, ...command, LOCRIT] : [...command, flag, value, LOCRIT],
        names: flag, exitCodes: hugeOk && what === 'huge' ? [0, 1, 2] : [2],
      });
    }
  }
  add({ group: 'flags', label: 'stats --format xml', args: ['stats', '--format', 'xml', LOCRIT], names: '--format' });
  add({ group: 'flags', label: 'an unknown flag', args: ['archive', '--frobnicate', LOCRIT], names: '--frobnicate' });
  add({ group: 'flags', label: 'an unknown command', args: ['vacuum', LOCRIT], names: 'vacuum' });
  add({ group: 'flags', label: 'emergency-cleanup without --yes and no terminal', args: ['emergency-cleanup', LOCRIT], names: '--yes' });
  add({ group: 'flags', label: '--from-backup with --from-archive', args: ['recover', '--from-backup', 'x', '--from-archive', 'y', LOCRIT], names: '--from-' });

  for (const [section, keys] of Object.entries(CONFIG_SPEC)) {
    for (const [key, spec] of Object.entries(keys as Record<string, KeySpec>)) {
      for (const [what, value] of wrongValues(spec)) {
        add({
          group: 'config', label: `config ${section}.${key}: ${what} (${value})`, args: ['-c', 'bad.yaml', 'stats', LOCRIT], names: `${section}.${key}`,
          setup: (dir) => fs.writeFileSync(path.join(dir, 'bad.yaml'), configWith(section, key, value)),
        });
      }
    }
    add({
      group: 'config', label: `config section ${section} is a number`, args: ['-c', 'bad.yaml', 'stats', LOCRIT], names: section,
      setup: (dir) => fs.writeFileSync(path.join(dir, 'bad.yaml'), `${section}: 5\n`),
    });
  }
  add({ group: 'config', label: 'config file missing', args: ['-c', 'missing.yaml', 'stats'], names: 'missing.yaml' });
  add({ group: 'config', label: 'config file is a folder', args: ['-c', 'conf.d', 'stats'], names: 'conf.d', setup: (dir) => fs.mkdirSync(path.join(dir, 'conf.d')) });
  add({ group: 'config', label: 'config file is a FIFO', args: ['-c', 'pipe.yaml', 'stats'], names: 'pipe.yaml', setup: (dir) => mkfifo(path.join(dir, 'pipe.yaml')) });
  add({ group: 'config', label: 'config file is not YAML', args: ['-c', 'broken.yaml', 'stats'], names: 'broken.yaml', setup: (dir) => fs.writeFileSync(path.join(dir, 'broken.yaml'), 'memory: [\n  : : {\n') });
  add({ group: 'config', label: 'config file is binary', args: ['-c', 'bin.yaml', 'stats'], names: 'bin.yaml', setup: (dir) => fs.writeFileSync(path.join(dir, 'bin.yaml'), Buffer.from([0, 1, 2, 255, 254, 10, 0, 9, 58])) });
  add({ group: 'config', label: 'config file is a YAML list', args: ['-c', 'list.yaml', 'stats'], names: 'list.yaml', setup: (dir) => fs.writeFileSync(path.join(dir, 'list.yaml'), '- 1\n- 2\n') });
  add({ group: 'config', label: '$LOCRIT_MEM_CONFIG names a missing file', args: ['stats'], names: 'env-missing.yaml', setup: (dir) => fs.writeFileSync(path.join(dir, '.env-config'), 'env-missing.yaml') });

  add({ group: 'files', label: 'data directory is a file', args: ['-d', 'plain-file', 'stats'], names: 'plain-file', setup: (dir) => fs.writeFileSync(path.join(dir, 'plain-file'), 'x') });
  add({ group: 'files', label: 'data directory missing', args: ['-d', 'no-such-dir', 'stats'], names: 'no-such-dir' });
  add({ group: 'files', label: 'Locrit name with ../', args: ['stats', '../alice'], names: 'alice' });
  add({ group: 'files', label: 'Locrit name with ../../ out of the tree', args: ['archive', '--dry-run', '../../../etc'], names: 'etc' });
  add({ group: 'files', label: 'Locrit name that is ..', args: ['stats', '..'], names: 'kuzu.db' });
  add({
    group: 'files', label: 'a Locrit folder that is a symlink out of the data directory', args: ['archive', '--dry-run', 'evil'], names: 'evil', exitCodes: [2, 3],
    setup: (dir) => {
      fs.mkdirSync(path.join(dir, 'outside', 'evil'), { recursive: true });
      fs.copyFileSync(path.join(dir, 'data', 'memory', LOCRIT, 'kuzu.db'), path.join(dir, 'outside', 'evil', 'kuzu.db'));
      fs.symlinkSync(path.join(dir, 'outside', 'evil'), path.join(dir, 'data', 'memory', 'evil'));
    },
  });
  add({
    group: 'files', label: 'a kuzu.db that is a symlink out of the data directory', args: ['validate', '--fix', '--dry-run', 'evil'], names: 'evil', exitCodes: [2, 3],
    setup: (dir) => {
      fs.mkdirSync(path.join(dir, 'outside'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'data', 'memory', 'evil'));
      fs.copyFileSync(path.join(dir, 'data', 'memory', LOCRIT, 'kuzu.db'), path.join(dir, 'outside', 'kuzu.db'));
      fs.symlinkSync(path.join(dir, 'outside', 'kuzu.db'), path.join(dir, 'data', 'memory', 'evil', 'kuzu.db'));
    },
  });
  for (const command of [['stats'], ['validate', '--deep'], ['archive', '--dry-run'], ['recover', '--dry-run'], ['recover']]) {
    add({ group: 'files', label: `${command.join(' ')}: kuzu.db is a folder`, args: [...command, 'dirdb'], names: 'dirdb', exitCodes: [2, 3], setup: (dir) => fs.mkdirSync(path.join(dir, 'data', 'memory', 'dirdb', 'kuzu.db'), { recursive: true }) });
    add({
      group: 'files', label: `${command.join(' ')}: kuzu.db is a FIFO`, args: [...command, 'fifo'], names: 'fifo', exitCodes: [2, 3],
      setup: (dir) => {
        fs.mkdirSync(path.join(dir, 'data', 'memory', 'fifo'));
        mkfifo(path.join(dir, 'data', 'memory', 'fifo', 'kuzu.db'));
      },
    });
    add({
      group: 'files', label: `${command.join(' ')}: kuzu.db.wal is a FIFO`, args: [...command, 'walfifo'], names: 'walfifo', exitCodes: [2, 3],
      setup: (dir) => {
        fs.mkdirSync(path.join(dir, 'data', 'memory', 'walfifo'));
        fs.copyFileSync(path.join(dir, 'data', 'memory', LOCRIT, 'kuzu.db'), path.join(dir, 'data', 'memory', 'walfifo', 'kuzu.db'));
        mkfifo(path.join(dir, 'data', 'memory', 'walfifo', 'kuzu.db.wal'));
      },
    });
  }
  add({ group: 'files', label: 'kuzu.db is empty', args: ['validate', 'empty'], names: 'empty', exitCodes: [2, 3], setup: (dir) => fs.mkdirSync(path.join(dir, 'data', 'memory', 'empty')) });
  add({ group: 'files', label: '--junit into a missing folder', args: ['validate', '--junit', 'no/such/report.xml', LOCRIT], names: 'no/such' });
  add({ group: 'files', label: '--junit is a folder', args: ['validate', '--junit', 'data', LOCRIT], names: 'data' });
  add({ group: 'files', label: 'stats --output is a folder', args: ['stats', '--output', 'data', LOCRIT], names: 'data' });
  add({ group: 'files', label: '--from-backup missing', args: ['recover', '--from-backup', 'nope.db', LOCRIT], names: 'nope.db' });
  add({ group: 'files', label: '--from-backup is a folder', args: ['recover', '--from-backup', 'data', LOCRIT], names: 'data' });
  add({ group: 'files', label: '--from-backup is a FIFO', args: ['recover', '--from-backup', 'pipe.db', LOCRIT], names: 'pipe.db', setup: (dir) => mkfifo(path.join(dir, 'pipe.db')) });
  add({ group: 'files', label: '--from-backup is not Kuzu', args: ['recover', '--from-backup', 'text.db', LOCRIT], names: 'text.db', exitCodes: [2, 3], setup: (dir) => fs.writeFileSync(path.join(dir, 'text.db'), 'hello') });
  add({ group: 'files', label: '--from-archive missing', args: ['recover', '--from-archive', 'no-archive', LOCRIT], names: 'no-archive', exitCodes: [2, 3] });
  add({ group: 'files', label: '--from-archive manifest is garbage', args: ['recover', '--from-archive', 'arch', LOCRIT], names: 'arch', exitCodes: [2, 3], setup: (dir) => { fs.mkdirSync(path.join(dir, 'arch')); fs.writeFileSync(path.join(dir, 'arch', 'manifest.json'), '{"format": 12, "files": "x"'); } });
  add({ group: 'files', label: '--from-archive manifest is a FIFO', args: ['recover', '--from-archive', 'farch', LOCRIT], names: 'farch', exitCodes: [2, 3], setup: (dir) => { fs.mkdirSync(path.join(dir, 'farch')); mkfifo(path.join(dir, 'farch', 'manifest.json')); } });
  add({ group: 'files', label: '--conversations-dir is a file', args: ['recover', '--dry-run', '--conversations-dir', 'plain-file', LOCRIT], names: 'plain-file', exitCodes: [0, 1, 2], setup: (dir) => fs.writeFileSync(path.join(dir, 'plain-file'), 'x') });
  return cases;
}

export async function inputCase(c: InputCase, fixtures: BaseFixtures, casesRoot: string): Promise<CaseResult> {
  const started = Date.now();
  const { dir, locritDir } = caseFolder(casesRoot, c.id, fixtures.clean);
  const failures: string[] = [];
  let env: NodeJS.ProcessEnv = {};
  try {
    c.setup?.(dir);
    const envFile = path.join(dir, '.env-config');
    if (fs.existsSync(envFile)) env = { LOCRIT_MEM_CONFIG: fs.readFileSync(envFile, 'utf8') };
  } catch (error) {
    return { kind: 'input', id: c.id, group: c.group, label: c.label, passed: false, failures: [`setup failed: ${(error as Error).message}`], durationMs: Date.now() - started };
  }
  const before = hashTree(locritDir);
  const args = c.args[0] === '-d' || c.args[0] === '-c' ? c.args : ['-d', 'data/memory', ...c.args];
  const run = await runTool(args.includes('-j') ? args : ['-j', '1', ...args], { cwd: dir, env, timeoutMs: 30_000 });
  const exitCodes = c.exitCodes ?? [2];
  failures.push(...outputProblems(run, { json: false, exitCodes }));
  const said = `${run.stderr}\n${run.stdout}`;
  if (run.code !== null && run.code >= 2 && run.code < 128 && !said.includes(c.names)) failures.push(`the error does not name ${c.names}: ${said.trim().split('\n').slice(0, 2).join(' | ').slice(0, 300)}`);
  if (JSON.stringify(hashTree(locritDir)) !== JSON.stringify(before)) failures.push('a bad-input run changed the files of the Locrit');
  if (failures.length === 0) fs.rmSync(dir, { recursive: true, force: true });
  return { kind: 'input', id: c.id, group: c.group, label: c.label, passed: failures.length === 0, failures, durationMs: Date.now() - started };
}
