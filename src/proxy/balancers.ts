import { isIPv4, isIPv6 } from 'node:net';
import { crc32 } from 'node:zlib';
import type { Peer } from './upstream';

/**
 * nginx's balancing methods for an `upstream` block, to the same picks:
 * round-robin, least_conn, hash (crc32 with the Cache::Memcached rehash
 * loop, or ketama with `consistent`), ip_hash and random [two]. Pure logic
 * over the peers' counters; the caller owns the tried set and the time.
 */

export type BalancerSpec =
  | { method: 'round_robin' }
  | { method: 'least_conn' }
  | { method: 'hash'; consistent: boolean }
  | { method: 'ip_hash' }
  | { method: 'random'; two: boolean };

/** What one request brings to the choice. */
export interface BalanceInput {
  /** The evaluated `hash` key, a latin1 byte string. */
  hashKey?: string;
  /** The client's address as the socket reports it. */
  clientAddr?: string;
}

/** Whether a request may take a peer now: not tried by it, not down, not failed within fail_timeout. */
export type Ready = (peer: Peer) => boolean;

/** One request's chooser; it may keep state across the request's tries (the hash methods do). */
export interface Picker {
  /** A peer of `group`, or undefined: the backups are next, or round-robin takes over (see Balancer). */
  pick(group: Peer[], ready: Ready): Peer | undefined;
}

export interface Balancer {
  readonly spec: BalancerSpec;
  /** The hash methods hand over to round-robin after 20 misses (nginx's `get_rr_peer`). */
  readonly roundRobinAfter: boolean;
  begin(input: BalanceInput): Picker;
}

/** nginx stops hashing after this many misses in one request. */
const MAX_TRIES = 20;
/** Points on the ketama ring per unit of weight. */
const POINTS_PER_WEIGHT = 160;

export function createBalancer(spec: BalancerSpec, primary: Peer[], random: () => number): Balancer {
  switch (spec.method) {
    case 'round_robin':
      return { spec, roundRobinAfter: false, begin: () => ({ pick: roundRobinPick }) };
    case 'least_conn':
      return { spec, roundRobinAfter: false, begin: () => ({ pick: leastConnPick }) };
    case 'hash': {
      if (!spec.consistent) return { spec, roundRobinAfter: true, begin: (input) => new HashPicker(keyBytes(input)) };
      const ring = new KetamaRing(primary);
      return { spec, roundRobinAfter: true, begin: (input) => new ConsistentHashPicker(ring, keyBytes(input)) };
    }
    case 'ip_hash':
      return { spec, roundRobinAfter: true, begin: (input) => new IpHashPicker(ipHashBytes(input.clientAddr ?? '')) };
    case 'random':
      return { spec, roundRobinAfter: true, begin: () => new RandomPicker(spec.two, random) };
  }
}

/** Smooth weighted round-robin: every ready peer gains its weight, the heaviest wins and pays the total. */
export function roundRobinPick(group: Peer[], ready: Ready): Peer | undefined {
  let best: Peer | undefined;
  let total = 0;
  for (const peer of group) {
    if (!ready(peer)) continue;
    gainWeight(peer);
    total += peer.effectiveWeight;
    if (best === undefined || peer.currentWeight > best.currentWeight) best = peer;
  }
  if (best !== undefined) best.currentWeight -= total;
  return best;
}

function gainWeight(peer: Peer): void {
  peer.currentWeight += peer.effectiveWeight;
  if (peer.effectiveWeight < peer.conf.weight) peer.effectiveWeight++;
}

/** Requests in flight relative to weight: negative when `a` is less loaded than `b`. */
function compareLoad(a: Peer, b: Peer): number {
  return a.stats.selectedCurrent * b.conf.weight - b.stats.selectedCurrent * a.conf.weight;
}

