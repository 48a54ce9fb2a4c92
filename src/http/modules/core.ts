import { ConfigError } from '../../config/errors';
import { compileRegex } from '../../config/regex';
import type { Directive } from '../../config/parser';
import { Scope } from '../../config/registry';
import { parseCount, parseSize, parseTime } from '../../config/values';
import type { Module } from '../module';
import type { Builder } from '../builder';
import { CORE, CORE_DEFAULTS, CoreLocConf, LocationConf, LocationModifier, serverOf, ServerConf } from '../conf';
import { nestedPrefixOk } from '../locations';
import { parseServerName } from '../servers';
import { defineNamedCaptures } from '../variables';
import { toBytes } from '../../config/bytes';

function parseListen(d: Directive, server: ServerConf): void {
  const addr = d.args[0];
  if (addr.startsWith('unix:')) {
    if (addr.length === 'unix:'.length) throw new ConfigError(`no path in the unix domain socket in "${addr}" of the "listen" directive`);
    listenParams(d, server, addr, 0);
    return;
  }
  let host = '';
  let portText = addr;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(addr);
  if (v6) {
    host = v6[1];
    portText = v6[2] ?? '80';
  } else if (addr.includes(':')) {
    const i = addr.lastIndexOf(':');
    host = addr.slice(0, i);
    portText = addr.slice(i + 1);
  } else if (!/^\d+$/.test(addr)) {
    host = addr;
    portText = '80';
  }
  if (host === '*' || host === '0.0.0.0') host = '';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new ConfigError(`invalid port in "${addr}" of the "listen" directive`);
  listenParams(d, server, host, port);
}

/** The parameters after the address: `default_server`; `backlog=N`, `reuseport`, ... accepted (the OS defaults apply). */
function listenParams(d: Directive, server: ServerConf, host: string, port: number): void {
  let defaultServer = false;
  let ssl = false;
  let http2 = false;
  for (const p of d.args.slice(1)) {
    if (p === 'default_server' || p === 'default') defaultServer = true;
    else if (p.startsWith('backlog=') && !/^backlog=-?\d+$/.test(p)) throw new ConfigError(`invalid backlog "${p.slice(8)}"`);
    else if (p === 'ssl') ssl = true;
    else if (p === 'http2') http2 = true;
    else if (p === 'reuseport' || p.startsWith('backlog=') || p === 'deferred' || p.startsWith('so_keepalive=')) continue;
    else throw new ConfigError(`invalid parameter "${p}"`);
  }
  server.listens.push({ host, port, defaultServer, ssl, http2, file: d.file, line: d.line });
}

function parseLocation(d: Directive): { modifier: LocationModifier; name: string } {
  const a = d.args;
  if (a.length === 2) {
    const m = a[0];
    if (m !== '=' && m !== '~' && m !== '~*' && m !== '^~') throw new ConfigError(`invalid location modifier "${m}"`);
    return { modifier: m, name: a[1] };
  }
  const only = a[0];
  if (only.startsWith('@')) return { modifier: '@', name: only };
  for (const m of ['^~', '~*', '=', '~'] as const) {
    if (only.startsWith(m) && only.length > m.length) return { modifier: m, name: only.slice(m.length) };
  }
  return { modifier: '', name: only };
}

function addLocation(d: Directive, scope: Scope, b: Builder): Scope {
  const { modifier, name } = parseLocation(d);
  const server = serverOf(scope);
  const parent = scope.owner instanceof LocationConf ? scope.owner : undefined;
  if (parent !== undefined) {
    if (parent.modifier === '=') throw new ConfigError(`location "${name}" cannot be inside the exact location "${parent.name}"`);
    if (parent.modifier === 'if') throw new ConfigError('"location" directive is not allowed here');
    if (parent.modifier === '@') throw new ConfigError(`location "${name}" cannot be inside the named location "${parent.name}"`);
    if (modifier === '@') throw new ConfigError(`named location "${name}" can be on the server level only`);
    if ((modifier === '' || modifier === '^~' || modifier === '=') && !nestedPrefixOk(parent, name)) {
      throw new ConfigError(`location "${name}" is outside location "${parent.name}"`);
    }
  }
  const child = new Scope('location', scope);
  const loc = new LocationConf(modifier === '~' || modifier === '~*' ? name : toBytes(name), modifier, child, server, parent, d.file, d.line);
  child.owner = loc;
  if (modifier === '~' || modifier === '~*') {
    loc.regex = compileRegex(name, modifier === '~*');
    defineNamedCaptures(loc.regex, b.variables);
  }
  if (modifier === '@') {
    if (server.named.has(name)) throw new ConfigError(`duplicate location "${name}"`);
    server.named.set(name, loc);
    return child;
  }
  const siblings = parent ? parent.children : server.locations;
  if (modifier !== '~' && modifier !== '~*' && siblings.some((s) => s.name === loc.name && (s.modifier === '=') === (modifier === '='))) {
    throw new ConfigError(`duplicate location "${name}"`);
  }
  siblings.push(loc);
  return child;
}

