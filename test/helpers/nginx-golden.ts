import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePorts, Proxy, request, startProxy } from './proc';
import { waitFor } from './sys';

/** The reference: Debian's nginx-light (in .ci/run SYSTEM_PACKAGES). */
export const NGINX = '/usr/sbin/nginx';

export function requireNginx(): void {
  if (!fs.existsSync(NGINX)) throw new Error(`the golden suite needs the real nginx: apt-get install -y nginx-light`);
}

/** A server running one config body; `PORT` and `PREFIX` in the body are replaced by its own. */
export interface Served {
  port: number;
  prefix: string;
  errorLog(): string;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * nginx in the foreground, single process, every path in its own temp
 * prefix (pid, error log, temp dirs), so it needs nothing from /etc or /var.
 */
export async function startNginx(httpBody: string, files: (prefix: string) => void = () => undefined): Promise<Served> {
  requireNginx();
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'golden-nginx-'));
  const [port] = await freePorts(1);
  files(prefix);
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${prefix}/${t};`).join(' ');
  const conf = `error_log ${prefix}/error.log info; pid ${prefix}/nginx.pid;
events { worker_connections 64; }
http { access_log off; server_tokens off; ${temps}
${httpBody.replaceAll('PORT', String(port)).replaceAll('PREFIX', prefix)}
}
`;
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), conf);
  let stderr = '';
  const child: ChildProcess = spawn(NGINX, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off; master_process off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d) => (stderr += d));
  await waitFor(async () => ((await portOpen(port)) ? true : child.exitCode !== null ? Promise.reject(new Error(`nginx exited: ${stderr}`)) : undefined), 10_000, 'nginx listening');
  return {
    port,
    prefix,
    errorLog: () => readOr(path.join(prefix, 'error.log')),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** metricproxy on the same body, one worker, in its own temp prefix. */
export async function startMetricproxy(httpBody: string, files: (prefix: string) => void = () => undefined): Promise<Served> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'golden-mp-'));
  fs.mkdirSync(path.join(prefix, 'logs'));
  fs.mkdirSync(path.join(prefix, 'conf'));
  const [port] = await freePorts(1);
  files(prefix);
  const conf = `worker_processes 1; error_log ${prefix}/logs/error.log info;
http { access_log off;
${httpBody.replaceAll('PORT', String(port)).replaceAll('PREFIX', prefix)}
}
`;
  const proxy: Proxy = await startProxy(conf, [port], { prefix });
  return { port, prefix, errorLog: () => readOr(path.join(prefix, 'logs/error.log')) + proxy.stderr(), stop: () => proxy.stop() };
}

export interface Case {
  name: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  /** Response headers compared besides status and body (lower case). */
  compare?: string[];
}

export interface Seen {
  status: number;
  body: string;
  headers: Record<string, string | undefined>;
}

/** nginx's error pages name nginx; metricproxy's name metricproxy. Everything else must match. */
function normalizeBody(body: string): string {
  return body.replace('<hr><center>nginx</center>', '<hr><center>metricproxy</center>');
}

/** What a server answers for a case, reduced to what the suite compares. */
export async function observe(s: Served, c: Case): Promise<Seen> {
  const reply = await request(`http://127.0.0.1:${s.port}${c.path}`, { method: c.method, headers: c.headers });
  const headers: Record<string, string | undefined> = {};
  for (const h of c.compare ?? ['location', 'content-type']) {
    const v = reply.headers[h];
    headers[h] = Array.isArray(v) ? v.join(', ') : v?.replace(/:\d+\//, ':PORT/').replace(`:${s.port}`, ':PORT');
  }
  return { status: reply.status, body: normalizeBody(reply.body), headers };
}

/** The one `[emerg]` line of `-t` on an http body, without the program name and the file path. */
export interface ConfigVerdict {
  code: number;
  emerg: string | undefined;
}

function emergOf(stderr: string): string | undefined {
  const m = /\[emerg\] (?:\d+#\d+: )?(.*?)(?: in \/\S+:(\d+))?$/m.exec(stderr);
  // PCRE and V8 word their regex errors differently; that a regex failed is what must match.
  return m ? `${m[1].replace(/^(pcre2_compile\(\) failed: ).*( in ")/, '$1…$2')}${m[2] ? ` :${m[2]}` : ''}` : undefined;
}

/** `nginx -t` on the body, first line of the http block on line 2 as in startNginx. */
export function nginxTest(httpBody: string): Promise<ConfigVerdict> {
  requireNginx();
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'golden-nginx-t-'));
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${prefix}/${t};`).join(' ');
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), `error_log ${prefix}/error.log; pid ${prefix}/nginx.pid; events {}\nhttp { ${temps}\n${httpBody}\n}\n`);
  return verdict(NGINX, ['-t', '-p', prefix, '-c', path.join(prefix, 'nginx.conf')]);
}

export function metricproxyTest(httpBody: string): Promise<ConfigVerdict> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'golden-mp-t-'));
  fs.writeFileSync(path.join(prefix, 'test.conf'), `worker_processes 1;\nhttp {\n${httpBody}\n}\n`);
  return verdict(process.execPath, [path.join(__dirname, '../../dist/cli.js'), '-t', '-p', prefix, '-c', path.join(prefix, 'test.conf')]);
}

function verdict(bin: string, args: string[]): Promise<ConfigVerdict> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code: code ?? -1, emerg: emergOf(stderr) }));
  });
}

/**
 * Starts nginx and metricproxy on one body and checks every case against
 * both (call at the top of a test file). `body` may be a function, read once
 * the file's own beforeAll hooks (backends) have run; `files` fills both prefixes alike.
 */
export function goldenSuite(
  title: string,
  body: string | (() => string),
  cases: Case[],
  files?: (prefix: string) => void,
): () => { nginx: Served; mp: Served } {
  let nginx: Served | undefined;
  let mp: Served | undefined;
  beforeAll(async () => {
    const text = typeof body === 'string' ? body : body();
    [nginx, mp] = await Promise.all([startNginx(text, files), startMetricproxy(text, files)]);
  });
  afterAll(async () => {
    await Promise.all([nginx?.stop(), mp?.stop()]);
  });
  describe(title, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const [want, got] = await Promise.all([observe(nginx!, c), observe(mp!, c)]);
      expect(got).toEqual(want);
    });
  });
  return () => ({ nginx: nginx!, mp: mp! });
}

/** Both refuse the body with the same `[emerg]` line (nginx names no line for an unknown variable). */
export async function expectSameLoadError(body: string): Promise<void> {
  const [want, got] = await Promise.all([nginxTest(body), metricproxyTest(body)]);
  expect(want.code).toBe(1);
  expect(got.code).toBe(1);
  if (want.emerg !== undefined && !/:\d+$/.test(want.emerg)) expect(got.emerg?.replace(/ :\d+$/, '')).toBe(want.emerg);
  else expect(got.emerg).toBe(want.emerg);
}
