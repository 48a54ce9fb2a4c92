import * as path from 'node:path';
import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import { ConfSlot, DirectiveSpec, Registry, Scope } from '../config/registry';
import { parseCount, parseTime } from '../config/values';
import type { Builder } from '../http/builder';
import { LocationConf } from '../http/conf';
import { ComplexValue } from '../http/variables';
import type { Module } from '../http/module';
import { ProxyLevelConf, ProxyLocConf, mergeProxyConf, parseNextUpstream } from './conf';
import type { HeaderSetting } from './headers';
import { proxyPassHandler } from './pass';
import { PeerPools } from './pools';
import { PassUrl, parsePassUrl } from './target';
import { checkBackups } from './balancer-directives';
import { upstreamDirectives, UpstreamDecl } from './upstream-block';
import { unusedSlabView } from '../store/slabs';
import { Upstream, formatAddr, isUnix } from './upstream';
import { defineProxyVariables } from './variables';
import { bindUpstreamTls, upstreamSslDirectives, type UpstreamSslConf, type UpstreamTls } from './upstream-tls';

const NAME = 'proxy';

const REGEX_URI_PART =
  '"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block';

/** nginx's implicit peer for a literal proxy_pass address: weight 1, max_fails 1, fail_timeout 10s. */
const IMPLICIT_PEER = { weight: 1, maxFails: 1, failTimeoutMs: 10_000, backup: false, down: false };

interface PassDecl {
  loc: LocationConf;
  url: PassUrl;
  file: string;
  line: number;
}

/** Load-wide proxy state: upstream blocks as declared, proxy_pass locations to bind. */
export class ProxyState {
  readonly upstreams = new Map<string, Upstream>();
  readonly implicit = new Map<string, Upstream>();
  readonly passes: PassDecl[] = [];
  /** This load's upstream connections (the status API counts their idle ones). */
  readonly pools = new PeerPools();

  /** An `upstream` block by name (case-insensitive, as nginx), else an implicit one-peer upstream. */
  resolve(pass: PassDecl): Upstream {
    const { url } = pass;
    const named = this.upstreams.get(url.host.toLowerCase());
    if (named !== undefined) {
      if (url.port !== undefined) throw new ConfigError(`upstream "${named.name}" may not have port ${url.port}`, pass.file, pass.line);
      return named;
    }
    const port = isUnix(url.host) ? 0 : (url.port ?? (url.tls ? 443 : 80));
    const addr = formatAddr(url.host, port);
    let up = this.implicit.get(addr);
    if (up === undefined) {
      up = new Upstream(addr, [{ server: addr, host: url.host, port, ...IMPLICIT_PEER }], { implicit: true });
      this.implicit.set(addr, up);
    }
    return up;
  }
}

/** The upstream blocks of a load, for the status API (`/status/http/upstreams`). */
export function proxyState(b: Builder): ProxyState {
  return b.moduleState(NAME, () => new ProxyState());
}

const SLOT = new ConfSlot<ProxyLocConf, ProxyLevelConf>(NAME);

function levelConf(scope: Scope): ProxyLevelConf {
  return SLOT.at(scope, () => ({}));
}

function timeSlot(field: 'connectTimeoutMs' | 'readTimeoutMs' | 'sendTimeoutMs') {
  return (d: Directive, scope: Scope): void => {
    const ms = parseTime(d.args[0]);
    if (ms === undefined) throw new ConfigError(`"${d.name}" directive invalid value`);
    levelConf(scope)[field] = ms;
  };
}

function declareUpstream(d: Directive, scope: Scope, state: ProxyState, inner: Registry, outer: Registry): void {
  const name = d.args[0];
  if (state.upstreams.has(name.toLowerCase())) throw new ConfigError(`duplicate upstream "${name}"`);
  const decl: UpstreamDecl = { name, servers: [] };
  const upstreamScope = new Scope('upstream', scope, decl);
  for (const x of d.block ?? []) {
    // A directive of another context reads as misplaced, as nginx reports it, not as unknown.
    if (!inner.has(x.name) && outer.has(x.name)) throw new ConfigError(`"${x.name}" directive is not allowed here`, x.file, x.line);
    inner.walk([x], upstreamScope);
  }
  // As in Angie, an upstream with a shared memory zone may start with no server.
  if (decl.servers.length === 0 && decl.zone === undefined) throw new ConfigError('no servers are inside upstream');
  checkBackups(decl);
  const { keepalive, zone, balancer, hashKey } = decl;
  state.upstreams.set(name.toLowerCase(), new Upstream(name, decl.servers, { keepalive, zone, balancer, hashKey }));
}

