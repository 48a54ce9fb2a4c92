import { afterAll, beforeAll, expect, it } from 'vitest';
import { Example, startExample } from '../helpers/examples';
import type { Backend } from '../helpers/backends';
import { request, startBackend } from '../helpers/proc';
import { api } from './throttle-helpers';

let backend: Backend;
let ex: Example;

beforeAll(async () => {
  backend = await startBackend((_req, res) => setTimeout(() => res.end('ok'), 300));
  ex = await startExample('throttle', { '127.0.0.1:9000': `127.0.0.1:${backend.port}` });
});

afterAll(async () => {
  await ex?.stop();
  await backend?.close();
});

it('throttle.conf: an operator throttles a tenant to 1 in flight by PATCH; others pass; DELETE lifts it', async () => {
  const call = (tenant: string) => request(ex.proxy.url(ex.port, '/api/orders'), { headers: { 'x-tenant': tenant } });
  const patched = await api(ex.proxy.url(ex.port, '/throttle/acme'), 'PATCH', { max_concurrency: 1, ttl_seconds: 60, reason: 'runbook' });
  expect(patched.json).toMatchObject({ status: 'success', data: { state: 'MANUAL_THROTTLED', max_concurrency: 1 } });
  const [acme, other] = await Promise.all([Promise.all([call('acme'), call('acme')]), Promise.all([call('other'), call('other')])]);
  expect(acme.map((r) => r.status).sort()).toEqual([200, 429]);
  expect(other.map((r) => r.status)).toEqual([200, 200]);
  expect(await ex.json('/status/http/throttle_zones/tenants')).toMatchObject({ throttled: 1, triggers: 1, rejected: 1 });
  await api(ex.proxy.url(ex.port, '/throttle/acme'), 'DELETE');
  expect((await Promise.all([call('acme'), call('acme')])).map((r) => r.status)).toEqual([200, 200]);
});
