import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of src/, stated as a test (README "Layers"): imports only run
 * down config → core → modules → process → cli, and no two folders import
 * each other, directly or round a longer circle. Type-only imports count too:
 * a type is a dependency a reader has to follow.
 */

const SRC = resolve(__dirname, '../../src');

/** Layer of each folder (or top-level file), lowest first; a folder not listed here fails the test. */
const LAYERS: Array<[layer: string, units: string[]]> = [
  ['config', ['config']],
  ['core', ['http', 'api', 'store', 'module.ts']],
  ['modules', ['http/modules', 'proxy', 'metric', 'status', 'prometheus', 'limit', 'console', 'throttle', 'fleet']],
  ['process', ['process', 'modules.ts']],
  ['cli', ['cli.ts']],
];

/** The unit (folder) a file belongs to: the longest listed folder holding it, else the top-level file. */
function unitOf(file: string): string {
  const rel = relative(SRC, file).split('\\').join('/');
  const units = LAYERS.flatMap(([, u]) => u).sort((a, b) => b.length - a.length);
  const found = units.find((u) => rel === u || rel.startsWith(`${u}/`));
  if (found === undefined) throw new Error(`src/${rel} is in no layer: add its folder to LAYERS`);
  return found;
}

function layerOf(unit: string): number {
  return LAYERS.findIndex(([, units]) => units.includes(unit));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers of every import/export-from/import() in the text. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)'(\.{1,2}\/[^']*)'/g;
  for (const m of text.matchAll(pattern)) found.push(m[1]);
  return found;
}

interface Edge { from: string; to: string; fromUnit: string; toUnit: string }

function edges(): Edge[] {
  return sourceFiles(SRC).flatMap((file) =>
    importsOf(readFileSync(file, 'utf8')).map((spec) => {
      const target = resolve(dirname(file), spec);
      return {
        from: relative(SRC, file),
        to: relative(SRC, target),
        fromUnit: unitOf(file),
        toUnit: unitOf(target.endsWith('.ts') ? target : `${target}.ts`),
      };
    }),
  );
}

/**
 * The folders caught in an import circle, one group per circle (Tarjan's
 * strongly connected components of the folder graph), each with the
 * file-level imports that hold it together.
 */
function folderCycles(all: Edge[]): string[] {
  const next = new Map<string, Set<string>>();
  for (const e of all) {
    if (e.fromUnit === e.toUnit) continue;
    if (!next.has(e.fromUnit)) next.set(e.fromUnit, new Set());
    next.get(e.fromUnit)!.add(e.toUnit);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const groups: string[][] = [];
  const visit = (unit: string): void => {
    index.set(unit, index.size);
    low.set(unit, index.get(unit)!);
    stack.push(unit);
    for (const to of next.get(unit) ?? []) {
      if (!index.has(to)) visit(to);
      if (stack.includes(to)) low.set(unit, Math.min(low.get(unit)!, low.get(to)!));
    }
    if (low.get(unit) !== index.get(unit)) return;
    const group = stack.splice(stack.indexOf(unit));
    if (group.length > 1) groups.push(group.sort());
  };
  for (const unit of next.keys()) if (!index.has(unit)) visit(unit);
  return groups.map((g) => {
    const inner = all.filter((e) => e.fromUnit !== e.toUnit && g.includes(e.fromUnit) && g.includes(e.toUnit));
    return `${g.join(' ↔ ')}: ${inner.map((e) => `${e.from} → ${e.to}`).join(', ')}`;
  });
}

describe('src/ layers', () => {
  const all = edges();

  it('finds the imports it checks', () => {
    expect(all.length).toBeGreaterThan(100);
  });

  it('has no import circle between folders', () => {
    expect(folderCycles(all)).toEqual([]);
  });

  it('imports only run down the layers (config → core → modules → process → cli)', () => {
    const upward = all
      .filter((e) => layerOf(e.toUnit) > layerOf(e.fromUnit))
      .map((e) => `${e.from} → ${e.to}`);
    expect(upward).toEqual([]);
  });
});