/** The fewest requests in flight per weight; ties among several go round-robin, from the first of them. */
export function leastConnPick(group: Peer[], ready: Ready): Peer | undefined {
  let best: Peer | undefined;
  let bestIndex = 0;
  let many = false;
  for (let i = 0; i < group.length; i++) {
    const peer = group[i];
    if (!ready(peer)) continue;
    const load = best === undefined ? -1 : compareLoad(peer, best);
    if (load < 0) {
      best = peer;
      bestIndex = i;
      many = false;
    } else if (load === 0) many = true;
  }
  if (best === undefined || !many) return best;
  let chosen: Peer = best;
  let total = 0;
  for (const peer of group.slice(bestIndex)) {
    if (!ready(peer) || compareLoad(peer, chosen) !== 0) continue;
    gainWeight(peer);
    total += peer.effectiveWeight;
    if (peer.currentWeight > chosen.currentWeight) chosen = peer;
  }
  chosen.currentWeight -= total;
  return chosen;
}

function totalWeight(group: Peer[]): number {
  return group.reduce((sum, p) => sum + p.conf.weight, 0);
}

/** The peer whose span of weight holds `w` (0 <= w < total weight), walking in config order. */
function byWeight(group: Peer[], w: number): Peer {
  let i = 0;
  while (w >= group[i].conf.weight) w -= group[i++].conf.weight;
  return group[i];
}

function keyBytes(input: BalanceInput): Buffer {
  return Buffer.from(input.hashKey ?? '', 'latin1');
}

/** `hash KEY`: ((crc32([REHASH] KEY) >> 16) & 0x7fff) summed over rehashes, modulo the total weight. */
class HashPicker implements Picker {
  private hash = 0;
  private rehash = 0;
  private tries = 0;

  constructor(private readonly key: Buffer) {}

  pick(group: Peer[], ready: Ready): Peer | undefined {
    if (this.tries > MAX_TRIES || group.length < 2 || this.key.length === 0) return undefined;
    const total = totalWeight(group);
    for (;;) {
      const crc = this.rehash > 0 ? crc32(this.key, crc32(String(this.rehash))) : crc32(this.key);
      this.hash += (crc >>> 16) & 0x7fff;
      this.rehash++;
      const peer = byWeight(group, this.hash % total);
      if (ready(peer)) return peer;
      if (++this.tries > MAX_TRIES) return undefined;
    }
  }
}

/**
 * nginx's ketama ring: per peer, weight*160 points crc32(HOST \0 PORT PREV),
 * PREV being the previous point as 4 little-endian bytes; sorted, duplicates dropped.
 */
export class KetamaRing {
  readonly hashes: Uint32Array;
  /** The `server` text (as written in the config) each point belongs to. */
  readonly servers: string[];

  constructor(peers: Peer[]) {
    const points: Array<{ hash: number; server: string }> = [];
    for (const peer of peers) {
      const base = crc32(ketamaBase(peer.conf.server));
      const prev = Buffer.alloc(4);
      for (let j = 0; j < peer.conf.weight * POINTS_PER_WEIGHT; j++) {
        const hash = crc32(prev, base);
        points.push({ hash, server: peer.conf.server });
        prev.writeUInt32LE(hash);
      }
    }
    points.sort((a, b) => a.hash - b.hash);
    const unique = points.filter((p, i) => i === 0 || p.hash !== points[i - 1].hash);
    this.hashes = Uint32Array.from(unique, (p) => p.hash);
    this.servers = unique.map((p) => p.server);
  }

  /** Index of the first point at or after `hash` (may equal the point count: it wraps on use). */
  find(hash: number): number {
    let i = 0;
    let j = this.hashes.length;
    while (i < j) {
      const k = (i + j) >>> 1;
      if (hash > this.hashes[k]) i = k + 1;
      else if (hash < this.hashes[k]) j = k;
      else return k;
    }
    return i;
  }
}

