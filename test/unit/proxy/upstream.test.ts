import { describe, expect, it } from 'vitest';
import { Peer, PeerConf, PeerOutcome, Upstream, parseHostPort } from '../../../src/proxy/upstream';

function server(addr: string, extra: Partial<PeerConf> = {}): PeerConf {
  const [host, port] = addr.split(':');
  return {
    server: addr,
    host,
    port: Number(port),
    weight: 1,
    maxFails: 1,
    failTimeoutMs: 10_000,
    backup: false,
    down: false,
    ...extra,
  };
}

const OK: PeerOutcome = { failed: false, status: 200, sent: 10, received: 20, headerMs: 4, responseMs: 6 };
const FAIL: PeerOutcome = { failed: true, status: 0, sent: 0, received: 0 };

/** One request: pick, report, return the address. */
function request(up: Upstream, now: number, outcome: PeerOutcome = OK): string | undefined {
  const sel = up.select();
  const peer = sel.next(now);
  if (peer === undefined) return undefined;
  sel.free(peer, outcome, now);
  return peer.addr;
}

/** Requests until round-robin lands on `peer`, then ends that attempt with `outcome`. */
function attemptOn(up: Upstream, peer: Peer, now: number, outcome: PeerOutcome): void {
  for (;;) {
    const sel = up.select();
    const p = sel.next(now)!;
    sel.free(p, p === peer ? outcome : OK, now);
    if (p === peer) return;
  }
}

function picks(up: Upstream, n: number, now = 0): string[] {
  return Array.from({ length: n }, () => request(up, now) ?? '-');
}

