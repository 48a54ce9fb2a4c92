import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAlertmanager, type Alertmanager } from '../helpers/alertmanager';
import { freePorts, getJson, Proxy, request, startProxy } from '../helpers/proc';
import { until } from './status-helpers';
import { api } from './throttle-helpers';

/** `paged` alerts a real Alertmanager, `lost` (on another metric) one that is not there. */
const config = (port: number, am: string, dead: number) => `
worker_processes 2;
http {
    access_log off;
    metric_zone load:1m last;
    metric_zone other:1m last;
    throttle_zone paged:1m { watch load; above 5; samples 2; interval 300ms; limit max_concurrency=1; exempt ops; alert ${am}; }
    throttle_zone lost:1m  { watch other; above 5; samples 2; interval 300ms; limit max_concurrency=1; alert http://127.0.0.1:${dead}; }
    server {
        listen 127.0.0.1:${port};
        location /report { metric load $arg_k=$arg_v; return 204; }
        location /report-other { metric other $arg_k=$arg_v; return 204; }
        location /paged/ { throttle_api paged; }
        location /lost/ { throttle_api lost; }
        location /status/ { api /status/; }
    }
}`;

let am: Alertmanager;
let proxy: Proxy;
let port: number;
const url = (p: string) => `http://127.0.0.1:${port}${p}`;
const alertOf = async (key: string) => (await am.alerts()).find((a) => a.labels.key === key && a.labels.zone === 'paged');

beforeAll(async () => {
  am = await startAlertmanager();
  const [p, dead] = await freePorts(2);
  port = p;
  proxy = await startProxy(config(port, am.url, dead), [port]);
});

afterAll(async () => {
  await proxy?.stop();
  await am?.stop();
});

describe('throttle alerts to a real Alertmanager', () => {
  it('fires on AUTO_THROTTLED with zone/key/rule labels and resolves on release', async () => {
    await request(url('/report?k=A&v=9'));
    await until(() => alertOf('A'), (a) => a?.status.state === 'active', 'firing alert for A');
    expect((await alertOf('A'))?.labels).toMatchObject({ alertname: 'MetricproxyThrottle', zone: 'paged', key: 'A', rule: 'load above 5' });
    await until(async () => (await api(url('/paged/A'))).json.data, (d) => (d as { alert: string }).alert === 'FIRING', 'record shows FIRING');
    await request(url('/report?k=A&v=1'));
    expect(await api(url('/paged/A'), 'DELETE')).toMatchObject({ status: 200, json: { data: { state: 'RELEASED' } } });
    // Alertmanager lists active alerts only: a resolved one leaves the list.
    await until(() => alertOf('A'), (a) => a === undefined, 'alert for A resolved');
    await until(async () => (await api(url('/paged/A'))).json.data, (d) => (d as { alert: string }).alert === 'RESOLVED', 'record shows RESOLVED');
  });

  it('an automatic throttle an operator took over still resolves its alert on release', async () => {
    await request(url('/report?k=G&v=9'));
    await until(async () => (await api(url('/paged/G'))).json.data, (d) => (d as { alert?: string } | undefined)?.alert === 'FIRING', 'G firing');
    expect(await api(url('/paged/G'), 'PATCH', { max_concurrency: 2, reason: 'taken over' })).toMatchObject({ json: { data: { source: 'manual', alert: 'FIRING' } } });
    await request(url('/report?k=G&v=1'));
    await api(url('/paged/G'), 'DELETE');
    await until(() => alertOf('G'), (a) => a === undefined, 'alert for G resolved');
  });

  it('an exempt key breaching is alerted on, not throttled', async () => {
    await request(url('/report?k=ops&v=9'));
    await until(() => alertOf('ops'), (a) => a?.annotations.state === 'ALERTED', 'alert for ops');
    expect((await api(url('/paged/ops'))).status).toBe(404);
  });

  it('a delivery that fails after its retries is counted and the key shows FAILED', async () => {
    await request(url('/report-other?k=B&v=9'));
    await until(async () => (await api(url('/lost/B'))).json.data, (d) => (d as { alert?: string } | undefined)?.alert === 'FAILED', 'B alert FAILED', 30_000);
    expect(await getJson(url('/status/http/throttle_zones/lost'))).toMatchObject({ alerts_failed: 1, throttled: 1 });
  });
});
