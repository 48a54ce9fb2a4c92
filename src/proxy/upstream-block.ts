import { ConfigError, ConfigWarning, ignoredDirective } from '../config/errors';
import type { Directive } from '../config/parser';
import type { DirectiveSpec, Scope } from '../config/registry';
import { parseCount, parseSize, parseTime } from '../config/values';
import type { ComplexValue, VariableRegistry } from '../http/variables';
import { balancerDirectives } from './balancer-directives';
import type { BalancerSpec } from './balancers';
import { PeerConf, parseHostPort } from './upstream';

/** An `upstream NAME { }` block as read, before it becomes an Upstream. */
export interface UpstreamDecl {
  name: string;
  /** Each with the place of its `server` line (for the backup check). */
  servers: Array<PeerConf & { file: string; line: number }>;
  balancer?: BalancerSpec;
  hashKey?: ComplexValue;
  keepalive?: number;
  zone?: { name: string; size?: number };
}

function declOf(scope: Scope): UpstreamDecl {
  return scope.owner as UpstreamDecl;
}

/** Applies one `key=value` / flag parameter of `server`; false if it is not one. */
function applyParam(peer: PeerConf, param: string): boolean {
  const eq = param.indexOf('=');
  const key = eq < 0 ? param : param.slice(0, eq);
  const value = eq < 0 ? undefined : param.slice(eq + 1);
  if (value === undefined) {
    if (key !== 'backup' && key !== 'down') return false;
    peer[key] = true;
    return true;
  }
  if (key === 'weight') {
    const n = parseCount(value);
    if (n === undefined || n === 0) return false;
    peer.weight = n;
  } else if (key === 'max_fails') {
    const n = parseCount(value);
    if (n === undefined) return false;
    peer.maxFails = n;
  } else if (key === 'fail_timeout') {
    const ms = parseTime(value);
    if (ms === undefined) return false;
    peer.failTimeoutMs = ms;
  } else return false;
  return true;
}

function parseServer(d: Directive): PeerConf {
  const addr = d.args[0];
  const { host, port } = parseHostPort(addr, `upstream "${addr}"`);
  const peer: PeerConf = { server: addr, host, port, weight: 1, maxFails: 1, failTimeoutMs: 10_000, backup: false, down: false };
  for (const param of d.args.slice(1)) {
    if (!applyParam(peer, param)) throw new ConfigError(`invalid parameter "${param}"`);
  }
  return peer;
}

/**
 * nginx's upstream keep-alive tuning, left to undici here (it closes idle
 * connections after its own keep-alive timeout or the upstream's hint):
 * checked as nginx checks them, then ignored with a [warn].
 */
const IGNORED: ReadonlyArray<{ name: string; parse: (v: string) => number | undefined; invalid: string }> = [
  { name: 'keepalive_timeout', parse: parseTime, invalid: 'invalid value' },
  { name: 'keepalive_time', parse: parseTime, invalid: 'invalid value' },
  { name: 'keepalive_requests', parse: parseCount, invalid: 'invalid number' },
];

/** Angie's least upstream zone: 8 pages (ngx_http_upstream_zone's min_size). */
const MIN_ZONE_BYTES = 8 * 4096;

/**
 * The directives of the upstream context: `server`, `keepalive`, `zone`
 * (each declared through `declareZone`, size 0 when not given), and the
 * ignored ones, whose warnings go to `warnings` (the load's).
 */
export function upstreamDirectives(warnings: ConfigWarning[], variables: VariableRegistry, declareZone: (name: string, size: number) => void): DirectiveSpec[] {
  const ignored = IGNORED.map(({ name, parse, invalid }): DirectiveSpec => ({
    name, contexts: ['upstream'], args: '1', unique: true,
    set: (d) => {
      if (parse(d.args[0]) === undefined) throw new ConfigError(`"${d.name}" directive ${invalid}`);
      warnings.push(ignoredDirective(d));
    },
  }));
  return [
    ...ignored,
    ...balancerDirectives(warnings, variables),
    { name: 'server', contexts: ['upstream'], args: '1+', set: (d, scope) => void declOf(scope).servers.push({ ...parseServer(d), file: d.file, line: d.line }) },
    {
      name: 'keepalive', contexts: ['upstream'], args: '1', unique: true,
      set: (d, scope) => {
        const n = parseCount(d.args[0]);
        if (n === undefined || n === 0) throw new ConfigError(`invalid value "${d.args[0]}" in "keepalive" directive`);
        declOf(scope).keepalive = n;
      },
    },
    {
      name: 'zone', contexts: ['upstream'], args: '1..2', unique: true,
      set: (d, scope) => {
        const size = d.args[1] === undefined ? undefined : parseSize(d.args[1]);
        if (d.args[1] !== undefined && size === undefined) throw new ConfigError(`invalid zone size "${d.args[1]}"`);
        if (size !== undefined && size < MIN_ZONE_BYTES) throw new ConfigError(`zone "${d.args[0]}" is too small, at least ${MIN_ZONE_BYTES} bytes expected`);
        declOf(scope).zone = { name: d.args[0], size };
        declareZone(d.args[0], size ?? 0);
      },
    },
  ];
}