/** `HOST \0 PORT` of a server text: `unix:` paths have no port; the port is the digits after the last colon. */
function ketamaBase(server: string): Buffer {
  let host = server;
  let port = '';
  if (/^unix:/i.test(server)) host = server.slice(5);
  else {
    const m = /^(.*):(\d*)$/s.exec(server);
    if (m !== null) [host, port] = [m[1], m[2]];
  }
  return Buffer.concat([Buffer.from(host, 'latin1'), Buffer.from([0]), Buffer.from(port, 'latin1')]);
}

/** `hash KEY consistent`: the ring point at crc32(KEY), then the next points while their peer is not ready. */
class ConsistentHashPicker implements Picker {
  private point: number;
  private tries = 0;

  constructor(
    private readonly ring: KetamaRing,
    private readonly key: Buffer,
  ) {
    this.point = ring.find(crc32(key));
  }

  pick(group: Peer[], ready: Ready): Peer | undefined {
    if (this.tries > MAX_TRIES || group.length < 2 || this.key.length === 0) return undefined;
    for (;;) {
      const server = this.ring.servers[this.point % this.ring.servers.length];
      const best = roundRobinPick(group, (p) => p.conf.server === server && ready(p));
      if (best !== undefined) return best;
      this.point++;
      if (++this.tries > MAX_TRIES) return undefined;
    }
  }
}

/** `ip_hash`: hash = (hash * 113 + byte) % 6271 over the address bytes, from 89, carried across tries. */
class IpHashPicker implements Picker {
  private hash = 89;
  private tries = 0;

  constructor(private readonly addr: number[]) {}

  pick(group: Peer[], ready: Ready): Peer | undefined {
    if (this.tries > MAX_TRIES || group.length < 2) return undefined;
    const total = totalWeight(group);
    let hash = this.hash;
    for (;;) {
      for (const byte of this.addr) hash = (hash * 113 + byte) % 6271;
      const peer = byWeight(group, hash % total);
      if (ready(peer)) {
        this.hash = hash;
        return peer;
      }
      if (++this.tries > MAX_TRIES) return undefined;
    }
  }
}

/**
 * The bytes ip_hash reads: the first three octets of IPv4 (an IPv4-mapped
 * IPv6 address counts as IPv4, as $remote_addr shows it), all sixteen of
 * IPv6, three zeros for anything else (unix sockets).
 */
export function ipHashBytes(addr: string): number[] {
  const v4 = addr.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (isIPv4(v4)) return v4.split('.').slice(0, 3).map(Number);
  if (isIPv6(addr)) return ipv6Bytes(addr);
  return [0, 0, 0];
}

function ipv6Bytes(addr: string): number[] {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const groups = (s: string | undefined): number[] => (s === undefined || s === '' ? [] : s.split(':').flatMap(groupWords));
  const left = groups(head);
  const right = groups(tail);
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** One textual group as 16-bit words: a hex group, or a trailing dotted IPv4 (two words). */
function groupWords(group: string): number[] {
  if (!group.includes('.')) return [parseInt(group, 16)];
  const [a, b, c, d] = group.split('.').map(Number);
  return [(a << 8) | b, (c << 8) | d];
}

/** `random [two]`: a peer by weight; with `two`, the less loaded of two different ready peers. */
class RandomPicker implements Picker {
  private tries = 0;

  constructor(
    private readonly two: boolean,
    private readonly random: () => number,
  ) {}

  pick(group: Peer[], ready: Ready): Peer | undefined {
    if (this.tries > MAX_TRIES || group.length < 2) return undefined;
    const total = totalWeight(group);
    let first: Peer | undefined;
    for (;;) {
      const peer = byWeight(group, Math.floor(this.random() * total));
      if (peer !== first && ready(peer)) {
        if (!this.two) return peer;
        if (first !== undefined) return compareLoad(peer, first) > 0 ? first : peer;
        first = peer;
      }
      if (++this.tries > MAX_TRIES) return undefined;
    }
  }
}
