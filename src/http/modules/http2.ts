import { ConfigError } from '../../config/errors';
import { ConfSlot, type DirectiveSpec, type Scope } from '../../config/registry';
import { flagArg, parseCount } from '../../config/values';
import type { Module } from '../module';
import type { Builder } from '../builder';
import { HTTP2_DEFAULTS, type Http2Settings } from '../conf';

/**
 * HTTP/2 (nginx's ngx_http_v2_module, 1.25 spelling and 1.22's): `http2
 * on;` per server, `listen … ssl http2` per address, and the stream limit.
 * The timeouts and header limits nginx 1.19.7 made obsolete load with
 * nginx's warning and defer to the HTTP/1 directives, as there.
 */

const NAME = 'http2';

const SLOT = new ConfSlot<Http2Settings, Partial<Http2Settings>>(NAME);

/** nginx 1.19.7's replacements for the HTTP/2-only directives it made obsolete. */
const OBSOLETE: Record<string, string> = {
  http2_recv_timeout: 'client_header_timeout',
  http2_idle_timeout: 'keepalive_timeout',
  http2_max_requests: 'keepalive_requests',
  http2_max_field_size: 'large_client_header_buffers',
  http2_max_header_size: 'large_client_header_buffers',
};

function levelConf(scope: Scope): Partial<Http2Settings> {
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

function mergeHttp2(parent: unknown, child: unknown): Http2Settings {
  const p = (parent as Http2Settings | undefined) ?? HTTP2_DEFAULTS;
  const c = (child as Partial<Http2Settings> | undefined) ?? {};
  return { enabled: c.enabled ?? p.enabled, maxConcurrentStreams: c.maxConcurrentStreams ?? p.maxConcurrentStreams };
}

/** Each server's merged settings onto it (the listeners read them); `listen … http2` without `ssl` warns. */
function postconfiguration(b: Builder): void {
  for (const server of b.servers) {
    server.http2 = SLOT.of(server.root.conf) ?? HTTP2_DEFAULTS;
    // h2c (HTTP/2 by prior knowledge, without TLS) is not spoken.
    for (const l of server.listens) {
      if (l.http2 === true && l.ssl !== true) {
        b.warnings.push({ message: 'HTTP/2 without "ssl" (h2c) is not supported, the address serves HTTP/1.x only', file: l.file, line: l.line });
      }
    }
  }
}

export function http2Module(b: Builder): Module {
  return { name: NAME, directives: http2Directives(b), merge: mergeHttp2, postconfiguration };
}
