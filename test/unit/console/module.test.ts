import { describe, expect, it } from 'vitest';
import { errorLine, loadServer, request } from '../api/harness';

const STATUS = 'location /status/ { api /status/; }';

describe('console directive', () => {
  it('defaults to the first whole-tree api location of its server, ignoring subtree api locations', async () => {
    const rt = loadServer(`location /zone/ { api /status/http/metric_zones/; }\nlocation /console/ { console; }\nlocation /st/ { api /status/; }\n${STATUS}`);
    const page = await request(rt, 'GET', '/console/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body.toString()).toContain('data-api="/st/"');
  });

  it('reads the tree from api= when given', async () => {
    const rt = loadServer('location /console/ { console api=/elsewhere/status/; }');
    expect((await request(rt, 'GET', '/console/index.html')).body.toString()).toContain('data-api="/elsewhere/status/"');
  });

  it('serves its own modules and uPlot from the package, 404 for anything else, 405 for writes', async () => {
    const rt = loadServer(`location /ui { console; }\n${STATUS}`);
    expect((await request(rt, 'GET', '/ui')).body.toString()).toContain('src="/ui/main.js"');
    for (const asset of ['main.js', 'zone-table.js', 'uPlot.esm.js']) {
      const got = (await request(rt, 'GET', `/ui/${asset}`));
      expect(got.status, asset).toBe(200);
      expect(got.headers['content-type']).toBe('text/javascript; charset=utf-8');
    }
    expect((await request(rt, 'GET', '/ui/uPlot.min.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await request(rt, 'GET', '/ui/nope.js')).status).toBe(404);
    expect((await request(rt, 'POST', '/ui/')).status).toBe(405);
  });

  it('needs an api location or api=', async () => {
    expect(errorLine('location /console/ { console; }')).toBe(
      'metricproxy: [emerg] "console" directive found no "api /status/;" location in its server: set api= in /etc/mp/test.conf:5',
    );
  });

  it('rejects unknown parameters, relative api= values and regex locations', async () => {
    expect(errorLine('location /c/ { console x=1; }')).toBe('metricproxy: [emerg] invalid parameter "x=1" in /etc/mp/test.conf:5');
    expect(errorLine('location /c/ { console api=status; }')).toBe(
      'metricproxy: [emerg] invalid "api" value "status": a URI path starting with "/" is expected in /etc/mp/test.conf:5',
    );
    expect(errorLine('location ~ ^/c { console api=/s/; }')).toBe('metricproxy: [emerg] "console" directive needs a prefix location in /etc/mp/test.conf:5');
    expect(errorLine('location /c/ { console api=/a/ api=/b/; }')).toBe('metricproxy: [emerg] invalid number of arguments in "console" directive in /etc/mp/test.conf:5');
  });
});
