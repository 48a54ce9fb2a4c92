import { ConfigError } from '../../config/errors';
import { ConfSlot, type DirectiveSpec, type Scope } from '../../config/registry';
import { flagArg, parseCount } from '../../config/values';
import type { Module } from '../module';
import type { Builder } from '../builder';
import type { ServerConf } from '../conf';

/**
 * HTTP/2 (nginx's ngx_http_v2_module, 1.25 spelling and 1.22's): `http2
 * on;` per server, `listen … ssl http2` per address, and the stream limit.
 * The timeouts and header limits nginx 1.19.7 made obsolete load with
 * nginx's warning and defer to the HTTP/1 directives, as there.
 */

const NAME = 'http2';

export interface Http2Conf {
  /** `http2 on` (the address may also enable it with `listen … http2`). */
  enabled: boolean;
  /** http2_max_concurrent_streams: streams one connection may have open (nginx's default 128). */
  maxConcurrentStreams: number;
}

const DEFAULTS: Http2Conf = { enabled: false, maxConcurrentStreams: 128 };
const SLOT = new ConfSlot<Http2Conf, Partial<Http2Conf>>(NAME);

/** nginx 1.19.7's replacements for the HTTP/2-only directives it made obsolete. */
const OBSOLETE: Record<string, string> = {
  http2_recv_timeout: 'client_header_timeout',
  http2_idle_timeout: 'keepalive_timeout',
  http2_max_requests: 'keepalive_requests',
  http2_max_field_size: 'large_client_header_buffers',
  http2_max_header_size: 'large_client_header_buffers',
};

function levelConf(scope: Scope): Partial<Http2Conf> {
  return SLOT.at(scope, () => ({}));
}

function http2Directives(b: Builder): DirectiveSpec[] {
  const where = ['http', 'server'] as const;
  const obsolete = Object.entries(OBSOLETE).map(([name, instead]): DirectiveSpec => ({
    name, contexts: where, args: '1',
    set: (d) => void b.warnings.push({ message: `the "${name}" directive is obsolete, use the "${instead}" directive instead`, file: d.file, line: d.line }),
  }));
  return [
    { name: 'http2', contexts: where, args: '1', unique: true, set: (d, scope) => void (levelConf(scope).enabled = flagArg(d.name, d.args[0])) },
    {
      name: 'http2_max_concurrent_streams', contexts: where, args: '1', unique: true,
      set: (d, scope) => {
        const n = parseCount(d.args[0]);
        if (n === undefined || n > 0xffffffff) throw new ConfigError(`"${d.name}" directive invalid number`);
        levelConf(scope).maxConcurrentStreams = n;
      },
    },
    ...obsolete,
  ];
}

function mergeHttp2(parent: unknown, child: unknown): Http2Conf {
  const p = (parent as Http2Conf | undefined) ?? DEFAULTS;
  const c = (child as Partial<Http2Conf> | undefined) ?? {};
  return { enabled: c.enabled ?? p.enabled, maxConcurrentStreams: c.maxConcurrentStreams ?? p.maxConcurrentStreams };
}

/** The server's HTTP/2 settings (merged down from http). */
export function http2Of(server: ServerConf): Http2Conf {
  return SLOT.of(server.root.conf) ?? DEFAULTS;
}

/** `listen … http2` without `ssl` asks for h2c (prior knowledge), which metricproxy does not speak. */
function warnPlainHttp2(b: Builder): void {
  for (const server of b.servers) {
    for (const l of server.listens) {
      if (l.http2 === true && l.ssl !== true) {
        b.warnings.push({ message: 'HTTP/2 without "ssl" (h2c) is not supported, the address serves HTTP/1.x only', file: l.file, line: l.line });
      }
    }
  }
}

export function http2Module(b: Builder): Module {
  return { name: NAME, directives: http2Directives(b), merge: mergeHttp2, postconfiguration: warnPlainHttp2 };
}
