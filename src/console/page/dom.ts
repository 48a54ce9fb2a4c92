/** Small DOM and number-formatting helpers shared by the views. */

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A plain JSON object (a status tree branch), or undefined. */
export type Tree = { [key: string]: unknown };

export function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function branch(v: unknown, ...path: string[]): Tree | undefined {
  let cur: unknown = v;
  for (const p of path) cur = isTree(cur) ? cur[p] : undefined;
  return isTree(cur) ? cur : undefined;
}

export function num(n: number | undefined, digits = 2): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(digits)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(digits)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${d > 0 ? `${d}d ` : ''}${h}h ${m}m ${s % 60}s`;
}

/** Leaves of a branch as dotted names ("requests.total"), for generic tables. */
export function flatten(v: unknown, prefix = '', out: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (!isTree(v)) {
    out.set(prefix, v);
    return out;
  }
  for (const [k, sub] of Object.entries(v)) flatten(sub, prefix === '' ? k : `${prefix}.${k}`, out);
  return out;
}
