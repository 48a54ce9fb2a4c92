import * as net from 'node:net';

/** What a raw exchange saw: every byte the server sent, and whether it closed the connection. */
export interface RawReply {
  text: string;
  closed: boolean;
  /** Status codes of every response in `text`, in order. */
  statuses: number[];
}

/** Status codes of the responses in a raw byte stream (`HTTP/1.1 400 ...`). */
export function statusesOf(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3}) [^\r\n]*\r\n/g)].map((m) => Number(m[1]));
}

/**
 * Writes raw bytes to 127.0.0.1:port and collects the answer until the
 * server closes, `until` is satisfied, or `timeoutMs` passes — bypassing
 * every client-side check, so malformed requests reach the server as written.
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  opts: { timeoutMs?: number; until?: (text: string) => boolean } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, statuses: statusesOf(text) });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5000);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (opts.until?.(text)) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? finish(true) : reject(e)));
  });
}

/** Opens a TCP connection and resolves once it is established. */
export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves when the peer closes `socket` (or it errors), with the milliseconds that took from now. */
export function closedWithin(socket: net.Socket): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(0);
    socket.once('close', () => resolve(Date.now() - started));
    // An unread socket never sees the peer's FIN: read (and drop) whatever comes.
    if (socket.listenerCount('data') === 0) socket.resume();
    socket.on('error', () => undefined);
  });
}
