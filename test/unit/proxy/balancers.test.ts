import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BalanceInput, BalancerSpec, KetamaRing, ipHashBytes } from '../../../src/proxy/balancers';
import { PeerConf, PeerOutcome, Upstream } from '../../../src/proxy/upstream';

function server(addr: string, extra: Partial<PeerConf> = {}): PeerConf {
  const [host, port] = addr.split(':');
  return { server: addr, host, port: Number(port), weight: 1, maxFails: 1, failTimeoutMs: 10_000, backup: false, down: false, ...extra };
}

const OK: PeerOutcome = { failed: false, status: 200, sent: 1, received: 1 };
const FAIL: PeerOutcome = { failed: true, status: 0, sent: 0, received: 0 };

function upstream(balancer: BalancerSpec, servers: PeerConf[], random?: () => number): Upstream {
  return new Upstream('u', servers, { balancer, random });
}

/** One finished request: the address it went to. */
function request(up: Upstream, input: BalanceInput = {}, now = 0): string {
  const sel = up.select(0, input);
  const peer = sel.next(now)!;
  sel.free(peer, OK, now);
  return peer.addr;
}

const three = () => [server('10.0.0.1:80'), server('10.0.0.2:80'), server('10.0.0.3:80')];

describe('least_conn', () => {
  it('sends a new request to the peer with fewer in flight', () => {
    const up = upstream({ method: 'least_conn' }, three());
    const held = [up.select().next(0)!, up.select().next(0)!];
    expect(held.map((p) => p.addr)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    expect(up.select().next(0)!.addr).toBe('10.0.0.3:80');
  });

  it('weighs in-flight counts by weight and breaks ties by weighted round-robin', () => {
    const up = upstream({ method: 'least_conn' }, [server('a:1', { weight: 3 }), server('b:1')]);
    // Nothing in flight: every pick is a tie, so the 3:1 round-robin order shows.
    expect(Array.from({ length: 4 }, () => request(up))).toEqual(['a:1', 'a:1', 'b:1', 'a:1']);
    const a = up.select().next(0)!;
    expect(a.addr).toBe('a:1');
    // a holds 1 of weight 3 (1/3), b none: b is less loaded.
    expect(up.select().next(0)!.addr).toBe('b:1');
    // a 1/3 against b 1/1: a.
    expect(up.select().next(0)!.addr).toBe('a:1');
  });

  it('moves to the backups when the primaries are out', () => {
    const up = upstream({ method: 'least_conn' }, [server('a:1'), server('b:1', { backup: true }), server('c:1', { backup: true })]);
    const sel = up.select();
    const first = sel.next(0)!;
    sel.free(first, FAIL, 0);
    const backup = sel.next(0)!;
    expect(backup.addr).toBe('b:1');
    // b holds a request: c has fewer in flight.
    const other = up.select();
    const c = other.next(1)!;
    expect(c.addr).toBe('c:1');
    other.free(c, OK, 1);
    sel.free(backup, OK, 1);
    expect(new Set([request(up, {}, 2), request(up, {}, 2)])).toEqual(new Set(['b:1', 'c:1']));
  });
});

describe('hash KEY', () => {
  it('maps a key as nginx: ((crc32(key) >> 16) & 0x7fff) modulo the total weight', () => {
    const up = upstream({ method: 'hash', consistent: false }, [server('a:1', { weight: 2 }), server('b:1'), server('c:1')]);
    for (const key of ['alice', 'bob', 'carol', 'dave', 'eve']) {
      const w = ((crc32(key) >>> 16) & 0x7fff) % 4;
      expect(request(up, { hashKey: key })).toBe(['a:1', 'a:1', 'b:1', 'c:1'][w]);
    }
  });

  it('rehashes past a failed peer with "1" + key, adding to the previous hash', () => {
    const up = upstream({ method: 'hash', consistent: false }, three());
    const key = 'k42';
    const first = (crc32(key) >>> 16) & 0x7fff;
    const firstPeer = up.primary[first % 3];
    const sel = up.select(0, { hashKey: key });
    expect(sel.next(0)).toBe(firstPeer);
    sel.free(firstPeer, FAIL, 0);
    let hash = first;
    let rehash = 1;
    let expected = firstPeer;
    while (expected === firstPeer) {
      hash += (crc32(key, crc32(String(rehash++))) >>> 16) & 0x7fff;
      expected = up.primary[hash % 3];
    }
    expect(sel.next(0)).toBe(expected);
  });

  it('an empty key goes round-robin', () => {
    const up = upstream({ method: 'hash', consistent: false }, three());
    expect([request(up, { hashKey: '' }), request(up, { hashKey: '' })]).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
  });

  it('a down peer is hashed past; after 20 misses round-robin chooses', () => {
    const up = upstream({ method: 'hash', consistent: false }, [server('a:1'), server('b:1', { down: true })]);
    for (let i = 0; i < 50; i++) expect(request(up, { hashKey: `key${i}` })).toBe('a:1');
  });
});

describe('hash KEY consistent (ketama)', () => {
  it('puts weight * 160 points per peer on the ring, crc32(host \\0 port prev) chained', () => {
    const up = new Upstream('u', [server('127.0.0.1:8081', { weight: 2 }), server('127.0.0.1:8082')]);
    const ring = new KetamaRing(up.primary);
    expect(ring.hashes.length).toBe(480);
    const base = crc32(Buffer.from('127.0.0.1\x008082', 'latin1'));
    const p0 = crc32(Buffer.alloc(4), base);
    const prev = Buffer.alloc(4);
    prev.writeUInt32LE(p0);
    const p1 = crc32(prev, base);
    for (const h of [p0, p1]) expect(ring.servers[ring.find(h)]).toBe('127.0.0.1:8082');
    expect([...ring.hashes]).toEqual([...ring.hashes].sort((a, b) => a - b));
  });

  it('a key goes to the first point at or after crc32(key), wrapping around', () => {
    const up = upstream({ method: 'hash', consistent: true }, three());
    const ring = new KetamaRing(up.primary);
    for (const key of ['x', 'y', 'z', 'user17']) {
      const server = ring.servers[ring.find(crc32(key)) % ring.servers.length];
      expect(request(up, { hashKey: key })).toBe(server);
    }
  });

  it('removing a peer moves only the keys it held', () => {
    const all = upstream({ method: 'hash', consistent: true }, three());
    const fewer = upstream({ method: 'hash', consistent: true }, three().slice(0, 2));
    let moved = 0;
    for (let i = 0; i < 1000; i++) {
      const key = `user${i}`;
      const before = request(all, { hashKey: key });
      const after = request(fewer, { hashKey: key });
      if (before !== '10.0.0.3:80') expect(after).toBe(before);
      else moved++;
    }
    expect(moved).toBeGreaterThan(200);
  });

  it('a failed peer passes its keys to the next points', () => {
    const up = upstream({ method: 'hash', consistent: true }, [server('a:1', { failTimeoutMs: 1000 }), server('b:1')]);
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const onA = keys.filter((k) => request(up, { hashKey: k }) === 'a:1');
    expect(onA.length).toBeGreaterThan(0);
    const sel = up.select(0, { hashKey: onA[0] });
    sel.free(sel.next(0)!, FAIL, 0);
    for (const k of onA) expect(request(up, { hashKey: k }, 10)).toBe('b:1');
    for (const k of onA) expect(request(up, { hashKey: k }, 2000)).toBe('a:1');
  });
});

describe('ip_hash', () => {
  it('reads the first three octets of IPv4, sixteen bytes of IPv6, three zeros otherwise', () => {
    expect(ipHashBytes('192.168.7.9')).toEqual([192, 168, 7]);
    expect(ipHashBytes('::ffff:10.1.2.3')).toEqual([10, 1, 2]);
    expect(ipHashBytes('2001:db8::1')).toEqual([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]);
    expect(ipHashBytes('')).toEqual([0, 0, 0]);
  });

  it('hashes (h * 113 + byte) % 6271 from 89: one /24 goes to one peer', () => {
    const up = upstream({ method: 'ip_hash' }, three());
    let h = 89;
    for (const b of [192, 168, 7]) h = (h * 113 + b) % 6271;
    const expected = up.primary[h % 3].addr;
    for (const last of [1, 50, 254]) expect(request(up, { clientAddr: `192.168.7.${last}` })).toBe(expected);
  });
});

describe('random', () => {
  it('picks by weight with the given source of randomness', () => {
    const up = upstream({ method: 'random', two: false }, [server('a:1', { weight: 3 }), server('b:1')], () => 0.8);
    expect(request(up)).toBe('b:1');
    const low = upstream({ method: 'random', two: false }, [server('a:1', { weight: 3 }), server('b:1')], () => 0.7);
    expect(request(low)).toBe('a:1');
  });

  it('two: of two different peers, the one with fewer in flight (the second on a tie, as nginx)', () => {
    const rolls = [0.1, 0.9, 0.1, 0.9];
    const up = upstream({ method: 'random', two: true }, [server('a:1'), server('b:1')], () => rolls.shift() ?? 0);
    const held = up.select().next(0)!;
    expect(held.addr).toBe('b:1');
    expect(up.select().next(0)!.addr).toBe('a:1');
  });

  it('never picks a down peer', () => {
    const up = upstream({ method: 'random', two: false }, [server('a:1', { down: true }), server('b:1')]);
    for (let i = 0; i < 30; i++) expect(request(up)).toBe('b:1');
  });
});
