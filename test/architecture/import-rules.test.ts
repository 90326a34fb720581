import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layer rules of STYLE.md "The shape", checked over the source tree so the folders keep
 * telling the truth:
 * - src/core imports nothing outside src/core: no node: modules, no packages.
 * - src/engine imports src/core, its own files, the store's interface (store.ts, records.ts;
 *   types only from the rest of src/store, such as query and SQL types) and node:crypto.
 * - src/server never imports src/store except with `import type`.
 * - src/store never imports src/engine or src/server.
 * Tests beside the code (`*.test.ts`) are not production code and may import test tools.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const srcDir = join(root, 'src');

interface Import {
  /** The importing file, relative to the repository root with forward slashes. */
  file: string;
  line: number;
  specifier: string;
  /** `import type …`, `export type … from`, or only `type` specifiers: erased at compile time. */
  typeOnly: boolean;
  /** For relative specifiers, the target relative to the repository root; else null. */
  target: string | null;
}

const toPosix = (path: string): string => path.split(sep).join('/');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !/\.test\.[mc]?[tj]s$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

// `import … from '…'` and `export … from '…'` (possibly across lines), bare `import '…'`, and
// dynamic `import('…')`. Comments are stripped first so an example in a comment is not an import.
// The clause between the keyword and `from` holds only names, braces, commas, `*`, `as` and
// `type`, and never another import or export keyword, so a match cannot run on from an
// `export type Foo = …` or `export interface …` into the next statement's `from '…'`.
const staticPattern = /^[ \t]*(import|export)\s+(type\s+)?((?:(?!\b(?:import|export)\b)[\w\s{},*$])*?)\s*from\s*['"]([^'"]+)['"]/gm;
const bareImportPattern = /\bimport\s*['"]([^'"]+)['"]/g;
const dynamicPattern = /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

function stripComments(text: string): string {
  // Keep newlines so reported line numbers stay right.
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:'"`])\/\/[^\n]*/g, (_m, before: string) => before);
}

/** True when every named specifier of `{ type A, type B }` is marked `type`. */
function onlyTypeSpecifiers(clause: string): boolean {
  const braces = /^\{([\s\S]*)\}$/.exec(clause.trim());
  if (!braces) return false;
  const names = braces[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return names.length > 0 && names.every((name) => name.startsWith('type '));
}

function importsOf(path: string): Import[] {
  return parseImports(readFileSync(path, 'utf8'), path);
}

function parseImports(source: string, path: string): Import[] {
  const text = stripComments(source);
  const file = toPosix(relative(root, path));
  const lineAt = (index: number): number => text.slice(0, index).split('\n').length;
  const targetOf = (specifier: string): string | null =>
    specifier.startsWith('.') ? toPosix(relative(root, resolve(dirname(path), specifier))) : null;
  const out: Import[] = [];
  for (const m of text.matchAll(staticPattern)) {
    const specifier = m[4]!;
    const typeOnly = m[2] !== undefined || onlyTypeSpecifiers(m[3] ?? '');
    out.push({ file, line: lineAt(m.index), specifier, typeOnly, target: targetOf(specifier) });
  }
  for (const m of text.matchAll(bareImportPattern)) {
    out.push({ file, line: lineAt(m.index), specifier: m[1]!, typeOnly: false, target: targetOf(m[1]!) });
  }
  for (const m of text.matchAll(dynamicPattern)) {
    out.push({ file, line: lineAt(m.index), specifier: m[1]!, typeOnly: false, target: targetOf(m[1]!) });
  }
  return out;
}

const allImports: Import[] = sourceFiles(srcDir).flatMap(importsOf);

const importsFrom = (layer: string): Import[] => allImports.filter((i) => i.file.startsWith(`src/${layer}/`));
const inside = (target: string | null, layer: string): boolean => target !== null && target.startsWith(`src/${layer}/`);
const show = (i: Import): string => `${i.file}:${i.line} imports${i.typeOnly ? ' type' : ''} '${i.specifier}'`;

describe('import rules', () => {
  it('parses the import forms the rules depend on', () => {
    const source = [
      "import { a, type B } from '../core/a.ts';",
      "import type { C } from '../store/c.ts';",
      'import {',
      '  type D,',
      '  type E,',
      "} from '../store/d.ts';",
      'export type F = { g: string };',
      "import * as h from 'node:fs';",
      "export { i } from './i.ts';",
      "// import { j } from '../server/j.ts';",
      "import './side-effect.ts';",
      "const k = await import('../store/k.ts');",
    ].join('\n');
    const parsed = parseImports(source, join(srcDir, 'engine', 'x.ts')).map((i) => [i.line, i.specifier, i.typeOnly, i.target]);
    expect(parsed).toEqual([
      [1, '../core/a.ts', false, 'src/core/a.ts'],
      [2, '../store/c.ts', true, 'src/store/c.ts'],
      [3, '../store/d.ts', true, 'src/store/d.ts'],
      [8, 'node:fs', false, null],
      [9, './i.ts', false, 'src/engine/i.ts'],
      [11, './side-effect.ts', false, 'src/engine/side-effect.ts'],
      [12, '../store/k.ts', false, 'src/store/k.ts'],
    ]);
  });

  it('finds the imports it checks (the parser is not silently blind)', () => {
    for (const layer of ['core', 'engine', 'store', 'server']) expect(importsFrom(layer).length, layer).toBeGreaterThan(0);
    const engineToCore = importsFrom('engine').filter((i) => inside(i.target, 'core'));
    expect(engineToCore.length).toBeGreaterThan(0);
    expect(importsFrom('engine').some((i) => i.typeOnly)).toBe(true);
    expect(importsFrom('engine').some((i) => !i.typeOnly)).toBe(true);
  });

  it('src/core imports nothing outside src/core: no node: modules, no packages', () => {
    const offending = importsFrom('core').filter((i) => !inside(i.target, 'core'));
    expect(offending.map(show)).toEqual([]);
  });

  it('src/engine imports only core, its own files, the store interface and node:crypto', () => {
    const storeInterface = new Set(['src/store/store.ts', 'src/store/records.ts']);
    const allowed = (i: Import): boolean =>
      i.specifier === 'node:crypto' ||
      inside(i.target, 'core') ||
      inside(i.target, 'engine') ||
      (i.target !== null && storeInterface.has(i.target)) ||
      (i.typeOnly && inside(i.target, 'store'));
    const offending = importsFrom('engine').filter((i) => !allowed(i));
    expect(offending.map(show)).toEqual([]);
  });

  it('src/server imports src/store only as types', () => {
    const offending = importsFrom('server').filter((i) => inside(i.target, 'store') && !i.typeOnly);
    expect(offending.map(show)).toEqual([]);
  });

  it('src/store imports neither src/engine nor src/server', () => {
    const offending = importsFrom('store').filter((i) => inside(i.target, 'engine') || inside(i.target, 'server'));
    expect(offending.map(show)).toEqual([]);
  });
});
