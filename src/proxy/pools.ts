import { buildConnector, Pool } from 'undici';
import { skippingContinue } from './informational';
import { Peer, socketPathOf } from './upstream';
import { tlsConnector, type UpstreamTls } from './upstream-tls';

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
  /** Per peer, per connect timeout and TLS settings ("plain" without). */
  private readonly pools = new Map<Peer, Map<string, Pool>>();

  get(peer: Peer, connectTimeoutMs: number, tls: UpstreamTls | undefined): Pool {
    let byConnect = this.pools.get(peer);
    if (byConnect === undefined) this.pools.set(peer, (byConnect = new Map()));
    const key = `${connectTimeoutMs}/${tls?.key ?? 'plain'}`;
    let pool = byConnect.get(key);
    if (pool === undefined) {
      const socketPath = socketPathOf(peer.conf.host);
      const scheme = tls === undefined ? 'http' : 'https';
      const origin = socketPath === undefined ? `${scheme}://${peer.addr}` : `${scheme}://localhost`;
      const connect = skippingContinue(tls === undefined ? buildConnector({ timeout: connectTimeoutMs, socketPath }) : tlsConnector(tls, connectTimeoutMs));
      pool = new Pool(origin, { connections: null, socketPath, connect });
      byConnect.set(key, pool);
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
    for (const byConnect of this.pools.values()) all.push(...byConnect.values());
    this.pools.clear();
    await Promise.all(all.map((p) => p.close()));
  }
}
