import { afterEach, describe, expect, it } from 'vitest';
import { approx, Example, startExample } from '../helpers/examples';

// Every example of Angie's metric module documentation (seed 002), with its
// config under conf/examples/, request for request.

let ex: Example | undefined;
afterEach(async () => {
  await ex?.stop();
  ex = undefined;
});

async function run(name: string, paths: string[]): Promise<Example> {
  ex = await startExample(name);
  for (const p of paths) await ex.get(p);
  return ex;
}

describe('modes, as in the docs', () => {
  it('count: any update adds 1', async () => {
    const e = await run('count', ['/metric/', '/metric/set/1', '/metric/set/23', '/metric/set/-32']);
    approx(await e.json('/api/'), { KEY: 4 });
  });

  it('gauge: an omitted value is 0, then +5 -5 +8', async () => {
    const e = await run('gauge', ['/metric/']);
    approx(await e.json('/api/'), { KEY: 0 });
    for (const v of ['5', '-5', '8']) await e.get(`/metric/set/${v}`);
    approx(await e.json('/api/'), { KEY: 8 });
  });

  it('last', async () => {
    const e = await run('last', ['/metric/']);
    approx(await e.json('/api/'), { KEY: 0 });
    for (const v of ['8000', '37', '-3.5']) await e.get(`/metric/set/${v}`);
    approx(await e.json('/api/'), { KEY: -3.5 });
  });

  it('min', async () => {
    const e = await run('min', ['/metric/set/42.999', '/metric/set/-512', '/metric/set/1', '/metric/']);
    approx(await e.json('/api/'), { KEY: -512 });
  });

  it('max', async () => {
    const e = await run('max', ['/metric/set/42.999', '/metric/set/-512', '/metric/set/1', '/metric/']);
    approx(await e.json('/api/'), { KEY: 42.999 });
  });

  it('average exp factor=60: 100 200 0 8 30 → 30.16', async () => {
    const e = await run('average-exp', ['/metric/set/100', '/metric/set/200', '/metric/set/0', '/metric/set/8', '/metric/set/30']);
    approx(await e.json('/api/'), { KEY: 30.16 });
  });

  it('histogram: cumulative buckets, keys spelled as in the config', async () => {
    const e = await run('histogram', ['/metric/set/0.25']);
    approx(await e.json('/api/'), { KEY: { '0.1': 0, '0.2': 0, '0.5': 1, '1': 1, '2': 1, inf: 1 } });
    await e.get('/metric/set/2');
    approx(await e.json('/api/'), { KEY: { '0.1': 0, '0.2': 0, '0.5': 1, '1': 1, '2': 2, inf: 2 } });
    await e.get('/metric/set/1000');
    approx(await e.json('/api/'), { KEY: { '0.1': 0, '0.2': 0, '0.5': 1, '1': 1, '2': 2, inf: 3 } });
  });
});

describe('zones and the API', () => {
  it('the introductory example: API requests counted by User-Agent, seen in /status/', async () => {
    ex = await startExample('api-requests');
    // on=request runs before the API answers, so the very request that reads it is already counted.
    const reply = await ex.get('/api/', { 'user-agent': 'Firefox' });
    const status = JSON.parse(reply.body) as { http: { metric_zones: unknown } };
    approx(status.http.metric_zones, { api_requests: { discarded: 0, metrics: { Firefox: 1 } } });
  });

  it('complex zone: every sub-metric with its own mode', async () => {
    ex = await startExample('complex');
    for (const v of ['20', '80']) await ex.get(`/req/key1/${v}`);
    approx(await ex.json('/api/'), {
      discarded: 0,
      metrics: { key1: { min_time: 20, avg_time: 56, max_time: 80, total: 2 } },
    });
    approx(await ex.json('/api/metrics/key1/max_time'), 80);
  });

  it('counting HTTP methods', async () => {
    ex = await startExample('http-methods');
    const methods = { GET: 3, POST: 2, PUT: 1, DELETE: 1 };
    for (const [method, n] of Object.entries(methods)) {
      for (let i = 0; i < n; i++) {
        const { request } = await import('../helpers/proc');
        await request(ex.proxy.url(ex.port, '/anything'), { method });
      }
    }
    approx(await ex.json('/metrics/'), methods);
  });
});

describe('variables, as in the docs', () => {
  it('$metric_NAME setter: `set $metric_counter $http_user_agent` counts per agent', async () => {
    ex = await startExample('variables');
    await ex.get('/metric/', { 'user-agent': 'curl' });
    await ex.get('/metric/', { 'user-agent': 'curl' });
    await ex.get('/metric/', { 'user-agent': 'wget' });
    approx(await ex.json('/api/'), { discarded: 0, metrics: { curl: 2, wget: 1 } });
  });

  it('$metric_gauge_key / _value, and the complex join format', async () => {
    ex = await startExample('variables');
    expect((await ex.get('/gauge/')).body).toBe("Updated with 'foo=1'\nValue='1'\n");
    expect((await ex.get('/complex/')).body).toBe("Updated with 'foo=0 0 1, 3'\nValue='0 0 1, 3'\n");
    expect((await ex.get('/foo/')).body).toBe("Updated with 'bar=1, 9, 9'\nValues='1, 9, 9'\nCount='1'\n");
  });
});
