import { accountEarlier, delayFor, lookup, Lookup, ReqLimit } from './req-bucket';
import type { LimitTxn } from './space';

/** Counter indexes, as COUNTERS.limit_req lists them. */
const PASSED = 0;
const SKIPPED = 1;
const DELAYED = 2;
const REJECTED = 3;
const EXHAUSTED = 4;

export type ReqDecision =
  | { kind: 'declined' }
  | { kind: 'rejected' | 'exhausted'; excess: number; zone: string }
  | { kind: 'passed'; delayMs: number; excess: number; zone: string };

/** Counts a limit that let the request through: delayed when its excess is beyond its `delay`. */
function countThrough(limit: ReqLimit, excess: number): void {
  limit.zone.count(excess <= limit.delay ? PASSED : DELAYED);
}

/**
 * ngx_http_limit_req_handler's decision for one request, in one write
 * transaction: every limit is looked up in order until one refuses; if
 * none does, all are accounted and the longest delay wins. Counters as
 * Angie's: an empty key is `skipped`, a full zone `exhausted`.
 */
export function decide(tx: LimitTxn, limits: readonly ReqLimit[], keys: readonly string[], now: number): ReqDecision {
  let found: Lookup | undefined;
  let n = 0;
  for (; n < limits.length; n++) {
    if (keys[n] === '') continue;
    found = lookup(tx.t, limits[n], tx.meta(limits[n].zone), keys[n], n === limits.length - 1, now);
    if (found.rc !== 'again') break;
  }
  if (found === undefined) return { kind: 'declined' };
  if (found.rc === 'busy' || found.rc === 'error') {
    const zone = limits[n].zone;
    zone.count(found.rc === 'busy' ? REJECTED : EXHAUSTED);
    return { kind: found.rc === 'busy' ? 'rejected' : 'exhausted', excess: found.excess, zone: zone.def.name };
  }
  let worst = limits[limits.length - 1];
  let excess = 0;
  let delayMs = 0;
  if (found.rc === 'ok') {
    countThrough(worst, found.excess);
    excess = found.excess;
    delayMs = delayFor(excess, worst);
  }
  for (let i = Math.min(n, limits.length) - 1; i >= 0; i--) {
    if (keys[i] === '') {
      limits[i].zone.count(SKIPPED);
      continue;
    }
    const e = accountEarlier(tx.t, limits[i], keys[i], now);
    countThrough(limits[i], e);
    const d = delayFor(e, limits[i]);
    if (d > delayMs) {
      delayMs = d;
      excess = e;
      worst = limits[i];
    }
  }
  return { kind: 'passed', delayMs, excess, zone: worst.zone.def.name };
}
