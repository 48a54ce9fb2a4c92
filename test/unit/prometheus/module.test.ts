import { describe, expect, it } from 'vitest';
import { fromValue } from '../../../src/api/tree';
import { errorLine, loadServer, request } from '../api/harness';
import { parseExposition } from './helpers';

const TEMPLATE = `prometheus_template upload_metric {
    'stats{le="$1"}' $p8s_value path=~^/http/metric_zones/upload/metrics/angie/stats/(.+)$ type=histogram;
    'stats_sum' $p8s_value path=/http/metric_zones/upload/metrics/angie/sum;
    'stats_count' $p8s_value path=/http/metric_zones/upload/metrics/angie/count;
    'avg_size' $p8s_value path=/http/metric_zones/upload/metrics/angie/avg_size;
}`;

const UPLOAD = { discarded: 0, metrics: { angie: { stats: { '64': 1, '+Inf': 2 }, sum: 10, count: 2, avg_size: 5 } } };

describe('prometheus directive', () => {
  const rt = loadServer('location /prometheus/upload_metric/ { prometheus upload_metric; }', TEMPLATE);
  rt.api.mount('/status/http/metric_zones/upload', fromValue(UPLOAD));

  it('answers GET with the rendered template as text/plain', async () => {
    const got = await request(rt, 'GET', '/prometheus/upload_metric/');
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toBe('text/plain');
    expect(got.headers['cache-control']).toBe('no-cache');
    const text = got.body.toString('utf8');
    expect(text).toBe(
      '# Angie Prometheus template "upload_metric"\n# TYPE stats histogram\nstats{le="64"} 1\nstats{le="+Inf"} 2\nstats_sum 10\nstats_count 2\navg_size 5\n',
    );
    expect(parseExposition(text).map((f) => f.name)).toEqual(['stats', 'avg_size']);
  });

  it('answers HEAD without a body and other methods with 405', async () => {
    const head = await request(rt, 'HEAD', '/prometheus/upload_metric/');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect((await request(rt, 'POST', '/prometheus/upload_metric/')).status).toBe(405);
  });

  it('rejects an unknown template name at the prometheus directive', async () => {
    expect(errorLine('location /m/ { prometheus nope; }', TEMPLATE)).toBe('metricproxy: [emerg] unknown Prometheus template "nope" in /etc/mp/test.conf:10');
  });

  it('rejects a template name defined twice', async () => {
    expect(errorLine('', `${TEMPLATE}\nprometheus_template upload_metric { m $p8s_value path=/a; }`)).toBe(
      'metricproxy: [emerg] duplicate Prometheus template "upload_metric" in /etc/mp/test.conf:8',
    );
  });

  it('rejects an invalid metric name at its own line', async () => {
    expect(errorLine('', 'prometheus_template t {\n  ok $p8s_value path=/a;\n  "bad name" $p8s_value path=/b;\n}')).toBe(
      'metricproxy: [emerg] invalid metric name "bad name" in /etc/mp/test.conf:4',
    );
  });
});
