/**
 * `api ... write=on` DELETE of a server zone, a location zone or an
 * upstream's peers, as NGINX Plus resets them. Workers write absolute
 * snapshots of what they counted (snapshot.ts), so a reset cannot zero
 * them: it records the totals of that moment as the instance's baseline,
 * and readers show totals minus baseline. Only cumulative counters reset;
 * gauges (processing, current, state) and the moving averages stay.
 */
import { CodeCounts, emptyCounts, emptyPeer, emptyZone, PeerCounts, record, StatusCounts, ZoneCounts } from './snapshot';

/** What DELETE can reset: a child of /http/server_zones, /http/location_zones or /http/upstreams. */
export type ResetBranch = 'serverZones' | 'locationZones' | 'peers';

function cumulativeZone(z: ZoneCounts): ZoneCounts {
  const zone = { ...emptyZone(), requests: z.requests, discarded: z.discarded, responses: { ...z.responses }, received: z.received, sent: z.sent };
  return z.ssl === undefined ? zone : { ...zone, ssl: { ...z.ssl } };
}

function cumulativePeer(p: PeerCounts): PeerCounts {
  return {
    ...emptyPeer(), selected: p.selected, responses: { ...p.responses }, sent: p.sent, received: p.received,
    fails: p.fails, unavailable: p.unavailable,
  };
}

/** A baseline as stored (JSON), its maps without prototypes as snapshot.ts builds them (`__proto__` is a name). */
export function parseBaseline(json: string): StatusCounts {
  return JSON.parse(json, (_k, v: unknown) => (v !== null && typeof v === 'object' ? Object.assign(record(), v) : v)) as StatusCounts;
}

/** The baseline after resetting `name` of `branch` when the totals are `sum`. */
export function markReset(baseline: StatusCounts | undefined, sum: StatusCounts, branch: ResetBranch, name: string): StatusCounts {
  const next = baseline ?? emptyCounts();
  if (branch === 'peers') {
    const peers = record<PeerCounts>();
    for (const [addr, p] of Object.entries(sum.peers[name] ?? {})) peers[addr] = cumulativePeer(p);
    next.peers[name] = peers;
  } else {
    next[branch][name] = cumulativeZone(sum[branch][name] ?? emptyZone());
  }
  return next;
}

function subtractCodes(from: CodeCounts, base: CodeCounts): void {
  for (const [code, n] of Object.entries(base)) {
    const left = (from[code] ?? 0) - n;
    if (left > 0) from[code] = left;
    else delete from[code];
  }
}

// Totals never shrink within an instance; the floor only covers a snapshot a moment older than the baseline.
const minus = (a: number, b: number) => Math.max(0, a - b);

function subtractZone(from: ZoneCounts, base: ZoneCounts): void {
  from.requests = minus(from.requests, base.requests);
  from.discarded = minus(from.discarded, base.discarded);
  from.received = minus(from.received, base.received);
  from.sent = minus(from.sent, base.sent);
  subtractCodes(from.responses, base.responses);
  if (from.ssl === undefined || base.ssl === undefined) return;
  from.ssl.handshaked = minus(from.ssl.handshaked, base.ssl.handshaked);
  from.ssl.reuses = minus(from.ssl.reuses, base.ssl.reuses);
  from.ssl.timedout = minus(from.ssl.timedout, base.ssl.timedout);
  from.ssl.failed = minus(from.ssl.failed, base.ssl.failed);
}

function subtractPeer(from: PeerCounts, base: PeerCounts): void {
  from.selected = minus(from.selected, base.selected);
  from.sent = minus(from.sent, base.sent);
  from.received = minus(from.received, base.received);
  from.fails = minus(from.fails, base.fails);
  from.unavailable = minus(from.unavailable, base.unavailable);
  subtractCodes(from.responses, base.responses);
}

/** `total` as shown: what was counted since each branch's last reset. */
export function subtractResets(total: StatusCounts, baseline: StatusCounts): StatusCounts {
  for (const branch of ['serverZones', 'locationZones'] as const) {
    for (const [name, base] of Object.entries(baseline[branch])) {
      if (total[branch][name] !== undefined) subtractZone(total[branch][name], base);
    }
  }
  for (const [upstream, peers] of Object.entries(baseline.peers)) {
    for (const [addr, base] of Object.entries(peers)) {
      const peer = total.peers[upstream]?.[addr];
      if (peer !== undefined) subtractPeer(peer, base);
    }
  }
  return total;
}
