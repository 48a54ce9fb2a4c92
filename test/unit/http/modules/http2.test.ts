import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/process/load';
import { emerg, errorOf, FILE } from '../../../helpers/config-errors';

/** `http2`, `listen … http2`, http2_max_concurrent_streams and nginx's obsolete http2_* directives. */

const server = (body: string) => `server {\nlisten 127.0.0.1:8443;\n${body}\n}`;

// Each case: http body (from line 2) → the one line nginx prints for it.
const ERRORS: Array<[string, string, string]> = [
  ['http2 flag', 'http2 maybe;', emerg('invalid value "maybe" in "http2" directive, it must be "on" or "off"', 2)],
  ['http2 without a value', 'http2;', emerg('invalid number of arguments in "http2" directive', 2)],
  ['http2 in a location', server('location / { http2 on; }'), emerg('"http2" directive is not allowed here', 4)],
  ['http2 twice', server('http2 on;\nhttp2 off;'), emerg('"http2" directive is duplicate', 5)],
  ['streams not a number', 'http2_max_concurrent_streams many;', emerg('"http2_max_concurrent_streams" directive invalid number', 2)],
  ['streams negative', 'http2_max_concurrent_streams -1;', emerg('"http2_max_concurrent_streams" directive invalid number', 2)],
  ['listen parameter misspelt', 'server {\nlisten 8443 ssl http3;\n}', emerg('invalid parameter "http3"', 3)],
];

/** Loads `http { BODY }` and returns its warnings as `message:line`. */
function warningsOf(http: string): string[] {
  return loadConfig(FILE, { prefix: '/tmp', text: `http {\n${http}\n}\n` }).warnings.map((w) => `${w.message}:${w.line}`);
}

describe('http2 config', () => {
  it.each(ERRORS)('%s', (_name, http, line) => {
    expect(errorOf(http)).toBe(line);
  });

  it('nginx 1.19.7\'s obsolete directives load with its warning', () => {
    expect(warningsOf('http2_idle_timeout 3m;\nhttp2_max_field_size 4k;\nhttp2_recv_timeout 30s;')).toEqual([
      'the "http2_idle_timeout" directive is obsolete, use the "keepalive_timeout" directive instead:2',
      'the "http2_max_field_size" directive is obsolete, use the "large_client_header_buffers" directive instead:3',
      'the "http2_recv_timeout" directive is obsolete, use the "client_header_timeout" directive instead:4',
    ]);
  });

  it('listen … http2 without ssl (h2c) warns: the address serves HTTP/1.x', () => {
    expect(warningsOf('server {\nlisten 127.0.0.1:8080 http2;\n}')).toEqual(['HTTP/2 without "ssl" (h2c) is not supported, the address serves HTTP/1.x only:3']);
  });

  it('http2 and the stream limit inherit from http to server; nginx\'s default is 128 streams', () => {
    const { runtime } = loadConfig(FILE, { prefix: '/tmp', text: `http {\nhttp2 on;\nhttp2_max_concurrent_streams 16;\nserver { listen 8080; }\nserver { listen 8081; http2 off; http2_max_concurrent_streams 0; }\n}\n` });
    expect(runtime.servers.map((s) => s.http2)).toEqual([{ enabled: true, maxConcurrentStreams: 16 }, { enabled: false, maxConcurrentStreams: 0 }]);
    const plain = loadConfig(FILE, { prefix: '/tmp', text: 'http {\nserver { listen 8080; }\n}\n' });
    expect(plain.runtime.servers[0].http2).toEqual({ enabled: false, maxConcurrentStreams: 128 });
  });
});
