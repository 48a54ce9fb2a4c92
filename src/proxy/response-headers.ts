import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import { ConfSlot, type Scope } from '../config/registry';
import type { Builder } from '../http/builder';
import type { LocationConf } from '../http/conf';
import type { HttpContext, OutHeaders } from '../http/context';
import { compileRegex } from '../config/regex';
import { absoluteLocation } from '../http/answer';
import { ComplexValue } from '../http/variables';
import type { Module } from '../http/module';
import { proxyState } from './module';
import type { PassUrl } from './target';
import { isUnix } from './upstream';

/** One `proxy_redirect` rule: a prefix (text with variables) or a regex, and its replacement. */
type Rule = { match: ComplexValue; re?: undefined; to: ComplexValue } | { re: RegExp; match?: undefined; to: ComplexValue };

interface Level {
  /** `default` stands for the rule the location's proxy_pass implies. */
  redirects?: Array<Rule | 'default'> | 'off';
  hide?: string[];
  pass?: string[];
}

/** What the filter needs per location: its rules (defaults resolved), and the header lists. */
interface Effective {
  redirects: Rule[];
  hide: string[];
  pass: string[];
}

/** Upstream headers nginx hides unless proxy_pass_header names them. */
const PASSABLE = new Set(['date', 'server', 'x-pad']);

const SLOT = new ConfSlot<Level>('proxy_headers');

function levelOf(scope: Scope): Level {
  return SLOT.at(scope, () => ({}));
}

function compileRule(d: Directive, b: Builder): Rule | 'default' | 'off' {
  const [from, to] = d.args;
  if (d.args.length === 1) {
    if (from === 'default') return 'default';
    if (from === 'off') return 'off';
    throw new ConfigError(`invalid parameter "${from}"`);
  }
  const replacement = ComplexValue.compile(to, b.variables, d.file, d.line);
  if (from.startsWith('~')) {
    const caseless = from.startsWith('~*');
    return { re: compileRegex(from.slice(caseless ? 2 : 1), caseless), to: replacement };
  }
  return { match: ComplexValue.compile(from, b.variables, d.file, d.line), to: replacement };
}

function addRedirect(d: Directive, scope: Scope, b: Builder): void {
  const level = levelOf(scope);
  const rule = compileRule(d, b);
  if (rule === 'off') {
    if (level.redirects !== undefined && level.redirects !== 'off') throw new ConfigError('invalid parameter "off"');
    level.redirects = 'off';
    return;
  }
  if (level.redirects === 'off') throw new ConfigError(`invalid parameter "${d.args[0]}"`);
  level.redirects = [...(level.redirects ?? []), rule];
}

/** nginx's `proxy_redirect default`: the proxy_pass URL becomes the location's name (`/` without a URI part). */
function defaultRule(url: PassUrl, loc: LocationConf, b: Builder): Rule | undefined {
  if (isUnix(url.host) || loc.regex !== undefined || loc.modifier === '@') return undefined;
  const host = url.host.includes(':') ? `[${url.host}]` : url.host;
  const base = `http://${host}${url.port !== undefined ? `:${url.port}` : ''}`;
  // proxy_pass takes no variables, so its URL is plain text.
  const literal = (t: string) => ComplexValue.compile(t, b.variables, 'default', 0);
  return url.uri !== undefined ? { match: literal(base + url.uri), to: literal(loc.name) } : { match: literal(`${base}/`), to: literal('/') };
}

/**
 * The first rule that matches rewrites the value: a text rule its prefix,
 * a regex rule all of it. Undefined when none matched.
 */
function rewriteRedirect(r: HttpContext, rules: readonly Rule[], value: string): string | undefined {
  for (const rule of rules) {
    if (rule.re !== undefined) {
      const m = rule.re.exec(value);
      if (m === null) continue;
      r.captures = Array.from(m, (s) => s ?? '');
      return rule.to.eval(r);
    }
    const prefix = rule.match.eval(r);
    if (value.startsWith(prefix)) return rule.to.eval(r) + value.slice(prefix.length);
  }
  return undefined;
}

function rewriteRefresh(r: HttpContext, rules: readonly Rule[], value: string): string {
  const at = value.toLowerCase().indexOf('url=');
  if (at < 0) return value;
  const url = rewriteRedirect(r, rules, value.slice(at + 4));
  return url === undefined ? value : value.slice(0, at + 4) + url;
}

function filter(effective: Map<LocationConf, Effective>) {
  return (r: HttpContext, headers: OutHeaders): void => {
    const upstream = r.upstreamHeaders;
    if (upstream === null) return;
    let loc: LocationConf | undefined = r.loc;
    while (loc !== undefined && !effective.has(loc)) loc = loc.parent;
    const e = loc === undefined ? undefined : effective.get(loc);
    if (e === undefined) return;
    for (const name of e.hide) delete headers[name];
    for (const name of e.pass) if (upstream[name] !== undefined && headers[name] === undefined) headers[name] = upstream[name]!;
    const location = headers.location;
    // A rewritten Location that became a path is made absolute (absolute_redirect); the upstream's own paths pass as sent.
    const rewritten = typeof location === 'string' ? rewriteRedirect(r, e.redirects, location) : undefined;
    if (rewritten !== undefined) headers.location = absoluteLocation(r, rewritten);
    const refresh = headers.refresh;
    if (typeof refresh === 'string') headers.refresh = rewriteRefresh(r, e.redirects, refresh);
  };
}

/**
 * `proxy_redirect default|off|FROM TO` (Location and Refresh of proxied
 * answers; `default` unless told otherwise), `proxy_hide_header NAME`,
 * `proxy_pass_header NAME` (Date, Server, X-Pad, X-Accel-*).
 */
export function proxyHeadersModule(b: Builder): Module {
  const levels = ['http', 'server', 'location'] as const;
  const lower = (d: Directive) => d.args[0].toLowerCase();
  return {
    name: 'proxy_headers',
    directives: [
      { name: 'proxy_redirect', contexts: levels, args: '1..2', set: (d, scope) => addRedirect(d, scope, b) },
      { name: 'proxy_hide_header', contexts: levels, args: '1', set: (d, scope) => void (levelOf(scope).hide ??= []).push(lower(d)) },
      {
        name: 'proxy_pass_header', contexts: levels, args: '1',
        set: (d, scope) => {
          if (!PASSABLE.has(lower(d)) && !lower(d).startsWith('x-accel-')) return;
          (levelOf(scope).pass ??= []).push(lower(d));
        },
      },
    ],
    merge: (parent, child): Level => {
      const p = (parent as Level | undefined) ?? {};
      const c = (child as Level | undefined) ?? {};
      return { redirects: c.redirects ?? p.redirects, hide: c.hide ?? p.hide, pass: c.pass ?? p.pass };
    },
    postconfiguration() {
      const effective = new Map<LocationConf, Effective>();
      for (const pass of proxyState(b).passes) {
        const level = SLOT.get(pass.loc.conf);
        const redirects: Rule[] = [];
        for (const rule of level.redirects === 'off' ? [] : (level.redirects ?? ['default'])) {
          const resolved = rule === 'default' ? defaultRule(pass.url, pass.loc, b) : rule;
          if (resolved !== undefined) redirects.push(resolved);
        }
        effective.set(pass.loc, { redirects, hide: level.hide ?? [], pass: level.pass ?? [] });
      }
      b.phases.header.push(filter(effective));
    },
  };
}
