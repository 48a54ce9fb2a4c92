import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import type { Socket } from 'node:net';
import * as path from 'node:path';
import { WebSocket } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, Proxy, startBackend, startProxy } from '../helpers/proc';

/**
 * Stopping with WebSocket tunnels open. nginx's graceful stop waits for
 * them unless worker_shutdown_timeout is set; after it the worker closes
 * what is left. A fast stop cuts them at once.
 */

type Backend = Awaited<ReturnType<typeof startBackend>>;

/** The echo's tunnel sockets (the backend's close() does not know upgraded ones). */
const tunnels = new Set<Socket>();

/** Minimal RFC 6455 echo (unmasked replies, payloads < 126 bytes). */
function attachWebSocketEcho(server: http.Server): void {
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('error', () => undefined);
    socket.on('data', (frame: Buffer) => {
      const opcode = frame[0] & 0x0f;
      const len = frame[1] & 0x7f;
      const mask = frame.subarray(2, 6);
      const payload = Buffer.from(frame.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]));
      socket.write(Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]));
      if (opcode === 0x8) socket.end();
    });
  });
}

let ws: Backend;
let proxy: Proxy | undefined;
let port: number;

beforeAll(async () => {
  ws = await startBackend((_req, res) => res.end('not a websocket request'));
  attachWebSocketEcho(ws.server);
});

afterAll(async () => {
  for (const s of tunnels) s.destroy();
  await ws?.close();
});

afterEach(async () => {
  if (proxy !== undefined && proxy.child.exitCode === null && proxy.child.signalCode === null) {
    for (const pid of workerPids(proxy.child.pid!)) process.kill(pid, 'SIGKILL');
  }
  await proxy?.stop('SIGKILL');
  proxy = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(extra: string): Promise<Proxy> {
  [port] = await freePorts(1);
  proxy = await startProxy(
    `
worker_processes 1;
${extra}
events { }
http {
  log_format tunnel '$request_uri $status';
  access_log logs/tunnel.log tunnel;
  server {
    listen 127.0.0.1:${port};
    location /ws/ { proxy_pass http://127.0.0.1:${ws.port}/; }
  }
}
`,
    [port],
  );
  return proxy;
}

interface Tunnel {
  socket: WebSocket;
  closed: Promise<number>;
}

/** Opens a WebSocket through the proxy and checks one echo; `closed` resolves (ms after open) when it closes. */
async function openTunnel(p: string): Promise<Tunnel> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}${p}`);
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => socket.addEventListener('close', () => resolve(Date.now() - opened)));
  const echoed = await new Promise<string>((resolve, reject) => {
    socket.onopen = () => socket.send('ping');
    socket.onmessage = (e) => resolve(String(e.data));
    socket.onerror = () => reject(new Error('websocket failed'));
  });
  expect(echoed).toBe('ping');
  return { socket, closed };
}

function exited(p: Proxy): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve(0);
    p.child.once('exit', () => resolve(Date.now() - started));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function workerPids(masterPid: number): number[] {
  const text = fs.readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

async function logLine(p: Proxy, prefix: string): Promise<string | undefined> {
  const log = path.join(p.prefix, 'logs/tunnel.log');
  const deadline = Date.now() + 2000;
  for (;;) {
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    const line = text.split('\n').find((l) => l.startsWith(`${prefix} `));
    if (line !== undefined || Date.now() > deadline) return line;
    await sleep(25);
  }
}

describe('graceful stop with an open WebSocket tunnel', () => {
  it('without worker_shutdown_timeout waits for the tunnel, as nginx does, and exits once it closes', async () => {
    const p = await start('');
    const t = await openTunnel('/ws/wait');
    const exit = exited(p);
    p.child.kill('SIGQUIT');
    await sleep(1000);
    expect(p.child.exitCode).toBeNull();
    // Still relaying while the worker drains.
    const echoed = new Promise<string>((resolve) => (t.socket.onmessage = (e) => resolve(String(e.data))));
    t.socket.send('still there');
    expect(await echoed).toBe('still there');
    t.socket.close();
    expect(await exit).toBeLessThan(3000);
    expect(await logLine(p, '/ws/wait')).toBe('/ws/wait 101');
  });

  it('with worker_shutdown_timeout closes the tunnel after it and exits; the tunnel is logged', async () => {
    const p = await start('worker_shutdown_timeout 500ms;');
    const t = await openTunnel('/ws/bounded');
    const worker = workerPids(p.child.pid!)[0];
    const quitAt = Date.now();
    const exit = exited(p);
    p.child.kill('SIGQUIT');
    await t.closed;
    const closedAfter = Date.now() - quitAt;
    expect(closedAfter).toBeGreaterThanOrEqual(400);
    expect(closedAfter).toBeLessThan(2000);
    expect(await exit).toBeLessThan(3000);
    expect(alive(worker)).toBe(false);
    expect(await logLine(p, '/ws/bounded')).toBe('/ws/bounded 101');
  });

  it('with worker_shutdown_timeout an old worker holding a tunnel exits after a reload', async () => {
    const p = await start('worker_shutdown_timeout 500ms;');
    const t = await openTunnel('/ws/reload');
    const [oldWorker] = workerPids(p.child.pid!);
    const hupAt = Date.now();
    p.child.kill('SIGHUP');
    await t.closed;
    expect(Date.now() - hupAt).toBeLessThan(4000);
    const deadline = Date.now() + 3000;
    while (alive(oldWorker) && Date.now() < deadline) await sleep(50);
    expect(alive(oldWorker)).toBe(false);
    // The new generation serves tunnels.
    const fresh = await openTunnel('/ws/after');
    fresh.socket.close();
    await fresh.closed;
  });
});

describe('fast stop with an open WebSocket tunnel', () => {
  it('cuts the tunnel and the worker exits at once', async () => {
    const p = await start('');
    const t = await openTunnel('/ws/fast');
    const worker = workerPids(p.child.pid!)[0];
    const exit = exited(p);
    const termAt = Date.now();
    p.child.kill('SIGTERM');
    await t.closed;
    expect(Date.now() - termAt).toBeLessThan(1500);
    expect(await exit).toBeLessThan(3000);
    const deadline = Date.now() + 2000;
    while (alive(worker) && Date.now() < deadline) await sleep(50);
    expect(alive(worker)).toBe(false);
  });
});
