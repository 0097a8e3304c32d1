/** The layout rule (scripts/deps.ts): src/ keeps its dependencies one way, and the check would say so if not. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkDependencies } from '../../scripts/deps.js';
import { ROOT, tempDir } from '../helpers.js';

describe('dependency rule', () => {
  it('src/ has no folder cycle and no import of a higher layer', () => {
    const report = checkDependencies(path.join(ROOT, 'src'));
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.cycles, []);
    assert.ok(report.edges.some((e) => e.from === 'commands' && e.to === 'recover'));
  });

  it('reports a store that imports a command, and the cycle it makes', (t) => {
    const src = tempDir(t);
    const write = (file: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(src, file)), { recursive: true });
      fs.writeFileSync(path.join(src, file), text);
    };
    write('commands/stats.ts', "import { open } from '../store/kuzu.js';\n");
    write('store/kuzu.ts', "// import { nothing } from '../cli/main.js';\nexport const open = async () => (await import('../commands/stats.js')).run;\n");
    write('errors.ts', "import type { X } from './store/kuzu.js';\n");
    const report = checkDependencies(src);
    assert.deepEqual(report.violations.map((v) => v.split(':')[0]).sort(), ['errors -> store', 'store -> commands']);
    assert.deepEqual(report.cycles, [['commands', 'store']]);
  });
});
