import { afterAll, beforeAll, expect, it } from 'vitest';
import { Example, startExample } from '../helpers/examples';
import { Backend, request, startBackend } from '../helpers/proc';
import { until } from './status-helpers';

let backend: Backend;
let ex: Example;

beforeAll(async () => {
  backend = await startBackend((_req, res) => res.end('ok'));
  ex = await startExample('rate-limit', { '127.0.0.1:9000': `127.0.0.1:${backend.port}` });
});

afterAll(async () => {
  await ex?.stop();
  await backend?.close();
});

const statuses = async (path: string, n: number, key?: string) => {
  const headers: Record<string, string> = key === undefined ? {} : { 'X-Api-Key': key };
  const replies = await Promise.all(Array.from({ length: n }, () => request(ex.proxy.url(ex.port, path), { headers })));
  return replies.map((r) => r.status).sort();
};

it('rate-limit.conf: per key, a burst of 20 at once then 429; no key, no limit; the beta limit only counts', async () => {
  const start = Date.now();
  const a = await statuses('/api/orders', 40, 'key-a');
  const passed = a.filter((s) => s === 200).length;
  // The first and the burst of 20 at once, then 10 per second of however long 40 requests took to arrive.
  expect(passed).toBeGreaterThanOrEqual(21);
  expect(passed).toBeLessThanOrEqual(21 + Math.ceil((10 * (Date.now() - start)) / 1000));
  expect(a.filter((s) => s === 429)).toHaveLength(40 - passed);
  // Another key has its own bucket; requests without a key are not limited.
  expect(await statuses('/api/orders', 3, 'key-b')).toEqual([200, 200, 200]);
  expect(new Set(await statuses('/api/orders', 25))).toEqual(new Set([200]));
  expect(new Set(await statuses('/api/beta/x', 10, 'key-a'))).toEqual(new Set([200]));
  await until(
    () => ex.json('/status/http/limit_reqs/') as Promise<Record<string, Record<string, number>>>,
    (z) => z.per_key.passed === passed + 3 && z.per_key.rejected === 40 - passed && z.beta.passed === 6 && z.beta.rejected === 4,
    'counters',
  );
});
