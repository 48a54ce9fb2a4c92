import { isTree, Tree } from './dom.js';

/** What an object of numbers is, told by its keys: a histogram ("0.1".."inf"), quantiles ("0.5", "0.99"), or named fields. */
export type Shape = 'histogram' | 'quantiles' | 'fields';

const NUMERIC_KEY = /^(\d+(\.\d+)?([eE][-+]?\d+)?|\+?inf|\+Inf)$/i;

export function shapeOf(v: Tree): Shape {
  const keys = Object.keys(v);
  if (keys.length === 0 || !keys.every((k) => NUMERIC_KEY.test(k) && typeof v[k] === 'number')) return 'fields';
  const bounded = keys.every((k) => Number(k) > 0 && Number(k) < 1);
  return bounded ? 'quantiles' : 'histogram';
}

/** A quantile key as a p-line name: "0.5" → "p50", "0.999" → "p99.9". */
export function pName(q: string): string {
  return `p${Number((Number(q) * 100).toPrecision(6))}`;
}

/** Bucket or quantile keys in numeric order ("inf" last): JSON objects list integer-like keys ("1") first. */
export function numericKeys(v: Tree): string[] {
  const n = (k: string): number => (/inf/i.test(k) ? Infinity : Number(k));
  return Object.keys(v).sort((a, b) => n(a) - n(b));
}

/** One number column of a metric zone's table. */
export interface Column {
  name: string;
  get(value: unknown): number | undefined;
}

function asNumber(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** Columns of one value part (the whole value or one field of a complex zone). */
function partColumns(label: string, sample: unknown, pick: (v: unknown) => unknown): Column[] {
  if (!isTree(sample)) return [{ name: label || 'value', get: (v) => asNumber(pick(v)) }];
  const shape = shapeOf(sample);
  const prefix = label ? `${label} ` : '';
  if (shape === 'quantiles') {
    return numericKeys(sample).map((q) => ({ name: `${prefix}${pName(q)}`, get: (v) => asNumber(branchOf(pick(v))?.[q]) }));
  }
  if (shape === 'histogram') {
    const keys = numericKeys(sample);
    const last = keys[keys.length - 1];
    return [{ name: `${prefix}count`, get: (v) => asNumber(branchOf(pick(v))?.[last]) }];
  }
  return [];
}

function branchOf(v: unknown): Tree | undefined {
  return isTree(v) ? v : undefined;
}

/** The table columns for a zone, from one sample value: complex zones get a column (or p-columns) per field. */
export function columnsFor(sample: unknown): Column[] {
  if (isTree(sample) && shapeOf(sample) === 'fields') {
    return Object.entries(sample).flatMap(([field, sub]) => partColumns(field, sub, (v) => branchOf(v)?.[field]));
  }
  return partColumns('', sample, (v) => v);
}

/**
 * The charts of a value: each histogram and quantile set (with its field
 * name, '' for the whole value), then the plain numbers together as lines.
 */
export function chartParts(value: unknown): Array<{ field: string; shape: Shape; keys: string[] }> {
  if (!isTree(value)) return [{ field: '', shape: 'fields', keys: [''] }];
  const shape = shapeOf(value);
  if (shape !== 'fields') return [{ field: '', shape, keys: numericKeys(value) }];
  const parts = Object.entries(value).flatMap(([field, sub]) =>
    isTree(sub) && shapeOf(sub) !== 'fields' ? [{ field, shape: shapeOf(sub), keys: numericKeys(sub) }] : [],
  );
  const plain = Object.keys(value).filter((k) => typeof value[k] === 'number');
  return plain.length > 0 ? [...parts, { field: '', shape: 'fields', keys: plain }] : parts;
}
