/**
 * Checks the rule of the source layout: dependencies between the folders of src/ point one way,
 *   cli, worker (the two entry points) -> commands -> recover, retention, validation, statistics (the engines)
 *   -> store, runner, conversations -> archive (the format), policy (pure rules)
 *   -> layout, config, schema, errors, version, testKnobs
 * (fixtures, the test-data generator, sits beside the engines). Reads every import of every
 * .ts file under src/ (static, `export ... from` and dynamic `import()`, type-only ones too),
 * and reports a folder that imports a higher layer and every cycle between folders.
 * Usage: npm run deps   (exit 0: the rule holds; 1: the violations are listed)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Layer of each folder (or file at the top of src/): a folder may import its own layer or a lower one. */
export const LAYERS: Record<string, number> = {
  errors: 0, version: 0, testKnobs: 0, schema: 0, config: 0, layout: 0,
  archive: 1, policy: 1,
  store: 2, runner: 2, conversations: 2,
  recover: 3, retention: 3, validation: 3, statistics: 3, fixtures: 3,
  commands: 4,
  cli: 5, worker: 5,
};

export interface Edge {
  from: string;
  to: string;
  /** One file and import that makes this edge, as an example. */
  file: string;
  specifier: string;
}

export interface DependencyReport {
  edges: Edge[];
  /** Imports of a higher layer, or between folders missing from LAYERS. */
  violations: string[];
  /** Folder cycles, each as a list of folders. */
  cycles: string[][];
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The folder of a file under src/ (a file at the top of src/ is its own folder, by name). */
function folderOf(srcDir: string, file: string): string {
  const [first] = path.relative(srcDir, file).split(path.sep);
  return first.replace(/\.ts$/, '');
}

/** Strips comments so that an import shown in a comment is not read as one. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

export function checkDependencies(srcDir: string): DependencyReport {
  const edges = new Map<string, Edge>();
  for (const file of sourceFiles(srcDir)) {
    const from = folderOf(srcDir, file);
    for (const match of withoutComments(fs.readFileSync(file, 'utf8')).matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2];
      if (!specifier.startsWith('.')) continue;
      const to = folderOf(srcDir, path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
      if (to === from || to.startsWith('..')) continue;
      const key = `${from} -> ${to}`;
      if (!edges.has(key)) edges.set(key, { from, to, file: path.relative(srcDir, file), specifier });
    }
  }
  const violations: string[] = [];
  for (const edge of edges.values()) {
    const [a, b] = [LAYERS[edge.from], LAYERS[edge.to]];
    if (a === undefined || b === undefined) violations.push(`${edge.from} -> ${edge.to}: ${a === undefined ? edge.from : edge.to} has no layer (src/${edge.file} imports ${edge.specifier})`);
    else if (b > a) violations.push(`${edge.from} -> ${edge.to}: a lower layer imports a higher one (src/${edge.file} imports ${edge.specifier})`);
  }
  return { edges: [...edges.values()], violations, cycles: folderCycles([...edges.values()]) };
}

/** Strongly connected groups of more than one folder (Tarjan), each a cycle or several. */
function folderCycles(edges: Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const nodes = [...new Set(edges.flatMap((e) => [e.from, e.to]))].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return groups;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const srcDir = process.argv[2] ?? fileURLToPath(new URL('../../src/', import.meta.url));
  const report = checkDependencies(srcDir);
  for (const v of report.violations) process.stdout.write(`layer: ${v}\n`);
  for (const c of report.cycles) process.stdout.write(`cycle: ${c.join(' <-> ')}\n`);
  if (report.violations.length === 0 && report.cycles.length === 0) process.stdout.write(`ok: ${report.edges.length} folder dependencies, all pointing one way, no cycle\n`);
  process.exitCode = report.violations.length || report.cycles.length ? 1 : 0;
}
