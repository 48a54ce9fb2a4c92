/**
 * The fleet's Redis/Valkey connections (ioredis): one per URL per
 * instance, opened by the worker that holds the fleet lease. Commands
 * never queue while the server is away: a sync that cannot reach it
 * fails at once, and the zone falls back to its share of the limit.
 */
import * as os from 'node:os';
import Redis from 'ioredis';
import type { SyncTarget } from '../config/sync-target';
import type { Script } from './scripts';

/** A sync that takes longer than this is a failed one (the next period tries again). */
const COMMAND_TIMEOUT_MS = 1000;
const RECONNECT_MAX_MS = 1000;

/** An instance's name in the heartbeats: the host and the master's pid, the same for every worker. */
export const INSTANCE_ID = `${os.hostname()}:${process.ppid}`;

export class RedisPool {
  private readonly clients = new Map<string, Redis>();

  client(target: SyncTarget): Redis {
    const name = `${target.host}:${target.port}/${target.db}`;
    let c = this.clients.get(name);
    if (c === undefined) {
      c = new Redis({
        host: target.host,
        port: target.port,
        db: target.db,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: COMMAND_TIMEOUT_MS,
        connectTimeout: COMMAND_TIMEOUT_MS,
        retryStrategy: (times) => Math.min(times * 100, RECONNECT_MAX_MS),
      });
      // Failures surface as the syncs' rejections, logged once per outage by the zone.
      c.on('error', () => undefined);
      this.clients.set(name, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.disconnect();
    this.clients.clear();
  }
}

/** Runs a script by its SHA, loading it on the first call (or after the server lost it). */
export async function runScript(c: Redis, s: Script, keys: string[], args: Array<string | number>): Promise<unknown[]> {
  try {
    return (await c.evalsha(s.sha, keys.length, ...keys, ...args)) as unknown[];
  } catch (e) {
    if (!String((e as Error).message).startsWith('NOSCRIPT')) throw e;
    return (await c.eval(s.lua, keys.length, ...keys, ...args)) as unknown[];
  }
}

/** Redis Cluster keeps one zone's keys in one slot through the `{...}` hash tag. */
export function redisKey(kind: string, zone: string, part: string): string {
  return `metricproxy:{${kind}:${zone}}:${part}`;
}