function declarePass(d: Directive, scope: Scope, state: ProxyState): void {
  const loc = scope.owner;
  if (!(loc instanceof LocationConf)) throw new Error('proxy_pass outside a location scope');
  const url = parsePassUrl(d.args[0]);
  const byRegexOrName = loc.modifier === '~' || loc.modifier === '~*' || loc.modifier === '@';
  if (url.uri !== undefined && byRegexOrName) throw new ConfigError(REGEX_URI_PART);
  state.passes.push({ loc, url, file: d.file, line: d.line });
}

/**
 * proxy_pass and the upstream block. `upstream { }` is read by its own
 * small registry: its `server` is another directive than http's `server`,
 * and the shared registry keys directives by name alone.
 */
export function proxyModule(b: Builder): Module {
  const state = proxyState(b);
  const inner = new Registry();
  const zones = b.slabs;
  const declareZone = (name: string, size: number) => zones.declare(name, 'upstream', size, unusedSlabView);
  for (const spec of upstreamDirectives(b.warnings, b.variables, declareZone)) inner.add(spec);
  // nginx's default `proxy_set_header Host $proxy_host;` ($proxy_host is defined in preconfiguration).
  const defaultHost: HeaderSetting = { name: 'Host', lname: 'host', value: ComplexValue.compile('$proxy_host', b.variables, 'default', 0) };
  const directives: DirectiveSpec[] = [
    { name: 'upstream', contexts: ['http'], args: '1', block: 'raw', set: (d, scope) => declareUpstream(d, scope, state, inner, b.registry) },
    { name: 'proxy_pass', contexts: ['location'], args: '1', unique: true, set: (d, scope) => declarePass(d, scope, state) },
    {
      name: 'proxy_set_header', contexts: ['http', 'server', 'location'], args: '2',
      set: (d, scope) => {
        const value = ComplexValue.compile(d.args[1], b.variables, d.file, d.line);
        (levelConf(scope).headers ??= []).push({ name: d.args[0], lname: d.args[0].toLowerCase(), value });
      },
    },
    { name: 'proxy_connect_timeout', contexts: ['http', 'server', 'location'], args: '1', unique: true, set: timeSlot('connectTimeoutMs') },
    { name: 'proxy_read_timeout', contexts: ['http', 'server', 'location'], args: '1', unique: true, set: timeSlot('readTimeoutMs') },
    { name: 'proxy_send_timeout', contexts: ['http', 'server', 'location'], args: '1', unique: true, set: timeSlot('sendTimeoutMs') },
    {
      name: 'proxy_next_upstream', contexts: ['http', 'server', 'location'], args: '1+', unique: true,
      set: (d, scope) => void (levelConf(scope).nextUpstream = parseNextUpstream(d.args)),
    },
    {
      name: 'proxy_next_upstream_tries', contexts: ['http', 'server', 'location'], args: '1', unique: true,
      set: (d, scope) => {
        const n = parseCount(d.args[0]);
        if (n === undefined) throw new ConfigError(`"${d.name}" directive invalid value`);
        levelConf(scope).nextUpstreamTries = n;
      },
    },
    ...upstreamSslDirectives((scope) => (levelConf(scope).ssl ??= {})),
  ];
  return {
    name: NAME,
    directives,
    preconfiguration: (bb) => defineProxyVariables(bb.variables),
    merge: (parent, child) => mergeProxyConf(parent as ProxyLocConf | undefined, child as ProxyLevelConf | undefined, defaultHost),
    postconfiguration(bb) {
      const pools = state.pools;
      const tlsBindings = new Map<UpstreamSslConf, Map<string, UpstreamTls>>();
      const confDir = path.dirname(bb.confFile);
      for (const pass of state.passes) {
        const upstream = state.resolve(pass);
        const conf = SLOT.get(pass.loc.conf);
        const tls = pass.url.tls ? bindUpstreamTls(conf.ssl, pass.url.host, confDir, tlsBindings, pass) : undefined;
        pass.loc.content = proxyPassHandler({ url: pass.url, upstream, conf, locationPrefix: pass.loc.name, pools, tls });
      }
    },
    exitWorker: () => state.pools.close(),
  };
}