describe('smooth weighted round-robin', () => {
  it('weights 3:1 give nginx order a a b a over 8 picks', () => {
    const up = new Upstream('u', [server('10.0.0.1:80', { weight: 3 }), server('10.0.0.2:80')]);
    const a = '10.0.0.1:80';
    const b = '10.0.0.2:80';
    expect(picks(up, 8)).toEqual([a, a, b, a, a, a, b, a]);
  });

  it('weights 5:1:1 interleave as nginx documents (a a b a c a a)', () => {
    const up = new Upstream('u', [server('a:1', { weight: 5 }), server('b:1'), server('c:1')]);
    expect(picks(up, 7).map((s) => s[0])).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('equal weights alternate', () => {
    const up = new Upstream('u', [server('a:1'), server('b:1')]);
    expect(picks(up, 4).map((s) => s[0])).toEqual(['a', 'b', 'a', 'b']);
  });

  it('one request never picks the same peer twice and counts tries', () => {
    const up = new Upstream('u', [server('a:1'), server('b:1'), server('c:1')]);
    const sel = up.select();
    const seen: string[] = [];
    for (let p = sel.next(0); p !== undefined; p = sel.next(0)) {
      seen.push(p.addr);
      sel.free(p, FAIL, 0);
    }
    expect(new Set(seen).size).toBe(3);
    expect(sel.remaining).toBe(0);
  });

  it('proxy_next_upstream_tries caps the tries', () => {
    const up = new Upstream('u', [server('a:1'), server('b:1'), server('c:1')]);
    expect(up.select(2).remaining).toBe(2);
    expect(up.select(0).remaining).toBe(3);
  });
});

describe('passive health: max_fails / fail_timeout', () => {
  it('a peer failing max_fails times is skipped for fail_timeout, then probed again', () => {
    const up = new Upstream('u', [server('a:1', { maxFails: 2, failTimeoutMs: 1000 }), server('b:1')]);
    const a = up.primary[0];
    attemptOn(up, a, 100, FAIL);
    attemptOn(up, a, 100, FAIL);
    expect(a.failed).toBe(true);
    expect(a.state(500)).toBe('unavailable');
    expect(picks(up, 4, 500).every((x) => x === 'b:1')).toBe(true);
    // After fail_timeout the peer is usable again and a success clears its failures.
    expect(a.state(1100)).toBe('up');
    const seen = picks(up, 2, 1100);
    expect(seen).toContain('a:1');
    expect(a.fails).toBe(0);
    expect(a.stats.unavailable).toBe(1);
    expect(a.stats.downtimeMs).toBe(1000);
    expect(a.stats.fails).toBe(2);
  });

  it('a failed probe after fail_timeout disables the peer for another fail_timeout', () => {
    const up = new Upstream('u', [server('a:1', { failTimeoutMs: 1000 }), server('b:1')]);
    const a = up.primary[0];
    const failA = (now: number) => attemptOn(up, a, now, FAIL);
    failA(0);
    expect(a.usable(999)).toBe(false);
    failA(1000);
    expect(a.usable(1999)).toBe(false);
    expect(a.usable(2000)).toBe(true);
  });

  it('failures spread wider than fail_timeout do not add up', () => {
    const up = new Upstream('u', [server('a:1', { maxFails: 2, failTimeoutMs: 1000 }), server('b:1')]);
    const a = up.primary[0];
    const attempt = (now: number, outcome: PeerOutcome) => attemptOn(up, a, now, outcome);
    attempt(0, FAIL);
    attempt(5000, OK); // chosen long after the failure: it recovers
    expect(a.fails).toBe(0);
    attempt(6000, FAIL);
    expect(a.failed).toBe(false);
  });

  it('max_fails=0 disables the accounting', () => {
    const up = new Upstream('u', [server('a:1', { maxFails: 0 }), server('b:1')]);
    for (let i = 0; i < 5; i++) request(up, 0, FAIL);
    expect(up.primary[0].usable(0)).toBe(true);
    expect(up.primary[0].stats.fails).toBeGreaterThan(0);
  });

  it('a failing peer loses effective weight and regains it step by step', () => {
    const up = new Upstream('u', [server('a:1', { weight: 4, maxFails: 4 }), server('b:1')]);
    const a = up.primary[0];
    const sel = up.select();
    sel.next(0);
    sel.free(a, FAIL, 0);
    expect(a.effectiveWeight).toBe(3);
    up.select().next(1);
    expect(a.effectiveWeight).toBe(4);
  });

  it('a single-peer upstream is always tried', () => {
    const up = new Upstream('u', [server('a:1')]);
    for (let i = 0; i < 3; i++) expect(request(up, 0, FAIL)).toBe('a:1');
  });
});

describe('backup and down', () => {
  it('down peers are never used', () => {
    const up = new Upstream('u', [server('a:1', { down: true }), server('b:1')]);
    expect(picks(up, 3)).toEqual(['b:1', 'b:1', 'b:1']);
    expect(up.tries).toBe(1);
  });

  it('backups serve only when every primary is unavailable', () => {
    const up = new Upstream('u', [server('a:1'), server('b:1'), server('z:1', { backup: true })]);
    expect(picks(up, 4)).not.toContain('z:1');
    request(up, 0, FAIL);
    request(up, 0, FAIL);
    expect(picks(up, 2, 1)).toEqual(['z:1', 'z:1']);
  });

  it('one request falls through its primaries to the backup', () => {
    const up = new Upstream('u', [server('a:1'), server('b:1'), server('z:1', { backup: true })]);
    const sel = up.select();
    const order: string[] = [];
    for (let p = sel.next(0); p !== undefined; p = sel.next(0)) {
      order.push(p.addr);
      sel.free(p, FAIL, 0);
    }
    expect(order.slice(2)).toEqual(['z:1']);
    expect(order).toHaveLength(3);
  });

  it('no live peer at all yields undefined', () => {
    const up = new Upstream('u', [server('a:1', { down: true })]);
    expect(up.select().next(0)).toBeUndefined();
  });
});

describe('statistics', () => {
  it('counts selections, responses, bytes and time averages', () => {
    const up = new Upstream('u', [server('a:1')]);
    request(up, 1000);
    request(up, 2000, { ...OK, status: 404, headerMs: 8, responseMs: 10 });
    const s = up.primary[0].stats;
    expect(s.selectedTotal).toBe(2);
    expect(s.selectedCurrent).toBe(0);
    expect(s.selectedLastMs).toBe(2000);
    expect(s.responses).toEqual({ 200: 1, 404: 1 });
    expect(s.sent).toBe(20);
    expect(s.received).toBe(40);
    expect(s.headerTimeMs).toBe(5);
    expect(s.responseTimeMs).toBe(7);
  });

  it('peer addresses print like nginx', () => {
    expect(new Peer(server('127.0.0.1:8081')).addr).toBe('127.0.0.1:8081');
    expect(new Peer({ ...server('x:1'), host: '::1', port: 80 }).addr).toBe('[::1]:80');
  });
});

describe('parseHostPort', () => {
  it('parses hosts, ports and defaults', () => {
    expect(parseHostPort('127.0.0.1:8080', 'x')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHostPort('Backend', 'x')).toEqual({ host: 'Backend', port: 80 });
    expect(parseHostPort('[::1]:81', 'x')).toEqual({ host: '::1', port: 81 });
  });

  it('reports nginx phrases', () => {
    expect(() => parseHostPort(':80', 'upstream "u"')).toThrow('no host in upstream "u"');
    expect(() => parseHostPort('a:99999', 'upstream "u"')).toThrow('invalid port in upstream "u"');
    expect(() => parseHostPort('a:x', 'upstream "u"')).toThrow('invalid port');
  });
});
