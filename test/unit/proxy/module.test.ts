import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors';
import { loadConfig } from '../../../src/process/load';
import { staticHandler } from '../../../src/http/modules/static-files';
import type { ProxyLocConf } from '../../../src/proxy/conf';

const FILE = '/etc/mp/t.conf';

function load(http: string) {
  return loadConfig(FILE, { prefix: '/tmp', text: `http {\n${http}\n}\n` }).runtime;
}

function errorOf(http: string): string {
  try {
    load(http);
  } catch (e) {
    if (e instanceof ConfigError) return e.render();
    throw e;
  }
  throw new Error('config loaded');
}

const emerg = (what: string, line: number) => `metricproxy: [emerg] ${what} in ${FILE}:${line}`;

describe('proxy config errors, in nginx words', () => {
  it('rejects a URI part in regex and named locations', () => {
    const msg =
      '"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block';
    expect(errorOf('server {\nlocation ~ ^/x { proxy_pass http://127.0.0.1:1/y; }\n}')).toBe(emerg(msg, 3));
    expect(errorOf('server {\nlocation @n { proxy_pass http://127.0.0.1:1/; }\n}')).toBe(emerg(msg, 3));
    expect(() => load('server { location ~ ^/x { proxy_pass http://127.0.0.1:1; } }')).not.toThrow();
  });

  it('rejects variables, other schemes and bad addresses', () => {
    expect(errorOf('server { location / { proxy_pass http://$host; } }')).toBe(emerg('variables in "proxy_pass" are not supported', 2));
    expect(errorOf('server { location / { proxy_pass ftp://x; } }')).toBe(emerg('invalid URL prefix in "ftp://x"', 2));
    expect(errorOf('server { location / { proxy_pass http://a:99999; } }')).toBe(emerg('invalid port in upstream "a:99999"', 2));
  });

  it('checks upstream blocks', () => {
    expect(errorOf('upstream u { }')).toBe(emerg('no servers are inside upstream', 2));
    expect(errorOf('upstream u { server a:1; }\nupstream U { server b:1; }')).toBe(emerg('duplicate upstream "U"', 3));
    expect(errorOf('upstream u {\nserver a:1 weight=0;\n}')).toBe(emerg('invalid parameter "weight=0"', 3));
    expect(errorOf('upstream u {\nserver a:1 slow;\n}')).toBe(emerg('invalid parameter "slow"', 3));
    expect(errorOf('upstream u {\nserver a:1;\nkeepalive 0;\n}')).toBe(emerg('invalid value "0" in "keepalive" directive', 4));
    expect(errorOf('upstream u {\nserver a:1;\nlisten 80;\n}')).toBe(emerg('"listen" directive is not allowed here', 4));
    expect(errorOf('upstream u { server a:1; }\nserver { location / {\nproxy_pass http://u:8080; } }')).toBe(emerg('upstream "u" may not have port 8080', 4));
  });

  it('checks proxy_* values', () => {
    expect(errorOf('proxy_next_upstream error bogus;')).toBe(emerg('invalid value "bogus"', 2));
    expect(errorOf('proxy_read_timeout fast;')).toBe(emerg('"proxy_read_timeout" directive invalid value', 2));
    expect(errorOf('server { location / { proxy_pass http://a:1; proxy_pass http://a:2; } }')).toBe(emerg('"proxy_pass" directive is duplicate', 2));
  });
});

describe('proxy config inheritance', () => {
  const rt = load(`
    proxy_set_header X-A a;
    proxy_read_timeout 5s;
    proxy_next_upstream off;
    upstream backend { server 127.0.0.1:1 weight=2 max_fails=3 fail_timeout=30s; server 127.0.0.1:2 backup; keepalive 8; }
    server {
      location /inherits { proxy_pass http://backend; }
      location /own {
        proxy_set_header X-B b;
        proxy_read_timeout 1s;
        proxy_next_upstream error http_502 non_idempotent;
        proxy_pass http://127.0.0.1:3;
      }
      location /sethost { proxy_set_header Host fixed; proxy_pass http://127.0.0.1:3; }
    }`);
  const locs = new Map(rt.servers[0].locations.map((l) => [l.name, l]));
  const conf = (name: string) => locs.get(name)!.conf.proxy as ProxyLocConf;
  const names = (name: string) => conf(name).headers.settings.map((s) => s.name);

  it('takes proxy_set_header lists whole from the nearest level, with Host $proxy_host added', () => {
    expect(names('/inherits')).toEqual(['Host', 'X-A']);
    expect(names('/own')).toEqual(['Host', 'X-B']);
    expect(names('/sethost')).toEqual(['Host']);
    expect(conf('/sethost').headers.settings[0].value.literal).toBe('fixed');
  });

  it('inherits timeouts and proxy_next_upstream slot by slot', () => {
    expect(conf('/inherits')).toMatchObject({ readTimeoutMs: 5000, connectTimeoutMs: 60_000, nextUpstream: 0 });
    expect(conf('/own')).toMatchObject({ readTimeoutMs: 1000, sendTimeoutMs: 60_000 });
    expect(conf('/own').nextUpstream).not.toBe(0);
  });

  it('sets a content handler on proxy_pass locations only', () => {
    expect(locs.get('/inherits')!.content).toBeTypeOf('function');
    // Without proxy_pass a location serves static files, as in nginx.
    expect(rt.servers[0].root.content).toBe(staticHandler);
  });
});
