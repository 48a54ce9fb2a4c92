import type { Socket } from 'node:net';
import { WebSocket } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attachWebSocketEcho, Backend } from '../helpers/backends';
import { accessLog, freePorts, logLine, Proxy, startBackend, startProxy } from '../helpers/proc';
import { childPids, isAlive } from '../helpers/sys';

/**
 * Stopping with WebSocket tunnels open. nginx's graceful stop waits for
 * them unless worker_shutdown_timeout is set; after it the worker closes
 * what is left. A fast stop cuts them at once.
 */

/** The echo's tunnel sockets (the backend's close() does not know upgraded ones). */
const tunnels = new Set<Socket>();

let ws: Backend;
let proxy: Proxy | undefined;
let port: number;

beforeAll(async () => {
  ws = await startBackend((_req, res) => res.end('not a websocket request'));
  attachWebSocketEcho(ws.server, {
    onTunnel: (socket) => {
      tunnels.add(socket);
      socket.once('close', () => tunnels.delete(socket));
      socket.on('error', () => undefined);
    },
  });
});

afterAll(async () => {
  for (const s of tunnels) s.destroy();
  await ws?.close();
});

afterEach(async () => {
  if (proxy !== undefined && proxy.child.exitCode === null && proxy.child.signalCode === null) {
    for (const pid of childPids(proxy.child.pid!)) process.kill(pid, 'SIGKILL');
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
  ${accessLog('tunnel', '$request_uri $status')}
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
    expect(await logLine(p, 'tunnel', '/ws/wait', 2000)).toBe('/ws/wait 101');
  });

  it('with worker_shutdown_timeout closes the tunnel after it and exits; the tunnel is logged', async () => {
    const p = await start('worker_shutdown_timeout 500ms;');
    const t = await openTunnel('/ws/bounded');
    const worker = childPids(p.child.pid!)[0];
    const quitAt = Date.now();
    const exit = exited(p);
    p.child.kill('SIGQUIT');
    await t.closed;
    const closedAfter = Date.now() - quitAt;
    expect(closedAfter).toBeGreaterThanOrEqual(400);
    expect(closedAfter).toBeLessThan(2000);
    expect(await exit).toBeLessThan(3000);
    expect(isAlive(worker)).toBe(false);
    expect(await logLine(p, 'tunnel', '/ws/bounded', 2000)).toBe('/ws/bounded 101');
  });

  it('with worker_shutdown_timeout an old worker holding a tunnel exits after a reload', async () => {
    const p = await start('worker_shutdown_timeout 500ms;');
    const t = await openTunnel('/ws/reload');
    const [oldWorker] = childPids(p.child.pid!);
    const hupAt = Date.now();
    p.child.kill('SIGHUP');
    await t.closed;
    expect(Date.now() - hupAt).toBeLessThan(4000);
    const deadline = Date.now() + 3000;
    while (isAlive(oldWorker) && Date.now() < deadline) await sleep(50);
    expect(isAlive(oldWorker)).toBe(false);
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
    const worker = childPids(p.child.pid!)[0];
    const exit = exited(p);
    const termAt = Date.now();
    p.child.kill('SIGTERM');
    await t.closed;
    expect(Date.now() - termAt).toBeLessThan(1500);
    expect(await exit).toBeLessThan(3000);
    const deadline = Date.now() + 2000;
    while (isAlive(worker) && Date.now() < deadline) await sleep(50);
    expect(isAlive(worker)).toBe(false);
  });
});
