import { afterEach, expect, it } from 'vitest';
import { approx, Example, startExample } from '../helpers/examples';

let ex: Example | undefined;
afterEach(async () => {
  await ex?.stop();
  ex = undefined;
});

it('map results are metric keys (conf/examples/map.conf): status class, route, tenant, an empty key skipped', async () => {
  ex = await startExample('map');
  const e = ex;
  await e.get('/');
  await e.get('/api/users?campaign=spring');
  await e.get('/api/orders', { 'X-Tenant': 'eu.acme.test' });
  await e.get('/other');
  expect((await e.get('/missing/x')).status).toBe(404);
  const zones = (await e.json('/metrics/')) as Record<string, { metrics: unknown }>;
  approx(zones.classes.metrics, { '2xx': 4, '4xx': 1 });
  // /missing/ has no `routes` metric: four requests, one per route.
  approx(zones.routes.metrics, { home: 1, api_users: 1, api_orders: 1, other: 1 });
  approx(zones.tenants.metrics, { anonymous: 3, acme: 1 });
  approx(zones.campaigns.metrics, { spring: 1 });
});
