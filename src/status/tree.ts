import * as fs from 'node:fs';
import { ApiNode, type ApiRequest, fromValue, ReadCtx, StaticObject } from '../api/tree';
import type { Peer, Upstream } from '../proxy/upstream';
import { emptyPeer, emptyZone, PeerCounts, record, StatusCounts, ZoneCounts } from './snapshot';

const VERSION: string = require('../../package.json').version;

/** The compiled code's own date: when this build was made. */
const BUILD_TIME = fs.statSync(__filename).mtime.toISOString();

/** What the `/status/angie` block reports about the running instance. */
export interface InstanceInfo {
  generation(): number;
  loadTime(): Date;
  /** `$server_addr` of the request being answered. */
  address(r: ApiRequest): string;
}

/** Everything the status branches read, summed over all workers once per response (one snapshot). */
export type CountsOf = (ctx: ReadCtx) => StatusCounts;

/** `/status/angie`: Angie's fields only (ngx_api.c), each read when asked for. */
export function angieNode(info: InstanceInfo): StaticObject {
  return new StaticObject()
    .set('version', VERSION)
    .set('build_time', BUILD_TIME)
    .set('address', (ctx) => (ctx.request === undefined ? '' : info.address(ctx.request)))
    .set('generation', () => info.generation())
    .set('load_time', () => info.loadTime().toISOString());
}

/** `/status/metricproxy`: metricproxy's own branch (its name and version; modules mount their extras under it). */
export function metricproxyNode(): StaticObject {
  return new StaticObject().set('name', 'metricproxy').set('version', VERSION);
}

export function connectionsNode(counts: CountsOf): (ctx: ReadCtx) => ApiNode {
  return (ctx) => fromValue(counts(ctx).connections);
}

function zoneView(z: ZoneCounts, withProcessing: boolean): object {
  const requests = withProcessing
    ? { total: z.requests, processing: z.processing, discarded: z.discarded }
    : { total: z.requests, discarded: z.discarded };
  // Status codes are integer-like keys: JS lists them in numeric order whatever order workers saw them in.
  const body = { requests, responses: z.responses, data: { received: z.received, sent: z.sent } };
  // Angie lists `ssl` first, for servers that listen with TLS only.
  return z.ssl === undefined ? body : { ssl: z.ssl, ...body };
}

/** `/status/http/server_zones` (with `processing`) or `location_zones` (without): every configured zone. */
export function zonesNode(counts: CountsOf, names: () => Iterable<string>, kind: 'server' | 'location'): (ctx: ReadCtx) => ApiNode {
  return (ctx) => {
    const all = kind === 'server' ? counts(ctx).serverZones : counts(ctx).locationZones;
    const out = record<object>();
    for (const name of names()) out[name] = zoneView(all[name] ?? emptyZone(), kind === 'server');
    return fromValue(out);
  };
}

function isoTime(ms: number): string | undefined {
  return ms > 0 ? new Date(ms).toISOString() : undefined;
}

/** One peer as Angie shows it; `last` and `downstart` only once they happened. */
function peerView(peer: Peer, c: PeerCounts): object {
  const selected = { current: c.current, total: c.selected, last: isoTime(c.last) };
  const health = {
    fails: c.fails,
    unavailable: c.unavailable,
    downtime: c.downtime,
    downstart: c.state === 'unavailable' ? isoTime(c.downstart) : undefined,
    header_time: Math.round(c.headerTime),
    response_time: Math.round(c.responseTime),
  };
  return {
    server: peer.conf.server,
    backup: peer.conf.backup,
    weight: peer.conf.weight,
    // A peer no live worker reported on is as configured.
    state: peer.conf.down ? 'down' : c.state,
    selected: withoutUndefined(selected),
    responses: c.responses,
    data: { sent: c.sent, received: c.received },
    health: withoutUndefined(health),
  };
}

function withoutUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** `/status/http/upstreams`: every `upstream` block, its peers keyed by address. */
export function upstreamsNode(counts: CountsOf, upstreams: () => Iterable<Upstream>): (ctx: ReadCtx) => ApiNode {
  return (ctx) => {
    const all = counts(ctx);
    const out = record<object>();
    for (const u of upstreams()) {
      const seen = all.peers[u.name] ?? {};
      const peers = record<object>();
      for (const peer of u.peers) peers[peer.addr] = peerView(peer, seen[peer.addr] ?? emptyPeer());
      out[u.name] = { peers, keepalive: all.keepalive[u.name] ?? 0 };
    }
    return fromValue(out);
  };
}
