import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors';
import { loadConfig } from '../../../src/process/load';

const FILE = '/etc/mp/proxy.conf';

/** Loads an upstream block (line 2 on) behind a proxy_pass: 'ok' plus warnings, or the error line. */
function load(upstream: string): string {
  const text = `http {\nupstream u {\n${upstream}\n}\nserver { listen 127.0.0.1:8080; location / { proxy_pass http://u; } }\n}\n`;
  try {
    const { warnings } = loadConfig(FILE, { prefix: '/tmp', text });
    return ['ok', ...warnings.map((w) => `${w.message}:${w.line}`)].join(' | ');
  } catch (e) {
    if (e instanceof ConfigError) return e.render();
    throw e;
  }
}

const err = (what: string, line: number) => `metricproxy: [emerg] ${what} in ${FILE}:${line}`;

describe('balancing method directives', () => {
  it('load with weights, max_fails and fail_timeout', () => {
    const servers = 'server 127.0.0.1:1 weight=3 max_fails=2 fail_timeout=5s;\nserver 127.0.0.1:2 down;';
    for (const method of ['least_conn;', 'ip_hash;', 'hash $arg_user;', 'hash $remote_addr$uri consistent;', 'random;', 'random two;', 'random two least_conn;']) {
      expect(load(`${method}\n${servers}`)).toBe('ok');
    }
  });

  it('least_conn keeps backup servers', () => {
    expect(load('least_conn;\nserver 127.0.0.1:1;\nserver 127.0.0.1:2 backup;')).toBe('ok');
  });

  it('hash, ip_hash and random refuse backup, as nginx, wherever the method stands', () => {
    const refused = err('balancing method does not support parameter "backup"', 5);
    for (const method of ['hash $arg_u;', 'hash $arg_u consistent;', 'ip_hash;', 'random two;']) {
      expect(load(`${method}\nserver 127.0.0.1:1;\nserver 127.0.0.1:2 backup;`)).toBe(refused);
      expect(load(`server 127.0.0.1:1;\n${method}\nserver 127.0.0.1:2 backup;`)).toBe(refused);
    }
  });

  it('refuses bad parameters with nginx phrases', () => {
    expect(load('hash $arg_u ketama;\nserver 127.0.0.1:1;')).toBe(err('invalid parameter "ketama"', 3));
    expect(load('hash;\nserver 127.0.0.1:1;')).toBe(err('invalid number of arguments in "hash" directive', 3));
    expect(load('hash $nope;\nserver 127.0.0.1:1;')).toBe(err('unknown "nope" variable', 3));
    expect(load('random three;\nserver 127.0.0.1:1;')).toBe(err('invalid parameter "three"', 3));
    expect(load('random two fastest;\nserver 127.0.0.1:1;')).toBe(err('invalid parameter "fastest"', 3));
    expect(load('ip_hash on;\nserver 127.0.0.1:1;')).toBe(err('invalid number of arguments in "ip_hash" directive', 3));
    expect(load('least_conn 1;\nserver 127.0.0.1:1;')).toBe(err('invalid number of arguments in "least_conn" directive', 3));
  });

  it('a second method wins with nginx\'s warning', () => {
    expect(load('least_conn;\nip_hash;\nserver 127.0.0.1:1;')).toBe('ok | load balancing method redefined:4');
  });
});
