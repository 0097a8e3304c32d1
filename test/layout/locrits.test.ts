import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { folderName, identify, listLocrits, registryFindings, resolveTargets } from '../../src/layout/locrits.js';
import { tempDir } from '../helpers.js';

function fakeLocrit(dataDir: string, folder: string): string {
  fs.mkdirSync(path.join(dataDir, folder), { recursive: true });
  const db = path.join(dataDir, folder, 'kuzu.db');
  fs.writeFileSync(db, 'KUZU');
  return db;
}

describe('Locrit layout', () => {
  it('sanitises display names the way the application does', () => {
    assert.equal(folderName('Bob Technique'), 'bob_technique');
    assert.equal(folderName('R2-D2 (v1.0)'), 'r2-d2__v1_0_');
    assert.equal(folderName('éloïse'), 'éloïse');
    assert.equal(folderName('a/b'), 'a_b');
  });

  // Expected values are what the application's Python gives:
  // re.sub(r'[^\w\-_]', '_', name.lower()) (computed once with Python 3.11, Unicode 14).
  const PYTHON_FOLDER_NAMES: [string, string, string][] = [
    ['Bob Technique', 'bob_technique', 'ASCII: space to _'],
    ['\u00c9lise Caf\u00e9', '\u00e9lise_caf\u00e9', 'precomposed accents are letters'],
    ['E\u0301lise Cafe\u0301', 'e_lise_cafe_', 'combining accents (Mn) are not \\w'],
    ['\u0130stanbul', 'i_stanbul', "'İ' lower-cases to 'i' + U+0307, a combining mark"],
    ['\u039f\u0394\u039f\u03a3 \u03a3\u0391\u03a3', '\u03bf\u03b4\u03bf\u03c2_\u03c3\u03b1\u03c2', 'final sigma at the end of each word'],
    ['\u0391\u03a3.', '\u03b1\u03c2_', 'final sigma before punctuation'],
    ['\u0391\u03a3\u0391', '\u03b1\u03c3\u03b1', 'medial sigma'],
    ['\u0939\u093f\u0928\u094d\u0926\u0940', '\u0939_\u0928_\u0926_', 'Devanagari vowel signs and virama (Mc, Mn) become _'],
    ['\u0661\u0662\u0663 \u0623\u064a\u0627\u0645', '\u0661\u0662\u0663_\u0623\u064a\u0627\u0645', 'Arabic-Indic digits are kept'],
    ['\u0967\u0968\u0969 Ram', '\u0967\u0968\u0969_ram', 'Devanagari digits are kept'],
    ['\u216b Legion', '\u217b_legion', 'roman numeral (Nl) lower-cases and is kept'],
    ['x\u00b2', 'x\u00b2', 'superscript two (No) is kept'],
    ['Stra\u00dfe', 'stra\u00dfe', 'sharp s stays'],
    ['\u1e9e', '\u00df', 'capital sharp s lower-cases to sharp s'],
    ['\u01c5emal', '\u01c6emal', 'title-case digraph'],
    ['Kelvin \u212a', 'kelvin_k', 'Kelvin sign lower-cases to k'],
    ['\u2126 Ohm', '\u03c9_ohm', 'Ohm sign lower-cases to omega'],
    ['Bot \ud83e\udd16', 'bot__', 'an emoji outside the BMP is one _'],
    ['\u540d\u524d', '\u540d\u524d', 'CJK ideographs are kept'],
    ['zero\u200dwidth', 'zero_width', 'zero-width joiner (Cf) becomes _'],
    ['\ud835\udc00', '\ud835\udc00', 'mathematical bold A: a letter with no lower case'],
    ['\ud801\udc00', '\ud801\udc28', 'Deseret capital letter lower-cases outside the BMP'],
    ['tab\there', 'tab_here', 'control character'],
    ['Zo\u00eb_v2-\u03b2', 'zo\u00eb_v2-\u03b2', '_ and - are kept'],
  ];

  it("derives folder names exactly as the application's Python does, Unicode included", () => {
    for (const [name, python, why] of PYTHON_FOLDER_NAMES) assert.equal(folderName(name), python, `${JSON.stringify(name)}: ${why}`);
  });

  it('lists every folder holding a kuzu.db, sorted, ignoring other folders', (t) => {
    const data = tempDir(t);
    fakeLocrit(data, 'zed');
    fakeLocrit(data, 'alice');
    fs.mkdirSync(path.join(data, 'empty'));
    fs.writeFileSync(path.join(data, 'notes.txt'), '');
    assert.deepEqual(listLocrits(data).map((l) => l.name), ['alice', 'zed']);
  });

  it('resolves folder names, display names, files and folders, without duplicates', (t) => {
    const data = tempDir(t);
    const bob = fakeLocrit(data, 'bob_technique');
    const names = (args: string[]): string[] => resolveTargets(args, data, data).map((l) => l.dbPath);
    assert.deepEqual(names(['bob_technique']), [bob]);
    assert.deepEqual(names(['Bob Technique']), [bob]);
    assert.deepEqual(names([bob, path.dirname(bob), './bob_technique']), [bob]);
  });

  it('refuses an unknown name with the list of known ones', (t) => {
    const data = tempDir(t);
    fakeLocrit(data, 'alice');
    assert.throws(() => resolveTargets(['carol'], data, data), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /unknown Locrit 'carol' in .*; known: alice$/);
      return true;
    });
    assert.throws(() => resolveTargets([], path.join(data, 'missing'), data), /data directory .*missing does not exist/);
    assert.throws(() => resolveTargets(['./nowhere/kuzu.db'], data, data), /does not exist/);
  });
});

