import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, makePrefix, Proxy, request, runCli, startProxy } from '../helpers/proc';

let proxy: Proxy;
let port: number;
let port2: number;

function rawExchange(p: number, data: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.write(data);
    setTimeout(() => s.destroy(), 3000);
  });
}

beforeAll(async () => {
  [port, port2] = await freePorts(2);
  proxy = await startProxy(
    `
worker_processes 1;
events { worker_connections 256; }
http {
  access_log logs/access.log;
  client_max_body_size 1k;
  server {
    listen 127.0.0.1:${port};
    server_name default.test;
    location / { return 200 "default $host\\n"; }
  }
  server {
    listen 127.0.0.1:${port} default_server;
    server_name fallback.test;
    set $greeting "hi";
    location / { return 200 "fallback $greeting\\n"; }
    location /deny-all { deny all; }
    location /return-beats-deny { deny all; return 200 "rewrite phase first"; }
    location /allow-local { allow 127.0.0.1; deny all; }
    location /only-v6 { allow ::1; deny all; }
    location /hdr { add_header X-Test "v=$uri"; add_header X-Always yes always; return 200 "h"; }
    location /hdr404 { add_header X-Test no; add_header X-Always yes always; return 404; }
    location /vars { return 200 "$request_method|$uri|$args|$arg_a|$http_x_custom|$cookie_c|$is_args|$server_port|$remote_addr"; }
    location /redirect { return 302 http://example.test/; }
    location /upload { return 200 "got it"; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name *.wild.test;
    location / { return 200 "wildcard\\n"; }
  }
  server {
    listen 127.0.0.1:${port};
    server_name ~^(?<sub>[a-z]+)\\.re\\.test$;
    location / { return 200 "regex $sub\\n"; }
  }
  server {
    listen 127.0.0.1:${port2};
    location / { return 200 "second port\\n"; }
  }
}`,
    [port, port2],
  );
});

afterAll(async () => {
  await proxy?.stop();
});

describe('virtual servers', () => {
  it.each([
    ['default.test', 'default default.test\n'],
    ['DEFAULT.test:8080', 'default default.test\n'],
    ['a.wild.test', 'wildcard\n'],
    ['abc.re.test', 'regex abc\n'],
    ['unknown.test', 'fallback hi\n'],
  ])('Host %s', async (host, body) => {
    const r = await request(proxy.url(port, '/'), { headers: { host } });
    expect(r.status).toBe(200);
    expect(r.body).toBe(body);
  });

  it('a second listen port has its own default server', async () => {
    expect((await request(proxy.url(port2, '/'))).body).toBe('second port\n');
  });
});

describe('rewrite, access, headers, variables', () => {
  it('deny all → 403', async () => {
    expect((await request(proxy.url(port, '/deny-all'))).status).toBe(403);
  });

  it('return runs in the rewrite phase, before access (as nginx)', async () => {
    expect((await request(proxy.url(port, '/return-beats-deny'))).body).toBe('rewrite phase first');
  });

  it('allow 127.0.0.1 lets loopback IPv4 through access (no content → 404); an IPv6-only rule does not', async () => {
    expect((await request(proxy.url(port, '/allow-local'))).status).toBe(404);
    expect((await request(proxy.url(port, '/only-v6'))).status).toBe(403);
  });

  it('add_header applies to 2xx; `always` also to errors', async () => {
    const ok = await request(proxy.url(port, '/hdr'));
    expect(ok.headers['x-test']).toBe('v=/hdr');
    expect(ok.headers['x-always']).toBe('yes');
    const nf = await request(proxy.url(port, '/hdr404'));
    expect(nf.status).toBe(404);
    expect(nf.headers['x-test']).toBeUndefined();
    expect(nf.headers['x-always']).toBe('yes');
  });

  it('core variables', async () => {
    const r = await request(proxy.url(port, '/vars/%61b/../c?a=1&b=2'), {
      headers: { 'x-custom': 'xyz', cookie: 'd=4; c=3' },
    });
    expect(r.body).toBe(`GET|/vars/c|a=1&b=2|1|xyz|3|?|${port}|127.0.0.1`);
  });

  it('return with a URL redirects', async () => {
    const r = await request(proxy.url(port, '/redirect'));
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('http://example.test/');
  });
});

