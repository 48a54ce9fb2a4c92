import * as fs from 'node:fs';
import * as net from 'node:net';
import { getJson } from '../helpers/proc';

/** A raw HTTP/1.1 exchange: the exact bytes sent and received (what the zones count as data). */
export interface Exchange {
  sent: number;
  received: number;
  body: string;
}

function rawRequest(path: string, keepAlive: boolean): string {
  return `GET ${path} HTTP/1.1\r\nHost: status.test\r\nConnection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`;
}

/** One request on a fresh connection that the server closes after answering. */
export function exchange(port: number, path: string): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const text = rawRequest(path, false);
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      resolve({ sent: Buffer.byteLength(text), received: all.length, body: all.subarray(split + 4).toString() });
    });
  });
}

/** Whether a new connection is closed without an answer (a reset counts: the request was still unread). */
export function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const socket = net.connect(port, '127.0.0.1', () => socket.write(rawRequest('/', false)));
    socket.on('data', () => (answered = true));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(!answered));
  });
}

/** A connection that made one request and now sits idle, kept alive. */
export function idleConnection(port: number, path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(rawRequest(path, true)));
    socket.once('error', reject);
    socket.once('data', () => resolve(socket));
  });
}

/** The worker processes of a master, from /proc (Linux). */
export function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may itself hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      /* the process ended while listing */
    }
  }
  return pids;
}

/** Polls `read` until `done` holds for its value (status snapshots of other workers lag up to ~100 ms). */
export async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GETs a JSON status node, counting the connections it makes (each is a fresh one). */
export class StatusReader {
  connections = 0;

  constructor(private readonly url: string) {}

  async get<T>(path: string): Promise<T> {
    this.connections++;
    return (await getJson(this.url + path)) as T;
  }
}
