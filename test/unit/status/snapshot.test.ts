import { describe, expect, it } from 'vitest';
import {
  emptyCounts,
  emptyPeer,
  emptyZone,
  PeerCounts,
  retireInto,
  STALE_AFTER_MS,
  StatusCounts,
  sumRecords,
  ZoneCounts,
} from '../../../src/status/snapshot';

const NOW = 1_000_000;

function zone(over: Partial<ZoneCounts>): ZoneCounts {
  return { ...emptyZone(), ...over };
}

function peer(over: Partial<PeerCounts>): PeerCounts {
  return { ...emptyPeer(), ...over };
}

function counts(over: Partial<StatusCounts>): StatusCounts {
  return { ...emptyCounts(), ...over };
}

/** Plain objects, for toEqual against records without prototypes. */
function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

describe('sumRecords', () => {
  it('sums cumulative counters over every record, gauges over live ones only', () => {
    const live = counts({
      connections: { accepted: 5, dropped: 1, active: 3, idle: 2 },
      serverZones: { a: zone({ requests: 4, processing: 2, discarded: 1, responses: { '200': 3 }, received: 10, sent: 20 }) },
    });
    const stale = counts({
      connections: { accepted: 7, dropped: 0, active: 9, idle: 9 },
      serverZones: { a: zone({ requests: 6, processing: 5, responses: { '200': 1, '404': 5 }, received: 1, sent: 2 }) },
    });
    const retired = counts({ connections: { accepted: 100, dropped: 2, active: 0, idle: 0 } });
    const total = sumRecords(
      [
        { beat: NOW - 10, counts: live },
        { beat: NOW - STALE_AFTER_MS - 1, counts: stale },
        { beat: 0, counts: retired },
      ],
      NOW,
    );
    expect(total.connections).toEqual({ accepted: 112, dropped: 3, active: 3, idle: 2 });
    expect(plain(total.serverZones)).toEqual({
      a: { requests: 10, processing: 2, discarded: 1, responses: { '200': 4, '404': 5 }, received: 11, sent: 22 },
    });
  });

  it('combines peers: latest selection, longest downtime, weighted averages, unavailable wins among live workers', () => {
    const a = peer({ selected: 1, current: 1, last: 50, responses: { '200': 1 }, fails: 1, downtime: 30, headerTime: 10, responseTime: 20 });
    const b = peer({ selected: 3, last: 70, fails: 2, unavailable: 1, downtime: 10, state: 'unavailable', downstart: 60, headerTime: 30, responseTime: 40 });
    const dead = peer({ selected: 4, current: 7, last: 90, state: 'unavailable', downstart: 5, headerTime: 0, responseTime: 0 });
    const total = sumRecords(
      [
        { beat: NOW, counts: counts({ peers: { u: { p: a } }, keepalive: { u: 2 } }) },
        { beat: NOW, counts: counts({ peers: { u: { p: b } }, keepalive: { u: 1 } }) },
        { beat: NOW - STALE_AFTER_MS - 1, counts: counts({ peers: { u: { p: dead } }, keepalive: { u: 5 } }) },
      ],
      NOW,
    );
    expect(plain(total.peers.u.p)).toEqual({
      selected: 8,
      current: 1,
      last: 90,
      responses: { '200': 1 },
      sent: 0,
      received: 0,
      fails: 3,
      unavailable: 1,
      downtime: 30,
      downstart: 60,
      state: 'unavailable',
      headerTime: (10 * 1 + 30 * 3) / 8,
      responseTime: (20 * 1 + 40 * 3) / 8,
    });
    expect(total.keepalive.u).toBe(3);
  });

  it('keeps names like __proto__ as plain keys', () => {
    const snap = JSON.parse('{"connections":{"accepted":0,"dropped":0,"active":0,"idle":0},"serverZones":{"__proto__":{"requests":2,"processing":0,"discarded":0,"responses":{},"received":0,"sent":0}},"locationZones":{},"peers":{},"keepalive":{}}');
    const total = sumRecords([{ beat: NOW, counts: snap }], NOW);
    expect(Object.keys(total.serverZones)).toEqual(['__proto__']);
    expect(total.serverZones['__proto__'].requests).toBe(2);
  });
});

describe('retireInto', () => {
  it('adds what an exiting worker counted to the retired record and drops its gauges', () => {
    const retired = { beat: 0, counts: counts({ connections: { accepted: 3, dropped: 0, active: 0, idle: 0 } }) };
    const own = {
      beat: NOW,
      counts: counts({
        connections: { accepted: 2, dropped: 1, active: 4, idle: 1 },
        locationZones: { l: zone({ requests: 2, processing: 1, responses: { '204': 2 } }) },
      }),
    };
    const next = retireInto(retired, own);
    expect(next.beat).toBe(0);
    expect(next.counts.connections).toEqual({ accepted: 5, dropped: 1, active: 0, idle: 0 });
    expect(plain(next.counts.locationZones.l)).toEqual(zone({ requests: 2, responses: { '204': 2 } }));
    expect(retireInto(undefined, own).counts.connections.accepted).toBe(2);
  });
});
