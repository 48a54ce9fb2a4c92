import * as http from 'node:http';
import { startBackend } from '../helpers/proc';

/** One client exchange as a limiting test sees it. */
export interface Hit {
  status: number;
  /** `$limit_req_status` / `$limit_conn_status` as the proxy sent them back (add_header). */
  limit: string;
  worker: string;
  /** The proxy's clock when the request arrived (`X-Time`), in ms. */
  servedAt: number;
  /** ms since the epoch when the whole response had arrived. */
  doneAt: number;
}

/** One request, on a fresh connection unless an agent is given (fresh ones spread over the workers). */
export function hit(url: string, agent: http.Agent | false = false): Promise<Hit> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          limit: String(res.headers['x-limit'] ?? ''),
          worker: String(res.headers['x-worker'] ?? ''),
          servedAt: Number(res.headers['x-time'] ?? 0) * 1000,
          doneAt: Date.now(),
        }),
      );
    });
    req.on('error', reject);
  });
}

/** `n` requests at once. */
export function burst(url: string, n: number): Promise<Hit[]> {
  return Promise.all(Array.from({ length: n }, () => hit(url)));
}

/**
 * Requests paced at `perSecond` for `seconds`, each sent on schedule
 * whatever the answers do, over a few kept-alive connections (the
 * cluster spreads them over the workers).
 */
export async function paced(url: string, perSecond: number, seconds: number): Promise<Hit[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const count = Math.round(perSecond * seconds);
  const start = Date.now();
  const pending: Array<Promise<Hit>> = [];
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / perSecond - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(hit(url, agent));
  }
  const hits = await Promise.all(pending);
  agent.destroy();
  return hits;
}

/**
 * How many of requests arriving at `times` (ms) a leaky bucket of `rate`
 * r/s and `burst` admits, in plain floating point: the reference the
 * proxy's integer thousandths must agree with.
 */
export function idealAccepted(times: readonly number[], rate: number, burst: number): number {
  let excess = 0;
  let last: number | undefined;
  let accepted = 0;
  for (const t of [...times].sort((a, b) => a - b)) {
    const e = last === undefined ? 0 : Math.max(0, excess - (rate * (t - last)) / 1000 + 1);
    if (e > burst) continue;
    excess = e;
    last = t;
    accepted++;
  }
  return accepted;
}

export function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items) out[key(it)] = (out[key(it)] ?? 0) + 1;
  return out;
}

/**
 * An upstream that holds every request until `release()` (or answers at
 * once with `?fast`), and counts how many it holds now and at most.
 */
export async function holdingBackend() {
  let held: http.ServerResponse[] = [];
  let maxHeld = 0;
  const b = await startBackend((req, res) => {
    if (req.url?.includes('fast')) {
      res.end('fast');
      return;
    }
    held.push(res);
    maxHeld = Math.max(maxHeld, held.length);
    res.on('close', () => (held = held.filter((h) => h !== res)));
  });
  return {
    ...b,
    holding: () => held.length,
    maxHeld: () => maxHeld,
    release() {
      for (const res of held) res.end('done');
    },
  };
}
