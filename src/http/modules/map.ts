import { ConfigError } from '../../config/errors';
import type { Directive } from '../../config/parser';
import type { Module } from '../module';
import type { Builder } from '../builder';
import type { HttpContext } from '../context';
import { compileRegex } from '../../config/regex';
import { ComplexValue, defineNamedCaptures } from '../variables';
import { toBytes } from '../../config/bytes';

/** A compiled `map` block: nginx's lookup tables, built once at load. */
interface MapTable {
  exact: Map<string, ComplexValue>;
  /** `*.example.com` / `.example.com`, longest suffix first. */
  headWild: Array<{ suffix: string; value: ComplexValue }>;
  /** `www.example.*`, longest prefix first. */
  tailWild: Array<{ prefix: string; value: ComplexValue }>;
  regexes: Array<{ re: RegExp; value: ComplexValue }>;
  fallback: ComplexValue | undefined;
  hostnames: boolean;
}

/** Per-request cache of non-volatile map results, keyed by the map's table. */
const kCache = 'map';

function cacheOf(r: HttpContext): Map<MapTable, string> {
  let c = r.moduleCtx[kCache] as Map<MapTable, string> | undefined;
  if (c === undefined) r.moduleCtx[kCache] = c = new Map();
  return c;
}

/**
 * nginx's order: exact key (case-insensitive), then with `hostnames` the
 * longest leading and then trailing wildcard, then the regexes in file
 * order (a match sets $1.. for the value), then `default` (empty if none).
 */
function lookup(t: MapTable, r: HttpContext, source: string): string {
  let key = source;
  if (t.hostnames && key.endsWith('.')) key = key.slice(0, -1);
  const low = key.toLowerCase();
  const exact = t.exact.get(low);
  if (exact !== undefined) return exact.eval(r);
  for (const w of t.headWild) if (low.endsWith(w.suffix)) return w.value.eval(r);
  for (const w of t.tailWild) if (low.startsWith(w.prefix)) return w.value.eval(r);
  for (const x of t.regexes) {
    const m = x.re.exec(key);
    if (m === null) continue;
    r.captures = Array.from(m, (s) => s ?? '');
    r.namedCaptures = m.groups ? { ...m.groups } : null;
    return x.value.eval(r);
  }
  return t.fallback?.eval(r) ?? '';
}

/** Files one `key value;` row; `\` escapes a key that would read as a keyword. */
function addRow(t: MapTable, e: Directive, b: Builder, seen: Set<string>): void {
  const value = ComplexValue.compile(e.args[0], b.variables, e.file, e.line);
  if (e.name === 'default') {
    if (t.fallback !== undefined) throw new ConfigError('duplicate default map parameter', e.file, e.line);
    t.fallback = value;
    return;
  }
  if (e.name.startsWith('~')) {
    const caseless = e.name.startsWith('~*');
    const re = compileRegex(e.name.slice(caseless ? 2 : 1), caseless);
    defineNamedCaptures(re, b.variables);
    t.regexes.push({ re, value });
    return;
  }
  const raw = toBytes(e.name.startsWith('\\') ? e.name.slice(1) : e.name).toLowerCase();
  if (seen.has(raw)) throw new ConfigError(`conflicting parameter "${raw}"`, e.file, e.line);
  seen.add(raw);
  if (t.hostnames && addWildcard(t, raw, value, e)) return;
  t.exact.set(raw, value);
}

/** `hostnames` keys: `.a.b` (name and subdomains), `*.a.b`, `a.b.*`. Returns false for a plain name. */
function addWildcard(t: MapTable, key: string, value: ComplexValue, e: Directive): boolean {
  const star = key.indexOf('*');
  if (key.startsWith('*.') && star === 0 && key.indexOf('*', 1) < 0) {
    t.headWild.push({ suffix: key.slice(1), value });
  } else if (key.startsWith('.') && star < 0 && key.length > 1) {
    t.headWild.push({ suffix: key, value });
    if (!t.exact.has(key.slice(1))) t.exact.set(key.slice(1), value);
  } else if (key.endsWith('.*') && star === key.length - 1) {
    t.tailWild.push({ prefix: key.slice(0, -1), value });
  } else if (star >= 0) {
    throw new ConfigError(`invalid hostname or wildcard "${e.name}"`, e.file, e.line);
  } else {
    return false;
  }
  t.headWild.sort((a, b) => b.suffix.length - a.suffix.length);
  t.tailWild.sort((a, b) => b.prefix.length - a.prefix.length);
  return true;
}

function compileMap(d: Directive, b: Builder): void {
  const [src, dst] = d.args;
  if (!dst.startsWith('$') || dst.length < 2) throw new ConfigError(`invalid variable name "${dst}"`);
  const source = ComplexValue.compile(src, b.variables, d.file, d.line);
  const t: MapTable = { exact: new Map(), headWild: [], tailWild: [], regexes: [], fallback: undefined, hostnames: false };
  let volatile = false;
  const block = d.block ?? [];
  // `hostnames` changes how every key reads, wherever it stands in the block (as in nginx).
  t.hostnames = block.some((e) => e.name === 'hostnames' && e.args.length === 0);
  const seen = new Set<string>();
  for (const e of block) {
    if (e.block !== undefined) throw new ConfigError('unexpected "{"', e.file, e.line);
    if (e.args.length === 0 && (e.name === 'hostnames' || e.name === 'volatile')) {
      volatile ||= e.name === 'volatile';
      continue;
    }
    if (e.args.length !== 1) throw new ConfigError('invalid number of the map parameters', e.file, e.line);
    try {
      addRow(t, e, b, seen);
    } catch (err) {
      throw err instanceof ConfigError ? err.at(e.file, e.line) : err;
    }
  }
  defineResult(b, dst.slice(1), (r) => lookup(t, r, source.eval(r)), volatile ? undefined : t);
}

/** The result variable: computed when first read, then cached for the request unless `volatile`. */
function defineResult(b: Builder, name: string, compute: (r: HttpContext) => string, cacheKey: MapTable | undefined): void {
  const existing = b.variables.lookup(name);
  if (existing !== undefined) throw new ConfigError(`the duplicate "${name}" variable`);
  if (cacheKey === undefined) {
    b.variables.define(name, compute);
    return;
  }
  b.variables.define(name, (r) => {
    const cache = cacheOf(r);
    let v = cache.get(cacheKey);
    if (v === undefined) cache.set(cacheKey, (v = compute(r)));
    return v;
  });
}

/** `map $source $result { ... }` (http): nginx's ngx_http_map_module. */
export function mapModule(b: Builder): Module {
  return {
    name: 'map',
    directives: [{ name: 'map', contexts: ['http'], args: '2', block: 'raw', set: (d) => compileMap(d, b) }],
  };
}