describe('Locrit registry against the disk', () => {
  const registryOf = (instances: string): ReturnType<typeof parseConfig>['registry'] =>
    parseConfig(`locrits:\n  default_settings:\n    memory_service: kuzu_graph\n  instances:\n${instances}`, '/srv/locrit/config.yaml').registry;

  it('finds a Kuzu Locrit never started, an orphaned database, one left by a switch, and a shared folder', (t) => {
    const data = tempDir(t);
    fakeLocrit(data, 'bob_technique');
    fakeLocrit(data, 'pixie_assistant');
    fakeLocrit(data, 'old_helper');
    fakeLocrit(data, '\u00e9lise_caf\u00e9');
    const registry = registryOf(
      [
        '    Bob Technique:', '      active: true',
        '    Marie Recherche:', '      active: false',
        '    Pixie Assistant:', '      memory_service: plaintext_file',
        '    \u00c9lise Caf\u00e9:', '      memory_service: kuzu_graph',
        '    \u00e9lise caf\u00e9:', '      memory_service: kuzu_graph',
        '',
      ].join('\n'),
    )!;
    const notes = registryFindings(registry, data);
    assert.deepEqual(
      notes.map((n) => [n.code, n.locrit, n.displayName]),
      [
        ['never-started', 'marie_recherche', 'Marie Recherche'],
        ['other-memory-service', 'pixie_assistant', 'Pixie Assistant'],
        ['shared-folder', '\u00e9lise_caf\u00e9', '\u00c9lise Caf\u00e9'],
        ['orphaned', 'old_helper', null],
      ],
    );
    assert.ok(notes.every((n) => n.level === 'info'));
    assert.match(notes[0].message, /'Marie Recherche' uses kuzu_graph and has no database yet/);
    assert.match(notes[1].message, /'Pixie Assistant' now uses plaintext_file: its Kuzu database pixie_assistant\/kuzu\.db is left over/);
    assert.match(notes[3].message, /old_helper\/kuzu\.db belongs to no Locrit in locrits\.instances/);
    assert.deepEqual(identify(registry, 'bob_technique'), { displayName: 'Bob Technique', active: true, memoryService: 'kuzu_graph' });
    assert.deepEqual(identify(registry, 'old_helper'), { displayName: null, active: null, memoryService: null });
    assert.deepEqual(identify(null, 'bob_technique'), { displayName: null, active: null, memoryService: null });
  });

  it('resolves a registered display name even with a slash, and says when a registered Locrit has no database', (t) => {
    const data = tempDir(t);
    const r2 = fakeLocrit(data, 'r2_d2');
    const registry = registryOf(['    R2/D2:', '      active: true', '    Marie Recherche:', '      active: false', '    Pixie Assistant:', '      memory_service: plaintext_file', ''].join('\n'));
    assert.deepEqual(resolveTargets(['R2/D2'], data, data, registry).map((l) => l.dbPath), [r2]);
    assert.throws(() => resolveTargets(['R2/D2'], data, data), /does not exist/, 'without the registry it is a path');
    assert.throws(() => resolveTargets(['marie recherche'], data, data, registry), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, `Locrit 'Marie Recherche' is in locrits.instances (memory service kuzu_graph) but has no database in ${path.join(data, 'marie_recherche')}`);
      assert.match(error.hint ?? '', /^it has stored nothing in Kuzu yet; run without arguments/);
      return true;
    });
    assert.throws(() => resolveTargets(['Pixie Assistant'], data, data, registry), /memory service plaintext_file\) but has no database/);
  });

  it('makes no finding about a Locrit whose memory service nothing names', (t) => {
    const data = tempDir(t);
    fakeLocrit(data, 'legacy');
    const registry = parseConfig('locrits:\n  instances:\n    Legacy:\n      active: true\n    Ghost: {}\n', 'c.yaml').registry!;
    assert.equal(registry.instances[0].memoryService, null);
    assert.deepEqual(registryFindings(registry, data), []);
  });
});
