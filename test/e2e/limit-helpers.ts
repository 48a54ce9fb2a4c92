import * as http from 'node:http';
// @ts-expect-error: plain JS shared with the bench, no types
import * as client from '../../bench/limit-client.mjs';
import { startBackend } from '../helpers/proc';

/** One client exchange as a limiting test sees it (see bench/limit-client.mjs). */
export interface Hit {
  status: number;
  /** `$limit_req_status` / `$limit_conn_status` as the proxy sent them back (add_header X-Limit), `-` if none. */
  limit: string;
  worker: string;
  /** The proxy's clock when the request arrived (`X-Time`), in ms. */
  arrived: number;
  /** ms since the epoch when the whole response had arrived. */
  doneAt: number;
}

export const hit = client.hit as (url: string) => Promise<Hit>;
export const burst = client.atOnce as (url: string, n: number) => Promise<Hit[]>;
export const paced = client.paced as (url: string, perSecond: number, seconds: number) => Promise<Hit[]>;
export const idealAccepted = client.idealAccepted as (times: readonly number[], rate: number, burst: number) => number;

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
