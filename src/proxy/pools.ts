import { Pool } from 'undici';
import { Peer, socketPathOf } from './upstream';

/**
 * undici connection pools, one per peer (and per proxy_connect_timeout,
 * which undici fixes per pool). Created on first use, so loading a config
 * (the master, `-t`) opens nothing.
 *
 * `connections` is left unbounded: like nginx, one upstream connection per
 * request in flight; a cap would queue requests inside undici where
 * proxy_read_timeout cannot see them. Idle connections are kept alive and
 * closed after undici's keepAliveTimeout (or the upstream's Keep-Alive hint).
 */
export class PeerPools {
  private readonly pools = new Map<Peer, Map<number, Pool>>();

  get(peer: Peer, connectTimeoutMs: number): Pool {
    let byTimeout = this.pools.get(peer);
    if (byTimeout === undefined) this.pools.set(peer, (byTimeout = new Map()));
    let pool = byTimeout.get(connectTimeoutMs);
    if (pool === undefined) {
      const socketPath = socketPathOf(peer.conf.host);
      const origin = socketPath === undefined ? `http://${peer.addr}` : 'http://localhost';
      pool = new Pool(origin, { connections: null, socketPath, connect: { timeout: connectTimeoutMs } });
      byTimeout.set(connectTimeoutMs, pool);
    }
    return pool;
  }

  /** Open connections to `peers` with no request on them: Angie's upstream `keepalive`. */
  idle(peers: Iterable<Peer>): number {
    let n = 0;
    for (const peer of peers) for (const pool of this.pools.get(peer)?.values() ?? []) n += pool.stats.free;
    return n;
  }

  /** Lets in-flight requests finish, then closes every connection. */
  async close(): Promise<void> {
    const all: Pool[] = [];
    for (const byTimeout of this.pools.values()) all.push(...byTimeout.values());
    this.pools.clear();
    await Promise.all(all.map((p) => p.close()));
  }
}
