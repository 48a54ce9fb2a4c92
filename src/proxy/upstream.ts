import { ConfigError } from '../config/errors';
import type { ComplexValue } from '../http/variables';
import { BalanceInput, Balancer, BalancerSpec, Picker, Ready, createBalancer, roundRobinPick } from './balancers';

/**
 * Upstream groups and nginx's weighted round-robin with passive health
 * checks (ngx_http_upstream_round_robin.c, in the Angie variant that keeps
 * per-peer statistics). Pure logic: no sockets, time is passed in, so the
 * balancing can be tested to the exact pick order.
 */

export interface PeerConf {
  /** The address as written in the config (`server` field of the API). */
  server: string;
  host: string;
  port: number;
  weight: number;
  /** 0 disables the failure accounting for this peer. */
  maxFails: number;
  failTimeoutMs: number;
  backup: boolean;
  down: boolean;
}

/** Counters the status API reads; plain numbers so they can later move into the shared store. */
export interface PeerStats {
  selectedTotal: number;
  /** Requests in flight on this peer. */
  selectedCurrent: number;
  /** When the peer was last chosen (ms since epoch, 0 = never). */
  selectedLastMs: number;
  /** Responses by status code. */
  responses: Record<string, number>;
  sent: number;
  received: number;
  fails: number;
  /** Times the peer reached max_fails and was taken out of rotation. */
  unavailable: number;
  downtimeMs: number;
  /** When the current downtime began (ms since epoch, 0 while up). */
  downstartMs: number;
  /** Moving averages in ms, as Angie shows them. */
  headerTimeMs: number;
  responseTimeMs: number;
}

/** What one attempt on a peer came to; handed back through PeerSelection.free(). */
export interface PeerOutcome {
  failed: boolean;
  /** The upstream's response status, 0 if none arrived. */
  status: number;
  sent: number;
  received: number;
  /** ms from the attempt's start; undefined when not reached. */
  headerMs?: number;
  responseMs?: number;
}

/** Weight of the newest sample in the header/response time averages. */
const AVERAGE_WEIGHT = 0.25;

export class Peer {
  /** `host:port`, as $upstream_addr prints it and the API keys it. */
  readonly addr: string;
  currentWeight = 0;
  effectiveWeight: number;
  fails = 0;
  /** Last time the peer was chosen or failed (nginx's `checked`). */
  checkedMs = 0;
  /** A success at or after this time clears the failures (Angie's `recover_at`). */
  recoverAtMs = 0;
  readonly stats: PeerStats = {
    selectedTotal: 0,
    selectedCurrent: 0,
    selectedLastMs: 0,
    responses: {},
    sent: 0,
    received: 0,
    fails: 0,
    unavailable: 0,
    downtimeMs: 0,
    downstartMs: 0,
    headerTimeMs: 0,
    responseTimeMs: 0,
  };

  constructor(readonly conf: PeerConf) {
    this.addr = formatAddr(conf.host, conf.port);
    this.effectiveWeight = conf.weight;
  }

  get failed(): boolean {
    return this.conf.maxFails > 0 && this.fails >= this.conf.maxFails;
  }

  /** Whether round-robin may choose this peer now (ignoring the per-request tried set). */
  usable(nowMs: number): boolean {
    if (this.conf.down) return false;
    return !this.failed || nowMs - this.checkedMs >= this.conf.failTimeoutMs;
  }

  /** `up`, `down` (configured so) or `unavailable` (failed, within fail_timeout) for the API. */
  state(nowMs: number): 'up' | 'down' | 'unavailable' {
    if (this.conf.down) return 'down';
    return this.usable(nowMs) ? 'up' : 'unavailable';
  }
}

export interface UpstreamOptions {
  keepalive?: number;
  zone?: { name: string; size?: number };
  /** Created by a literal `proxy_pass http://host:port` rather than an `upstream` block. */
  implicit?: boolean;
  /** The balancing method; round-robin when absent. */
  balancer?: BalancerSpec;
  /** The `hash` directive's key, evaluated per request. */
  hashKey?: ComplexValue;
  /** The source of `random` picks, in [0, 1). */
  random?: () => number;
}

export class Upstream {
  readonly primary: Peer[];
  readonly backup: Peer[];
  readonly keepalive: number | undefined;
  readonly zone: { name: string; size?: number } | undefined;
  readonly implicit: boolean;
  /** nginx's `peers->single`: one primary, no backup — it is always tried. */
  readonly single: boolean;
  /** nginx's initial `peer.tries`: every peer not marked down. */
  readonly tries: number;
  readonly balancer: Balancer;
  readonly hashKey: ComplexValue | undefined;

  constructor(
    readonly name: string,
    servers: PeerConf[],
    opts: UpstreamOptions = {},
  ) {
    this.primary = servers.filter((s) => !s.backup).map((s) => new Peer(s));
    this.backup = servers.filter((s) => s.backup).map((s) => new Peer(s));
    this.keepalive = opts.keepalive;
    this.zone = opts.zone;
    this.implicit = opts.implicit ?? false;
    this.single = this.primary.length === 1 && this.backup.length === 0;
    this.tries = servers.filter((s) => !s.down).length;
    this.hashKey = opts.hashKey;
    this.balancer = createBalancer(opts.balancer ?? { method: 'round_robin' }, this.primary, opts.random ?? Math.random);
  }

  get peers(): Peer[] {
    return [...this.primary, ...this.backup];
  }

  /** Starts one request's walk over the peers; `maxTries` is proxy_next_upstream_tries (0 = no limit). */
  select(maxTries = 0, input: BalanceInput = {}): PeerSelection {
    return new PeerSelection(this, maxTries, this.balancer.begin(input));
  }
}

