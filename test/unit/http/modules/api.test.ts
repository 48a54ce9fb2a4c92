import { describe, expect, it } from 'vitest';
import { fromValue } from '../../../../src/api/tree';
import type { Runtime } from '../../../../src/http/runtime';
import { errorLine, loadServer, request } from '../../api/harness';

const ZONES = { z: { discarded: 0, metrics: { 'a/b': 5, plain: 1, '\xff': 2, '\xfe': 3, 'back\\slash': 4 } } };

/** A runtime whose API tree carries a synthetic metric zone branch. */
function withZones(serverBody: string): Runtime {
  const rt = loadServer(serverBody);
  rt.api.mount('/status/http/metric_zones', fromValue(ZONES));
  return rt;
}

const json = (c: { body: Buffer }) => JSON.parse(c.body.toString('utf8')) as unknown;

describe('api directive', () => {
  it('walks the URI rest after the location prefix down from PATH', async () => {
    const rt = withZones('location /api/ { api /status/http/metric_zones/; }');
    const got = await request(rt, 'GET', '/api/z/metrics/plain');
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('1\n');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['cache-control']).toBe('no-cache');
    expect(json(await request(rt, 'GET', '/api/'))).toEqual({ z: { discarded: 0, metrics: { 'a/b': 5, plain: 1, '\\xFF': 2, '\\xFE': 3, 'back\\\\slash': 4 } } });
  });

  it('reaches keys holding "/" or raw bytes when percent-encoded', async () => {
    const rt = withZones('location /api/ { api /status/http/metric_zones/; }');
    expect((await request(rt, 'GET', '/api/z/metrics/a%2Fb')).body.toString()).toBe('5\n');
    expect((await request(rt, 'GET', '/api/z/metrics/%FF')).body.toString()).toBe('2\n');
  });

  it('reaches every key by its member name as the JSON shows it, percent-encoded as UTF-8', async () => {
    const rt = withZones('location /api/ { api /status/http/metric_zones/; }');
    const names = Object.keys(json(await request(rt, 'GET', '/api/z/metrics/')) as object);
    const answers = await Promise.all(names.map((name) => request(rt, 'GET', '/api/z/metrics/' + encodeURIComponent(name))));
    expect(answers.map((a) => a.body.toString())).toEqual([
      '5\n',
      '1\n',
      '2\n',
      '3\n',
      '4\n',
    ]);
    // A backslash that starts no escape still stands for itself.
    expect((await request(rt, 'GET', '/api/z/metrics/back%5Cslash')).body.toString()).toBe('4\n');
  });

  it('answers 404 and 405 with Angie bodies naming the full API path', async () => {
    const rt = withZones('location /status/ { api /status/; }');
    const missing = await request(rt, 'GET', '/status/nope?pretty=off');
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toBe('{"error":"PathNotFound","description":"Requested API entity \\"/status/nope\\" doesn\'t exist."}');
    const post = await request(rt, 'POST', '/status/?pretty=off');
    expect(post.status).toBe(405);
    expect(post.body.toString()).toBe(
      '{"error":"MethodNotAllowed","description":"The POST method is not allowed for the requested API entity \\"/status/\\"."}',
    );
    expect(json(await request(rt, 'GET', '/status/http/metric_zones/x/'))).toEqual({
      error: 'PathNotFound',
      description: 'Requested API entity "/status/http/metric_zones/x/" doesn\'t exist.',
    });
  });

  it('sends headers and no body for HEAD', async () => {
    const rt = withZones('location /status/ { api /status/; }');
    const head = await request(rt, 'HEAD', '/status/http/metric_zones/z/discarded');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('2');
    expect(head.body.length).toBe(0);
  });

  it('uses PATH alone, with its variables, in a regex location', async () => {
    const rt = withZones('location ~ ^/m/(.*)$ { api /status/http/metric_zones/z/metrics/$1; }');
    expect((await request(rt, 'GET', '/m/plain')).body.toString()).toBe('1\n');
    expect(json(await request(rt, 'GET', '/m/nope'))).toMatchObject({ description: 'Requested API entity "/status/http/metric_zones/z/metrics/nope" doesn\'t exist.' });
  });

  it('rejects placements Angie rejects', async () => {
    expect(errorLine('location /api { api /status/; }')).toBe(
      'metricproxy: [emerg] "api" directive cannot be used inside prefix location without slash at the end in /etc/mp/test.conf:5',
    );
    expect(errorLine('location @named { api /status/; }')).toBe(
      'metricproxy: [emerg] "api" directive cannot be used inside named or combined locations in /etc/mp/test.conf:5',
    );
    expect(errorLine('location = /api { api /status/; }')).toBe('ok');
    expect(errorLine('location /api/ { api /status/; api /status/; }')).toBe('metricproxy: [emerg] "api" directive is duplicate in /etc/mp/test.conf:5');
  });
});
