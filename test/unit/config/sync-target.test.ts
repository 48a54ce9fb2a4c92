import { describe, expect, it } from 'vitest';
import { parseSyncUrl } from '../../../src/config/sync-target';
import { emerg, errorOf } from '../../helpers/config-errors';

const reqZone = (params: string) => `limit_req_zone $arg_k zone=a:1m rate=10r/s ${params};`;
/** A throttle_zone at line 3; its `sync` line is line 7. */
const throttleZone = (sync: string) => `metric_zone hits:1m count;\nthrottle_zone t:1m {\nwatch hits;\nabove 1;\nlimit rate=1r/s;\n${sync}\n}`;

// Each case: config (http body) → the one [emerg] line it fails with.
const CASES: Array<[string, string, string]> = [
  ['scheme not redis', reqZone('sync=http://127.0.0.1:6379/0'), emerg('invalid sync URL "http://127.0.0.1:6379/0", it must be redis://HOST:PORT/DB', 2)],
  ['no port', reqZone('sync=redis://cache/0'), emerg('invalid sync URL "redis://cache/0", it must be redis://HOST:PORT/DB', 2)],
  ['port 0', reqZone('sync=redis://cache:0/0'), emerg('invalid sync URL "redis://cache:0/0", it must be redis://HOST:PORT/DB', 2)],
  ['port too big', reqZone('sync=redis://cache:65536'), emerg('invalid sync URL "redis://cache:65536", it must be redis://HOST:PORT/DB', 2)],
  ['db past 15', reqZone('sync=redis://cache:6379/16'), emerg('invalid sync URL "redis://cache:6379/16", it must be redis://HOST:PORT/DB', 2)],
  ['credentials', reqZone('sync=redis://u:p@cache:6379/0'), emerg('invalid sync URL "redis://u:p@cache:6379/0", it must be redis://HOST:PORT/DB', 2)],
  ['empty URL', reqZone('sync='), emerg('invalid sync URL "", it must be redis://HOST:PORT/DB', 2)],
  ['interval too short', reqZone('sync=redis://cache:6379/0 sync_interval=5ms'), emerg('invalid sync interval "5ms", it must be from 10ms to 60s', 2)],
  ['interval garbage', reqZone('sync=redis://cache:6379/0 sync_interval=often'), emerg('invalid sync interval "often", it must be from 10ms to 60s', 2)],
  ['interval without sync', reqZone('sync_interval=100ms'), emerg('"sync_interval" needs "sync"', 2)],
  ['too many parameters', reqZone('sync=redis://c:1/0 sync_interval=1s x=1'), emerg('invalid number of arguments in "limit_req_zone" directive', 2)],
  ['throttle: bad URL', throttleZone('sync redis://cache;'), emerg('invalid sync URL "redis://cache", it must be redis://HOST:PORT/DB', 7)],
  ['throttle: unknown parameter', throttleZone('sync redis://cache:6379/0 every=1s;'), emerg('invalid parameter "every=1s"', 7)],
  ['throttle: two intervals', throttleZone('sync redis://cache:6379/0 interval=1s interval=2s;'), emerg('invalid parameter "interval=2s"', 7)],
  ['throttle: interval too long', throttleZone('sync redis://cache:6379/0 interval=2m;'), emerg('invalid sync interval "2m", it must be from 10ms to 60s', 7)],
  ['throttle: sync twice', throttleZone('sync redis://a:1/0;\nsync redis://b:1/0;'), emerg('"sync" directive is duplicate', 8)],
];

describe('fleet sync config errors, one [emerg] line each', () => {
  it.each(CASES)('%s', (_name, http, line) => {
    expect(errorOf(http)).toBe(line);
    expect(line.split('\n')).toHaveLength(1);
  });

  it('accepts host names, IPv4, IPv6 in brackets, a default DB and interval', () => {
    const ok = [
      reqZone('sync=redis://valkey.internal:6379/2 sync_interval=250ms').replace('zone=a', 'zone=a1'),
      reqZone('sync=redis://10.0.0.7:6380').replace('zone=a', 'zone=a2'),
      reqZone('sync=redis://[::1]:6379/0').replace('zone=a', 'zone=a3'),
      throttleZone('sync redis://127.0.0.1:6379/1 interval=50ms;'),
    ].join('\n');
    expect(errorOf(ok)).toBe('ok');
    expect(parseSyncUrl('redis://[::1]:6379')).toEqual({ url: 'redis://[::1]:6379', host: '::1', port: 6379, db: 0 });
  });
});