/**
 * One request's view of an upstream (nginx's rr_peer_data): which peers it
 * tried, whether it moved on to the backups, and how many tries remain.
 */
export class PeerSelection {
  private readonly tried = new Set<Peer>();
  private group: Peer[];
  private inBackup = false;
  /** Tries left, nginx's `pc->tries`. */
  remaining: number;

  constructor(
    readonly upstream: Upstream,
    maxTries: number,
    private readonly picker: Picker,
  ) {
    this.group = upstream.primary;
    this.remaining = maxTries > 0 ? Math.min(maxTries, upstream.tries) : upstream.tries;
  }

  /** The next peer to try, or undefined when none is live ("no live upstreams"). */
  next(nowMs: number): Peer | undefined {
    const peer = this.pick(nowMs);
    if (peer !== undefined) this.use(peer, nowMs);
    return peer;
  }

  /** Ends an attempt: passive health accounting and statistics. */
  free(peer: Peer, outcome: PeerOutcome, nowMs: number): void {
    if (outcome.failed) markFailed(peer, nowMs);
    else if (peer.recoverAtMs <= peer.checkedMs) recover(peer, nowMs);
    peer.stats.selectedCurrent--;
    recordStats(peer, outcome);
    if (this.remaining > 0) this.remaining--;
  }

  /**
   * nginx's rule for a cached (keep-alive) connection that failed with an
   * error: one more try, not counted (`u->peer.tries++`). The upstream may
   * have closed that connection as the request went out; a single peer is
   * then tried again, on a new connection.
   */
  retryCached(peer: Peer): void {
    this.remaining++;
    if (this.upstream.single) this.tried.delete(peer);
  }

  private pick(nowMs: number): Peer | undefined {
    const up = this.upstream;
    if (up.single) {
      const only = up.primary[0];
      return only.conf.down || this.tried.has(only) ? undefined : only;
    }
    const peer = this.groupPick(nowMs);
    if (peer !== undefined || this.inBackup || up.backup.length === 0) return peer;
    this.inBackup = true;
    this.group = up.backup;
    this.tried.clear();
    return this.groupPick(nowMs);
  }

  /** The balancer's pick in the current group, else round-robin's where the method hands over to it. */
  private groupPick(nowMs: number): Peer | undefined {
    const ready: Ready = (peer) => !this.tried.has(peer) && peer.usable(nowMs);
    const peer = this.picker.pick(this.group, ready);
    if (peer !== undefined || !this.upstream.balancer.roundRobinAfter) return peer;
    return roundRobinPick(this.group, ready);
  }

  private use(peer: Peer, nowMs: number): void {
    this.tried.add(peer);
    peer.checkedMs = nowMs;
    peer.stats.selectedTotal++;
    peer.stats.selectedCurrent++;
    peer.stats.selectedLastMs = nowMs;
  }
}

function markFailed(peer: Peer, nowMs: number): void {
  const { maxFails, failTimeoutMs, weight } = peer.conf;
  peer.fails++;
  peer.recoverAtMs = nowMs + failTimeoutMs;
  peer.checkedMs = nowMs;
  peer.stats.fails++;
  if (maxFails === 0) return;
  // A failing peer loses weight at once and wins it back one step per pick.
  peer.effectiveWeight = Math.max(0, peer.effectiveWeight - Math.floor(weight / maxFails));
  if (peer.fails === maxFails) {
    peer.stats.unavailable++;
    peer.stats.downstartMs = nowMs;
  }
}

function recover(peer: Peer, nowMs: number): void {
  if (peer.stats.downstartMs !== 0) {
    peer.stats.downtimeMs += nowMs - peer.stats.downstartMs;
    peer.stats.downstartMs = 0;
  }
  peer.fails = 0;
}

function recordStats(peer: Peer, o: PeerOutcome): void {
  const s = peer.stats;
  if (o.status > 0) s.responses[o.status] = (s.responses[o.status] ?? 0) + 1;
  s.sent += o.sent;
  s.received += o.received;
  if (o.headerMs !== undefined) s.headerTimeMs = movingAverage(s.headerTimeMs, o.headerMs, s.selectedTotal);
  if (o.responseMs !== undefined) s.responseTimeMs = movingAverage(s.responseTimeMs, o.responseMs, s.selectedTotal);
}

function movingAverage(avg: number, sample: number, samples: number): number {
  return samples <= 1 ? sample : avg + (sample - avg) * AVERAGE_WEIGHT;
}

/** `host:port`, with IPv6 hosts bracketed as nginx prints them. */
export function formatAddr(host: string, port: number): string {
  if (isUnix(host)) return host;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Parses `HOST[:PORT]` (port 80 by default) as the `server` directive and
 * proxy_pass accept it. `what` names the place for the error phrase (`upstream "x"`).
 */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  if (isUnix(text)) {
    if (text.length === 'unix:'.length) throw new ConfigError(`no path in the unix domain socket in ${what}`);
    return { host: text, port: 0 };
  }
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new ConfigError(`invalid host in ${what}`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new ConfigError(`invalid host in ${what}`);
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  if (host === '') throw new ConfigError(`no host in ${what}`);
  if (portText === undefined) return { host, port: 80 };
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new ConfigError(`invalid port in ${what}`);
  return { host, port };
}

/** `unix:/path`: a peer (or listener) on a unix domain socket. */
export function isUnix(host: string): boolean {
  return host.startsWith('unix:');
}

/** The socket path of a `unix:` peer, undefined for a TCP one. */
export function socketPathOf(host: string): string | undefined {
  return isUnix(host) ? host.slice('unix:'.length) : undefined;
}
