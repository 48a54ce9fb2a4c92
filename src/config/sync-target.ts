/**
 * Where a zone exchanges its state with the rest of the fleet:
 * `sync=redis://HOST:PORT/DB` on `limit_req_zone` (with `sync_interval=`),
 * `sync redis://HOST:PORT/DB [interval=TIME];` in `throttle_zone`.
 */
import { ConfigError } from './errors';
import { parseTime } from './values';

export interface SyncTarget {
  /** The URL as written (status and log lines name it). */
  url: string;
  host: string;
  port: number;
  db: number;
  /** How often the instance exchanges deltas (the "at most every 100 ms" is the default). */
  intervalMs: number;
}

export const DEFAULT_SYNC_INTERVAL_MS = 100;
/** Below this a sync would cost more than the requests it accounts. */
const MIN_SYNC_INTERVAL_MS = 10;
const MAX_SYNC_INTERVAL_MS = 60_000;
/** Redis' default `databases 16`. */
const MAX_DB = 15;

/** `redis://HOST:PORT/DB` (Valkey speaks the same); DB defaults to 0. */
export function parseSyncUrl(url: string): Omit<SyncTarget, 'intervalMs'> {
  const m = /^redis:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})(?:\/(\d{1,2}))?$/.exec(url);
  const port = m === null ? 0 : Number(m[2]);
  const db = m?.[3] === undefined ? 0 : Number(m[3]);
  if (m === null || port < 1 || port > 65535 || db > MAX_DB) {
    throw new ConfigError(`invalid sync URL "${url}", it must be redis://HOST:PORT/DB`);
  }
  return { url, host: m[1].replace(/^\[|\]$/g, ''), port, db };
}

export function parseSyncInterval(text: string): number {
  const ms = parseTime(text);
  if (ms === undefined || ms < MIN_SYNC_INTERVAL_MS || ms > MAX_SYNC_INTERVAL_MS) {
    throw new ConfigError(`invalid sync interval "${text}", it must be from ${MIN_SYNC_INTERVAL_MS}ms to ${MAX_SYNC_INTERVAL_MS / 1000}s`);
  }
  return ms;
}

/** `limit_req_zone`'s `sync=URL` and `sync_interval=TIME`, once every argument is read. */
export function syncFromZoneArgs(url: string | undefined, interval: string | undefined): SyncTarget | undefined {
  if (url === undefined) {
    if (interval !== undefined) throw new ConfigError('"sync_interval" needs "sync"');
    return undefined;
  }
  return { ...parseSyncUrl(url), intervalMs: interval === undefined ? DEFAULT_SYNC_INTERVAL_MS : parseSyncInterval(interval) };
}

/** `sync redis://HOST:PORT/DB [interval=TIME];` inside `throttle_zone`. */
export function syncFromBlock(args: readonly string[]): SyncTarget {
  const [url, ...rest] = args;
  let intervalMs = DEFAULT_SYNC_INTERVAL_MS;
  rest.forEach((arg, i) => {
    if (i > 0 || !arg.startsWith('interval=')) throw new ConfigError(`invalid parameter "${arg}"`);
    intervalMs = parseSyncInterval(arg.slice('interval='.length));
  });
  return { ...parseSyncUrl(url), intervalMs };
}
