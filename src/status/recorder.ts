import type { Socket } from 'node:net';
import type { HttpContext } from '../http/context';
import type { Peer, Upstream } from '../proxy/upstream';
import { CodeCounts, ConnectionCounts, emptyCounts, PeerCounts, record, StatusCounts, ZoneCounts } from './snapshot';
import type { HandshakeOutcome } from '../http/builder';
import type { ServerConf } from '../http/conf';

/** Requests in flight on a socket: a socket with none is idle (kept alive, waiting). */
const kInFlight = Symbol('statusInFlight');
type TrackedSocket = Socket & { [kInFlight]?: number };

/** Where a started request was counted, kept in `r.moduleCtx` until its log phase. */
const CTX = 'status';

interface StartedRequest {
  serverZone: ZoneCounts | undefined;
}

/** Request sizes as $request_length and $bytes_sent compute them. */
export interface RequestBytes {
  received(r: HttpContext): number;
  sent(r: HttpContext): number;
}

/** How a request ended, as the zones count it. */
interface Outcome {
  /** The status sent; 0 when the request ended before any response header went out (the client left). */
  status: number;
  received: number;
  sent: number;
}

function countOutcome(zone: ZoneCounts, o: Outcome): void {
  if (o.status > 0) zone.responses[o.status] = (zone.responses[o.status] ?? 0) + 1;
  else zone.discarded++;
  zone.received += o.received;
  zone.sent += o.sent;
}

function peerCounts(peer: Peer, nowMs: number): PeerCounts {
  const s = peer.stats;
  const responses: CodeCounts = record();
  Object.assign(responses, s.responses);
  return {
    selected: s.selectedTotal,
    current: s.selectedCurrent,
    last: s.selectedLastMs,
    responses,
    sent: s.sent,
    received: s.received,
    fails: s.fails,
    unavailable: s.unavailable,
    downtime: s.downtimeMs,
    downstart: s.downstartMs,
    state: peer.state(nowMs),
    headerTime: s.headerTimeMs,
    responseTime: s.responseTimeMs,
  };
}

/**
 * One worker's status counters, kept in memory and updated at request time
 * (plain increments); `counts()` turns them into an absolute snapshot.
 */
export class StatusRecorder {
  private readonly connections: Omit<ConnectionCounts, 'idle'> = { accepted: 0, dropped: 0, active: 0 };
  /** Sockets with a request in flight. */
  private busySockets = 0;
  readonly serverZones = new Map<string, ZoneCounts>();
  readonly locationZones = new Map<string, ZoneCounts>();

  constructor(
    /** `worker_connections`: client connections beyond it are closed at once and counted as dropped, as nginx does. */
    private readonly maxConnections: number,
    private readonly bytes: RequestBytes,
    private readonly upstreams: () => Iterable<Upstream>,
    private readonly idleUpstreamConnections: (u: Upstream) => number,
  ) {}

  onConnection(socket: Socket): void {
    const c = this.connections;
    c.accepted++;
    if (c.active >= this.maxConnections) {
      c.dropped++;
      socket.destroy();
      return;
    }
    c.active++;
    socket.once('close', () => c.active--);
  }

  /** The end of a client's TLS handshake, counted in the zone of the server SNI chose. */
  onHandshake(server: ServerConf, outcome: HandshakeOutcome): void {
    const ssl = server.statusZone === undefined ? undefined : this.serverZones.get(server.statusZone)?.ssl;
    if (ssl === undefined) return;
    if (outcome === 'timedout') ssl.timedout++;
    else if (outcome === 'failed') ssl.failed++;
    else {
      ssl.handshaked++;
      if (outcome === 'reused') ssl.reuses++;
    }
  }

  /** HTTP/2 streams refused before they became requests: requests of the SNI server's zone, discarded (no response). */
  onRefusedStreams(server: ServerConf, streams: number): void {
    const zone = server.statusZone === undefined ? undefined : this.serverZones.get(server.statusZone);
    if (zone === undefined) return;
    zone.requests += streams;
    zone.discarded += streams;
  }

  /** As soon as the server is chosen: the server zone counts the request and its processing. */
  requestStarted(r: HttpContext): void {
    const started: StartedRequest = { serverZone: this.serverZoneOf(r) };
    r.moduleCtx[CTX] = started;
    if (started.serverZone !== undefined) {
      started.serverZone.requests++;
      started.serverZone.processing++;
    }
    this.inFlight(r.req.socket, +1);
  }

  /** The log phase: responses, bytes, and the location zone of the location that answered. */
  requestFinished(r: HttpContext, locationZone: ZoneCounts | undefined): void {
    const started = r.moduleCtx[CTX] as StartedRequest | undefined;
    // A request refused before its phases ran (a malformed URI) is counted at its end only.
    let serverZone = started?.serverZone;
    if (started === undefined) {
      serverZone = this.serverZoneOf(r);
      if (serverZone !== undefined) serverZone.requests++;
    } else {
      if (serverZone !== undefined) serverZone.processing--;
      this.inFlight(r.req.socket, -1);
    }
    if (serverZone === undefined && locationZone === undefined) return;
    const outcome: Outcome = { status: r.headerSent ? r.status : 0, received: this.bytes.received(r), sent: this.bytes.sent(r) };
    if (serverZone !== undefined) countOutcome(serverZone, outcome);
    if (locationZone !== undefined) {
      locationZone.requests++;
      countOutcome(locationZone, outcome);
    }
  }

  /** An absolute snapshot of everything this worker counted. */
  counts(nowMs: number): StatusCounts {
    const out = emptyCounts();
    out.connections = { ...this.connections, idle: Math.max(0, this.connections.active - this.busySockets) };
    for (const [name, zone] of this.serverZones) out.serverZones[name] = zone;
    for (const [name, zone] of this.locationZones) out.locationZones[name] = zone;
    for (const u of this.upstreams()) {
      const peers = (out.peers[u.name] = record<PeerCounts>());
      for (const peer of u.peers) peers[peer.addr] = peerCounts(peer, nowMs);
      out.keepalive[u.name] = this.idleUpstreamConnections(u);
    }
    return out;
  }

  private serverZoneOf(r: HttpContext): ZoneCounts | undefined {
    const name = r.server?.statusZone;
    return name === undefined ? undefined : this.serverZones.get(name);
  }

  private inFlight(socket: TrackedSocket, delta: number): void {
    const before = socket[kInFlight] ?? 0;
    const after = before + delta;
    socket[kInFlight] = after;
    if (before === 0 && after > 0) this.busySockets++;
    else if (before > 0 && after === 0) this.busySockets--;
  }
}
