// The client side of the limit checks, shared by bench/limits.mjs and test/e2e/limit-*.test.ts:
// requests that report what the limits decided, request schedules, and the ideal bucket.
import * as http from 'node:http';

/**
 * One request, on a fresh connection unless an agent is given (fresh ones spread over the
 * workers). Reads back `X-Limit` (the limit's status variable), `X-Worker` ($pid) and
 * `X-Time` (the proxy's clock at arrival, in seconds): { status, limit, worker, arrived,
 * doneAt, ms } with times in ms.
 */
export function hit(url, agent = false) {
  const sent = Date.now();
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          limit: String(res.headers['x-limit'] || '-'),
          worker: String(res.headers['x-worker'] ?? ''),
          arrived: Number(res.headers['x-time'] ?? 0) * 1000,
          doneAt: Date.now(),
          ms: Date.now() - sent,
        }),
      );
    });
    req.on('error', () => resolve({ status: 0, limit: '-', worker: '', arrived: 0, doneAt: Date.now(), ms: Date.now() - sent }));
  });
}

/** `n` requests at once. */
export const atOnce = (url, n) => Promise.all(Array.from({ length: n }, () => hit(url)));

/**
 * Requests paced at `perSecond` for `seconds`, each sent on schedule whatever the answers do,
 * over a few kept-alive connections (the cluster spreads them over the workers).
 */
export async function paced(url, perSecond, seconds) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const start = Date.now();
  const pending = [];
  for (let i = 0; i < Math.round(perSecond * seconds); i++) {
    const wait = start + (i * 1000) / perSecond - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(hit(url, agent));
  }
  const hits = await Promise.all(pending);
  agent.destroy();
  return hits;
}

/**
 * How many of the requests arriving at `times` (ms) a leaky bucket of `rate`
 * r/s and `burst` admits, in plain floating point (the first request finds
 * an empty bucket, as nginx's new keys do): the reference that both
 * metricproxy's and nginx's integer thousandths are compared with, in
 * bench/limits.mjs and test/e2e/limit-req.test.ts.
 */
export function idealAccepted(times, rate, burst) {
  let excess = 0;
  let last;
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
