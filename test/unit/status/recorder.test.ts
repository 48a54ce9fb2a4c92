import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { HttpContext } from '../../../src/http/context';
import { Upstream } from '../../../src/proxy/upstream';
import { RequestBytes, StatusRecorder } from '../../../src/status/recorder';
import { emptyZone } from '../../../src/status/snapshot';

class FakeSocket extends EventEmitter {
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

const BYTES: RequestBytes = { received: () => 10, sent: () => 100 };

function recorder(maxConnections = 100, upstreams: Upstream[] = [], idle = () => 0): StatusRecorder {
  const rec = new StatusRecorder(maxConnections, BYTES, () => upstreams, idle);
  rec.serverZones.set('front', emptyZone());
  rec.locationZones.set('api', emptyZone());
  return rec;
}

function request(socket: FakeSocket, statusZone: string | undefined): HttpContext {
  return { server: { statusZone }, req: { socket }, moduleCtx: {}, headerSent: false, status: 0 } as unknown as HttpContext;
}

function respond(r: HttpContext, status: number): void {
  r.headerSent = true;
  r.status = status;
}

function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

describe('StatusRecorder connections', () => {
  it('counts accepted and active, and drops connections beyond worker_connections', () => {
    const rec = recorder(2);
    const sockets = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
    for (const s of sockets) rec.onConnection(s as unknown as Socket);
    expect(sockets.map((s) => s.destroyed)).toEqual([false, false, true]);
    expect(rec.counts(0).connections).toEqual({ accepted: 3, dropped: 1, active: 2, idle: 2 });
    sockets[0].emit('close');
    expect(rec.counts(0).connections).toEqual({ accepted: 3, dropped: 1, active: 1, idle: 1 });
  });

  it('a connection with a request in flight is not idle', () => {
    const rec = recorder();
    const [a, b] = [new FakeSocket(), new FakeSocket()];
    rec.onConnection(a as unknown as Socket);
    rec.onConnection(b as unknown as Socket);
    const first = request(a, undefined);
    const pipelined = request(a, undefined);
    rec.requestStarted(first);
    rec.requestStarted(pipelined);
    expect(rec.counts(0).connections.idle).toBe(1);
    rec.requestFinished(first, undefined);
    expect(rec.counts(0).connections.idle).toBe(1);
    rec.requestFinished(pipelined, undefined);
    expect(rec.counts(0).connections.idle).toBe(2);
  });
});

describe('StatusRecorder zones', () => {
  it('counts a server zone from the start (processing) to the end (response and bytes)', () => {
    const rec = recorder();
    const r = request(new FakeSocket(), 'front');
    rec.requestStarted(r);
    expect(plain(rec.counts(0).serverZones.front)).toEqual({ ...emptyZone(), requests: 1, processing: 1 });
    respond(r, 404);
    rec.requestFinished(r, undefined);
    expect(plain(rec.counts(0).serverZones.front)).toEqual({
      requests: 1, processing: 0, discarded: 0, responses: { '404': 1 }, received: 10, sent: 100,
    });
  });

  it('a request that ended with no response sent is discarded, not a response', () => {
    const rec = recorder();
    const r = request(new FakeSocket(), 'front');
    rec.requestStarted(r);
    r.status = 499;
    rec.requestFinished(r, rec.locationZones.get('api'));
    const c = rec.counts(0);
    expect(c.serverZones.front).toMatchObject({ requests: 1, processing: 0, discarded: 1 });
    expect(Object.keys(c.serverZones.front.responses)).toEqual([]);
    expect(c.locationZones.api).toMatchObject({ requests: 1, discarded: 1 });
  });

  it('a request refused before its phases ran is counted at its end', () => {
    const rec = recorder();
    const r = request(new FakeSocket(), 'front');
    respond(r, 400);
    rec.requestFinished(r, undefined);
    expect(plain(rec.counts(0).serverZones.front)).toMatchObject({ requests: 1, processing: 0, responses: { '400': 1 } });
  });

  it('counts the location zone of the location that answered', () => {
    const rec = recorder();
    const r = request(new FakeSocket(), undefined);
    rec.requestStarted(r);
    respond(r, 200);
    rec.requestFinished(r, rec.locationZones.get('api'));
    expect(plain(rec.counts(0).locationZones.api)).toEqual({
      requests: 1, processing: 0, discarded: 0, responses: { '200': 1 }, received: 10, sent: 100,
    });
    expect(rec.counts(0).serverZones.front.requests).toBe(0);
  });
});

describe('StatusRecorder peers', () => {
  it('snapshots every peer of every upstream with its state, and the idle connections', () => {
    const peer = { server: 'localhost:81', host: '127.0.0.1', port: 81, weight: 2, maxFails: 1, failTimeoutMs: 10_000, backup: false, down: false };
    const up = new Upstream('backend', [peer, { ...peer, server: '127.0.0.1:82', port: 82, backup: true }]);
    const sel = up.select();
    const chosen = sel.next(1000)!;
    sel.free(chosen, { failed: false, status: 200, sent: 50, received: 70, headerMs: 4, responseMs: 6 }, 1010);
    const sel2 = up.select();
    const failed = sel2.next(2000)!;
    sel2.free(failed, { failed: true, status: 0, sent: 0, received: 0 }, 2005);
    const c = recorder(100, [up], (u) => (u === up ? 3 : 0)).counts(2010);
    expect(plain(c.peers.backend['127.0.0.1:81'])).toEqual({
      selected: 2, current: 0, last: 2000, responses: { '200': 1 }, sent: 50, received: 70,
      fails: 1, unavailable: 1, downtime: 0, downstart: 2005, state: 'unavailable', headerTime: 4, responseTime: 6,
    });
    expect(c.peers.backend['127.0.0.1:82']).toMatchObject({ selected: 0, state: 'up' });
    expect(c.keepalive).toEqual({ backend: 3 });
  });
});
