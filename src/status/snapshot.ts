/**
 * What one worker has counted, as it writes it to the store (JSON), and how
 * the snapshots of all workers sum into what the status API shows.
 *
 * Every field is either cumulative (requests, responses, bytes, accepted,
 * selected: summed over every snapshot, those of exited workers included)
 * or a gauge (active, idle, processing, selected.current, a peer's state and
 * downstart, keepalive: taken from live workers only, because a dead
 * worker's last word about "now" is stale).
 */
import { processExists } from '../store/worker-records';

/** Responses by status code (`"200"`, `"404"`). */
export type CodeCounts = Record<string, number>;

export interface ConnectionCounts {
  accepted: number;
  dropped: number;
  active: number;
  idle: number;
}

/** Angie's `ssl` of a server zone whose server listens with TLS. */
export interface SslCounts {
  handshaked: number;
  reuses: number;
  timedout: number;
  failed: number;
}

/** A server or location zone (location zones leave `processing` at 0). */
export interface ZoneCounts {
  /** Only for a server zone of a TLS server. */
  ssl?: SslCounts;
  requests: number;
  processing: number;
  discarded: number;
  responses: CodeCounts;
  received: number;
  sent: number;
}

export type PeerState = 'up' | 'down' | 'unavailable';

export interface PeerCounts {
  selected: number;
  current: number;
  /** When the peer was last chosen, ms since the epoch (0: never); the latest wins. */
  last: number;
  responses: CodeCounts;
  sent: number;
  received: number;
  fails: number;
  unavailable: number;
  /** ms unavailable; the longest any worker saw (each worker keeps its own passive health). */
  downtime: number;
  /** When the current downtime began (0 while up); the earliest live one wins. */
  downstart: number;
  state: PeerState;
  /** Moving averages in ms; summed snapshots weight them by `selected`. */
  headerTime: number;
  responseTime: number;
}

/** Everything one worker counted (or several, summed). */
export interface StatusCounts {
  connections: ConnectionCounts;
  serverZones: Record<string, ZoneCounts>;
  locationZones: Record<string, ZoneCounts>;
  /** Upstream name → peer address → counts. */
  peers: Record<string, Record<string, PeerCounts>>;
  /** Upstream name → idle cached connections. */
  keepalive: Record<string, number>;
}

/** A worker's record in the store: its counts and when it wrote them. */
export interface StatusRecord {
  /** ms since the epoch; 0 for the retired record, which is never live. */
  beat: number;
  /** The writing worker's pid: while that process exists, its gauges count. */
  pid?: number;
  counts: StatusCounts;
}

/** A map keyed by names from configs and requests: no prototype, so `__proto__` is just a name. */
export function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function emptyCounts(): StatusCounts {
  return {
    connections: { accepted: 0, dropped: 0, active: 0, idle: 0 },
    serverZones: record(),
    locationZones: record(),
    peers: record(),
    keepalive: record(),
  };
}

export function emptyZone(): ZoneCounts {
  return { requests: 0, processing: 0, discarded: 0, responses: record(), received: 0, sent: 0 };
}

export function emptySsl(): SslCounts {
  return { handshaked: 0, reuses: 0, timedout: 0, failed: 0 };
}

export function emptyPeer(): PeerCounts {
  return {
    selected: 0, current: 0, last: 0, responses: record(), sent: 0, received: 0,
    fails: 0, unavailable: 0, downtime: 0, downstart: 0, state: 'up', headerTime: 0, responseTime: 0,
  };
}

function addCodes(into: CodeCounts, from: CodeCounts): void {
  for (const [code, n] of Object.entries(from)) into[code] = (into[code] ?? 0) + n;
}

function addZone(into: ZoneCounts, from: ZoneCounts, live: boolean): void {
  into.requests += from.requests;
  into.discarded += from.discarded;
  into.received += from.received;
  into.sent += from.sent;
  addCodes(into.responses, from.responses);
  if (live) into.processing += from.processing;
  if (from.ssl === undefined) return;
  const ssl = (into.ssl ??= emptySsl());
  ssl.handshaked += from.ssl.handshaked;
  ssl.reuses += from.ssl.reuses;
  ssl.timedout += from.ssl.timedout;
  ssl.failed += from.ssl.failed;
}

function weighted(a: number, wa: number, b: number, wb: number): number {
  return wa + wb === 0 ? 0 : (a * wa + b * wb) / (wa + wb);
}

function addPeer(into: PeerCounts, from: PeerCounts, live: boolean): void {
  into.headerTime = weighted(into.headerTime, into.selected, from.headerTime, from.selected);
  into.responseTime = weighted(into.responseTime, into.selected, from.responseTime, from.selected);
  into.selected += from.selected;
  into.last = Math.max(into.last, from.last);
  addCodes(into.responses, from.responses);
  into.sent += from.sent;
  into.received += from.received;
  into.fails += from.fails;
  into.unavailable += from.unavailable;
  into.downtime = Math.max(into.downtime, from.downtime);
  if (!live) return;
  into.current += from.current;
  if (from.state === 'unavailable') {
    into.state = 'unavailable';
    into.downstart = into.downstart === 0 ? from.downstart : Math.min(into.downstart, from.downstart);
  } else if (into.state !== 'unavailable') {
    into.state = from.state;
  }
}

function addEach<T>(into: Record<string, T>, from: Record<string, T>, create: () => T, add: (a: T, b: T) => void): void {
  for (const [name, counts] of Object.entries(from)) {
    if (!(name in into)) into[name] = create();
    add(into[name], counts);
  }
}

/** Adds `from` into `into`: cumulative fields always, gauges only when `from` is live. */
function addCounts(into: StatusCounts, from: StatusCounts, live: boolean): void {
  const c = into.connections;
  c.accepted += from.connections.accepted;
  c.dropped += from.connections.dropped;
  if (live) {
    c.active += from.connections.active;
    c.idle += from.connections.idle;
  }
  addEach(into.serverZones, from.serverZones, emptyZone, (a, b) => addZone(a, b, live));
  addEach(into.locationZones, from.locationZones, emptyZone, (a, b) => addZone(a, b, live));
  for (const [upstream, peers] of Object.entries(from.peers)) {
    into.peers[upstream] ??= record();
    addEach(into.peers[upstream], peers, emptyPeer, (a, b) => addPeer(a, b, live));
  }
  if (live) for (const [upstream, n] of Object.entries(from.keepalive)) into.keepalive[upstream] = (into.keepalive[upstream] ?? 0) + n;
}

/** A snapshot written this recently is live even if its process cannot be checked. */
export const STALE_AFTER_MS = 1000;

/**
 * Gauges count while the worker process exists. A heartbeat alone would
 * drop a busy worker whose event loop is late to write (a loaded machine).
 */
function isLive(r: StatusRecord, nowMs: number): boolean {
  if (r.beat <= 0) return false;
  return r.pid !== undefined ? processExists(r.pid) : nowMs - r.beat <= STALE_AFTER_MS;
}

/** Sums every worker's record as of `nowMs`. */
export function sumRecords(records: Iterable<StatusRecord>, nowMs: number): StatusCounts {
  const total = emptyCounts();
  for (const r of records) addCounts(total, r.counts, isLive(r, nowMs));
  return total;
}

/** The retired record once a worker exits: only what it counted cumulatively survives. */
export function retireInto(retired: StatusRecord | undefined, own: StatusRecord): StatusRecord {
  const counts = emptyCounts();
  if (retired !== undefined) addCounts(counts, retired.counts, false);
  addCounts(counts, own.counts, false);
  return { beat: 0, counts };
}
