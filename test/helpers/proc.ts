import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { stopChild } from './sys';

export const ROOT = path.resolve(__dirname, '../..');
export const CLI = path.join(ROOT, 'dist/cli.js');

/** Ports the OS says are free right now. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (for -t, -T, -s, config errors). */
export function runCli(args: string[], timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`metricproxy ${args.join(' ')} did not exit; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A temp prefix with conf/<name> holding `text`. */
export function makePrefix(text: string, name = 'test.conf'): { prefix: string; conf: string } {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-'));
  fs.mkdirSync(path.join(prefix, 'conf'));
  const conf = path.join(prefix, 'conf', name);
  fs.writeFileSync(conf, text);
  return { prefix, conf };
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Proxy {
  prefix: string;
  conf: string;
  child: ChildProcess;
  stderr: () => string;
  url(port: number, p: string): string;
  /** Graceful stop (SIGQUIT) unless told otherwise; resolves on exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the real CLI on an inline config and waits until every port in
 * `waitPorts` accepts connections.
 */
export async function startProxy(text: string, waitPorts: number[], opts: { prefix?: string; waitPid?: boolean } = {}): Promise<Proxy> {
  let prefix: string;
  let conf: string;
  if (opts.prefix !== undefined) {
    prefix = opts.prefix;
    conf = path.join(prefix, 'conf', 'test.conf');
    fs.writeFileSync(conf, text);
  } else ({ prefix, conf } = makePrefix(text));
  const child = spawn(process.execPath, [CLI, '-p', prefix, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', () => undefined);
  const deadline = Date.now() + 25_000;
  // The master writes its pid file once every worker listens.
  const pidFile = path.join(prefix, 'logs/metricproxy.pid');
  while (!fs.existsSync(pidFile) && child.exitCode === null && Date.now() < deadline && opts.waitPid !== false) {
    await new Promise((r) => setTimeout(r, 25));
  }
  for (const port of waitPorts) {
    while (!(await canConnect(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`metricproxy did not start (port ${port}); stderr: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    prefix,
    conf,
    child,
    stderr: () => stderr,
    url: (port, p) => `http://127.0.0.1:${port}${p}`,
    stop: (signal: NodeJS.Signals = 'SIGQUIT') => stopChild(child, signal),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request on a fresh connection; body read as latin1 bytes. */
export function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** GET and parse JSON. */
export async function getJson(url: string): Promise<unknown> {
  const r = await request(url);
  if (r.status !== 200) throw new Error(`GET ${url} → ${r.status}: ${r.body}`);
  return JSON.parse(r.body);
}

/** A small upstream server for tests, answering with a handler. */
export async function startBackend(handler: http.RequestListener, port = 0): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as net.AddressInfo).port;
  return {
    server,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Config lines for an access log `logs/<name>.log` written in `format`
 * (a log_format of the same name); logLine() reads it back.
 */
export function accessLog(name: string, format: string): string {
  return `log_format ${name} '${format}';\n  access_log logs/${name}.log ${name};`;
}

/**
 * The first line of the proxy's `logs/<name>.log` that starts with
 * `${prefix} `, waiting up to `timeoutMs` for it to be written; throws with
 * the log's text if it is not.
 */
export async function logLine(p: Proxy, name: string, prefix: string, timeoutMs = 3000): Promise<string> {
  const log = path.join(p.prefix, `logs/${name}.log`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    const line = text.split('\n').find((l) => l.startsWith(`${prefix} `));
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`no log line for ${prefix}; log:\n${text}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts the CLI on `config(port)` for one free port, once that port accepts connections. */
export async function startOnFreePort(config: (port: number) => string): Promise<{ proxy: Proxy; port: number }> {
  const [port] = await freePorts(1);
  return { proxy: await startProxy(config(port), [port]), port };
}

/** The pid of the worker answering `url` (a `return 200 $pid;` location). */
export async function pidAt(url: string): Promise<number> {
  return Number((await request(url)).body);
}

/**
 * A proxy on one free port answering every request 200 `body` (a `return`
 * text: variables allowed), with `httpDirectives` at the http level.
 */
export function startReturning(body: string, httpDirectives: string): Promise<{ proxy: Proxy; port: number }> {
  return startOnFreePort(
    (port) => `
http {
  ${httpDirectives}
  server {
    listen 127.0.0.1:${port};
    location / { return 200 "${body}"; }
  }
}`,
  );
}