describe('bad input', () => {
  it('malformed request line → 400 and the connection is closed', async () => {
    const out = await rawExchange(port, 'GARBAGE\r\n\r\n');
    expect(out.startsWith('HTTP/1.1 400 Bad Request')).toBe(true);
  });

  it('oversized headers → 431', async () => {
    const out = await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
    expect(out.startsWith('HTTP/1.1 431')).toBe(true);
  });

  it('a body over client_max_body_size → 413', async () => {
    const r = await request(proxy.url(port, '/upload'), { method: 'POST', body: 'x'.repeat(2048) });
    expect(r.status).toBe(413);
    expect(r.body).toContain('<title>413 Request Entity Too Large</title>');
  });

  it('a URI escaping the root → 400', async () => {
    const out = await rawExchange(port, 'GET /../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(out.startsWith('HTTP/1.1 400')).toBe(true);
  });

  it('bad requests do not disturb other connections', async () => {
    const bad = Array.from({ length: 20 }, () => rawExchange(port, 'BAD REQUEST LINE\r\n\r\n'));
    const good = Array.from({ length: 20 }, () => request(proxy.url(port, '/')));
    const [, replies] = await Promise.all([Promise.all(bad), Promise.all(good)]);
    expect(replies.every((r) => r.status === 200)).toBe(true);
  });
});

describe('access_log', () => {
  it('writes nginx combined format', async () => {
    await request(proxy.url(port, '/hdr?q=1'), { headers: { 'user-agent': 'ua "quoted"', referer: 'http://r/' } });
    const file = path.join(proxy.prefix, 'logs/access.log');
    let line = '';
    for (let i = 0; i < 50 && !line; i++) {
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'latin1') : '';
      line = text.split('\n').find((l) => l.includes('/hdr?q=1')) ?? '';
      if (!line) await new Promise((r) => setTimeout(r, 50));
    }
    expect(line).toMatch(
      /^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET \/hdr\?q=1 HTTP\/1\.1" 200 1 "http:\/\/r\/" "ua \\x22quoted\\x22"$/,
    );
  });
});

describe('command line', () => {
  it('-t prints nginx two lines and exits 0', async () => {
    const r = await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-t']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`metricproxy: the configuration file ${proxy.conf} syntax is ok`);
    expect(r.stderr).toContain(`metricproxy: configuration file ${proxy.conf} test is successful`);
  });

  it('-T also dumps the configuration', async () => {
    const r = await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-T']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`# configuration file ${proxy.conf}:`);
    expect(r.stdout).toContain('server_name *.wild.test;');
  });

  it('a bad config is one [emerg] line and exit status 1', async () => {
    const { prefix, conf } = makePrefix('http {\n  server {\n    listen 1;\n    lisen 2;\n  }\n}\n');
    const r = await runCli(['-p', prefix, '-c', conf]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`metricproxy: [emerg] unknown directive "lisen" in ${conf}:4`);
  });

  it('-g adds main-context directives after the file; a duplicate is named as in nginx', async () => {
    const { prefix, conf } = makePrefix('worker_processes 1;\nhttp { }\n');
    const ok = await runCli(['-p', prefix, '-c', conf, '-g', 'pid logs/other.pid;', '-t']);
    expect(ok.code).toBe(0);
    const dup = await runCli(['-p', prefix, '-c', conf, '-g', 'worker_processes 2;', '-t']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('metricproxy: [emerg] "worker_processes" directive is duplicate in command line\n');
  });

  it('-V prints the version', async () => {
    const r = await runCli(['-V']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^metricproxy version: metricproxy\/\d+\.\d+\.\d+/);
  });

  it('include with a glob pulls files relative to the main file', async () => {
    const { prefix, conf } = makePrefix(`http { include sites/*.conf; }\n`);
    fs.mkdirSync(path.join(prefix, 'conf/sites'));
    fs.writeFileSync(path.join(prefix, 'conf/sites/a.conf'), 'server { listen 127.0.0.1:1; unknownthing; }\n');
    const r = await runCli(['-p', prefix, '-c', conf, '-t']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`unknown directive "unknownthing" in ${path.join(prefix, 'conf/sites/a.conf')}:1`);
  });
});