function sizeSlot(field: 'clientMaxBodySize') {
  return (d: Directive, scope: Scope): void => {
    const v = parseSize(d.args[0]);
    if (v === undefined) throw new ConfigError(`"${d.name}" directive invalid value`);
    CORE.at(scope, () => ({}))[field] = v;
  };
}

/** `large_client_header_buffers NUMBER SIZE`: the head may take NUMBER × SIZE bytes in all. */
function headerBuffers(d: Directive, scope: Scope): void {
  const count = parseCount(d.args[0]);
  const size = parseSize(d.args[1]);
  if (count === undefined || count === 0 || size === undefined || size === 0) throw new ConfigError(`invalid value "${d.args.join(' ')}"`);
  CORE.at(scope, () => ({})).maxHeaderBytes = count * size;
}

/** A time slot of the core conf; 0 is refused where it would mean "no limit" to Node but "at once" to nginx. */
function timeSlot(field: 'keepaliveTimeoutMs' | 'clientHeaderTimeoutMs', allowZero: boolean) {
  return (d: Directive, scope: Scope): void => {
    const v = parseTime(d.args[0]);
    if (v === undefined || (v === 0 && !allowZero)) throw new ConfigError(`"${d.name}" directive invalid value`);
    CORE.at(scope, () => ({}))[field] = v;
  };
}

/** http { server { listen; server_name; location { } } } and the per-location core slots. */
export function coreHttpModule(b: Builder): Module {
  return {
    name: 'core',
    directives: [
      {
        name: 'http', contexts: ['main'], args: '0', block: 'walk', unique: true,
        set: (_d, scope) => (b.httpScope = new Scope('http', scope)),
      },
      {
        name: 'server', contexts: ['http'], args: '0', block: 'walk',
        set: (d, scope) => {
          const child = new Scope('server', scope);
          const server = new ServerConf(child, d.file, d.line);
          server.root = new LocationConf('', '', child, server, undefined, d.file, d.line);
          child.owner = server;
          b.servers.push(server);
          return child;
        },
      },
      { name: 'listen', contexts: ['server'], args: '1+', set: (d, scope) => parseListen(d, serverOf(scope)) },
      {
        name: 'server_name', contexts: ['server'], args: '1+',
        set: (d, scope) => {
          const server = serverOf(scope);
          for (const n of d.args) {
            if (n === '' || n === '_') {
              if (server.primaryName === '') server.primaryName = n;
              continue;
            }
            if (server.primaryName === '') server.primaryName = n.startsWith('.') ? n.slice(1) : n;
            let matches;
            try {
              matches = parseServerName(n);
            } catch (e) {
              throw new ConfigError(`invalid server name or wildcard "${n}": ${(e as Error).message}`);
            }
            for (const m of matches) if (m.kind === 'regex') defineNamedCaptures(m.re, b.variables);
            server.names.push(...matches);
          }
        },
      },
      { name: 'location', contexts: ['server', 'location'], args: '1..2', block: 'walk', set: (d, scope) => addLocation(d, scope, b) },
      { name: 'client_max_body_size', contexts: ['http', 'server', 'location'], args: '1', unique: true, set: sizeSlot('clientMaxBodySize') },
      { name: 'keepalive_timeout', contexts: ['http', 'server', 'location'], args: '1..2', unique: true, set: timeSlot('keepaliveTimeoutMs', true) },
      { name: 'client_header_timeout', contexts: ['http', 'server'], args: '1', unique: true, set: timeSlot('clientHeaderTimeoutMs', false) },
      { name: 'large_client_header_buffers', contexts: ['http', 'server'], args: '2', unique: true, set: headerBuffers },
    ],
    merge(parent: unknown, child: unknown): CoreLocConf {
      const p = (parent as CoreLocConf | undefined) ?? CORE_DEFAULTS;
      const c = (child as Partial<CoreLocConf> | undefined) ?? {};
      return {
        clientMaxBodySize: c.clientMaxBodySize ?? p.clientMaxBodySize,
        keepaliveTimeoutMs: c.keepaliveTimeoutMs ?? p.keepaliveTimeoutMs,
        clientHeaderTimeoutMs: c.clientHeaderTimeoutMs ?? p.clientHeaderTimeoutMs,
        maxHeaderBytes: c.maxHeaderBytes ?? p.maxHeaderBytes,
      };
    },
    postconfiguration(bb: Builder) {
      for (const s of bb.servers) {
        if (s.listens.length === 0) s.listens.push({ host: '', port: 80, defaultServer: false, file: s.file, line: s.line });
        const core = CORE.get(s.root.conf);
        s.keepaliveTimeoutMs = core.keepaliveTimeoutMs;
        s.clientHeaderTimeoutMs = core.clientHeaderTimeoutMs;
        s.maxHeaderBytes = core.maxHeaderBytes;
      }
    },
  };
}
