import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePorts, getJson, Proxy, request, startProxy } from '../helpers/proc';

/**
 * Metric stages across internal redirects, as Angie's module keeps its
 * request context through them: on=request runs once, in the precontent
 * phase of the first location that reaches it (the one that received the
 * request, unless a rewrite moved it on before); on=response and on=end
 * run in the location that answers; $metric_* state set before a redirect
 * is still there after it.
 */
let proxy: Proxy;
let port: number;
let deadPort: number;

const stages = (name: string) => `metric req ${name} on=request; metric resp ${name} on=response; metric end ${name} on=end;`;

beforeAll(async () => {
  [port, deadPort] = await freePorts(2);
  proxy = await startProxy(
    `
worker_processes 1;
http {
    access_log off;
    metric_zone req:1m count;
    metric_zone resp:1m count;
    metric_zone end:1m count;
    metric_zone gauge:1m gauge;
    server {
        listen 127.0.0.1:${port};
        location /tf/ { ${stages('tf')} try_files /nope /final; }
        location /tf-named/ { ${stages('tfnamed')} try_files /nope @named; }
        location @named { ${stages('named')} return 200 "named\\n"; }
        location /final { ${stages('final')} return 200 "final\\n"; }
        location /rw/ { ${stages('rw')} rewrite ^ /final last; }
        location /up/ { ${stages('up')} proxy_pass http://127.0.0.1:${deadPort}; error_page 502 /err; }
        location /ret/ { ${stages('ret')} error_page 404 /err; return 404; }
        location /err { ${stages('err')} return 200 "err\\n"; }
        location /setvar/ {
            set $metric_gauge_key carried;
            set $metric_gauge_value 7;
            rewrite ^ /readvar last;
        }
        location /readvar { return 200 "key=$metric_gauge_key value=$metric_gauge_value pair=$metric_gauge\\n"; }
        location /api/ { api /status/http/metric_zones/; }
    }
}
`,
    [port],
  );
});
afterAll(async () => proxy?.stop());

type Zones = Record<string, { metrics: Record<string, number> }>;

it('try_files to a URI: request counted where it was received, response and end where it was answered', async () => {
  expect((await request(proxy.url(port, '/tf/x'))).body).toBe('final\n');
  expect((await request(proxy.url(port, '/tf-named/x'))).body).toBe('named\n');
  const z = (await getJson(proxy.url(port, '/api/'))) as Zones;
  expect(z.req.metrics).toEqual({ tf: 1, tfnamed: 1 });
  expect(z.resp.metrics).toEqual({ final: 1, named: 1 });
  expect(z.end.metrics).toEqual({ final: 1, named: 1 });
});

it('rewrite and return act before precontent: every stage in the location that answers', async () => {
  expect((await request(proxy.url(port, '/rw/x'))).body).toBe('final\n');
  expect((await request(proxy.url(port, '/ret/x'))).status).toBe(404);
  const z = (await getJson(proxy.url(port, '/api/'))) as Zones;
  expect(z.req.metrics).toMatchObject({ final: 1, err: 1 });
  expect(z.req.metrics.rw).toBeUndefined();
  expect(z.req.metrics.ret).toBeUndefined();
  expect(z.resp.metrics).toMatchObject({ final: 2, err: 1 });
  expect(z.end.metrics).toMatchObject({ final: 2, err: 1 });
});

it('a failed upstream through error_page: request in the proxy location, response and end in the page', async () => {
  const reply = await request(proxy.url(port, '/up/x'));
  expect(reply.status).toBe(502);
  expect(reply.body).toBe('err\n');
  const z = (await getJson(proxy.url(port, '/api/'))) as Zones;
  expect(z.req.metrics.up).toBe(1);
  expect(z.resp.metrics.up).toBeUndefined();
  expect(z.end.metrics.up).toBeUndefined();
  expect(z.resp.metrics.err).toBe(2);
  expect(z.end.metrics.err).toBe(2);
});

it('$metric_* state set before a rewrite is read after it', async () => {
  expect((await request(proxy.url(port, '/setvar/'))).body).toBe('key=carried value=7 pair=carried=7\n');
});
