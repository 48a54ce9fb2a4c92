import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ARTIFACTS, collectErrors, launchChromium, screenshot } from '../helpers/browser';
import { freePorts, Proxy, request, startBackend, startProxy } from '../helpers/proc';

/** Keys each /fill request writes into the `big` zone: 200 requests make 10,000 keys. */
const KEYS_PER_FILL = 50;

/**
 * Branches other modules publish (rate limits, throttles, quantile zones):
 * the console renders whatever fields they carry, so a location returning
 * such a tree stands in for them.
 */
const LIMITS_TREE = JSON.stringify({
  angie: { generation: 1 },
  slabs: { lat_q: { pages: { used: 64, free: 192 } } },
  http: {
    metric_zones: { lat_q: { discarded: 3, metrics: { '/api': { '0.5': 0.12, '0.95': 0.4, '0.99': 0.9 }, '/img': { '0.5': 0.02, '0.95': 0.05, '0.99': 0.07 } } } },
    limit_reqs: { login: { passed: 30, delayed: 2, rejected: 4 } },
    limit_conns: { per_ip: { passed: 12, rejected: 1 } },
    throttle_zones: { scrapers: { key: '10.0.0.7', state: 'throttled', since: '2026-12-01T10:00:00Z', expires: '2026-12-01T10:05:00Z' } },
  },
});

function config(port: number, backendPort: number): string {
  const fills = Array.from({ length: KEYS_PER_FILL }, (_, i) => `metric big k$arg_n-${i}=$arg_n;`).join(' ');
  return `
worker_processes 1;
http {
    access_log off;
    metric_zone hits:1m count;
    metric_zone latency:1m histogram 0.1 0.5 1 inf;
    metric_complex_zone timing:1m { low min; high max; total count; }
    metric_zone big:32m last;
    metric_complex_zone tenant_load:1m { latency average exp factor=50; }
    throttle_zone tenants:1m { watch tenant_load/latency; above 10; limit max_concurrency=1 ttl=5m; }
    upstream backend { zone backend 64k; server 127.0.0.1:${backendPort}; }
    server {
        listen 127.0.0.1:${port};
        status_zone front;
        location /hit/ { status_zone hits_loc; metric hits $uri; metric latency $uri=$arg_t; metric timing $uri=$arg_t; return 200 ok; }
        location /up/ { proxy_pass http://127.0.0.1:${backendPort}; }
        location /pool/ { proxy_pass http://backend; }
        location = /fill { ${fills} return 204; }
        location /status/ { api /status/; }
        location /console/ { console; }
        location /throttle/ { throttle_api tenants; }
        location /closed/ { deny all; console api=/status/; }
        location = /limits-status/ { return 200 '${LIMITS_TREE}'; }
        location /limits/ { console api=/limits-status/; }
    }
}
`;
}

let proxy: Proxy | undefined;
let backend: Awaited<ReturnType<typeof startBackend>> | undefined;
let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
let port = 0;
let text = '';

beforeAll(async () => {
  chromium = await launchChromium();
  backend = await startBackend((_req: http.IncomingMessage, res: http.ServerResponse) => res.end('backend'));
  [port] = await freePorts(1);
  text = config(port, backend.port);
  proxy = await startProxy(text, [port]);
}, 60_000);

afterAll(async () => {
  await chromium?.close();
  await proxy?.stop();
  await backend?.close();
});

async function hits(paths: string[]): Promise<void> {
  for (const p of paths) await request(`http://127.0.0.1:${port}${p}`);
}

/** The text of `selector`, polled until `ok` holds (the page updates once a second). */
async function waitText(page: Page, selector: string, ok: (t: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const t = (await page.locator(selector).first().textContent({ timeout: 20_000 }).catch(() => null)) ?? '';
    if (ok(t)) return t;
    if (Date.now() > deadline) throw new Error(`${what}: "${t}" at ${selector}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function fillBigZone(): Promise<void> {
  for (let n = 0; n < 10_000 / KEYS_PER_FILL; n += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, i) => request(`http://127.0.0.1:${port}/fill?n=${n + i}`)));
  }
}

it('the console works behind deny like any location, and serves its assets from the package', async () => {
  expect((await request(`http://127.0.0.1:${port}/closed/`)).status).toBe(403);
  const page = await request(`http://127.0.0.1:${port}/console/`);
  expect(page.status).toBe(200);
  expect(page.body).toContain('data-api="/status/"');
  expect(page.body).not.toMatch(/https?:\/\//);
  expect((await request(`http://127.0.0.1:${port}/console/uPlot.esm.js`)).headers['content-type']).toBe('text/javascript; charset=utf-8');
});

it('shows every view and zone, updates numbers, sorts, and stays responsive with 10,000 keys', async () => {
  await hits(['/hit/a?t=0.05', '/hit/b?t=0.7', '/hit/b?t=0.3', '/hit/c?t=2', '/up/x', '/pool/y', '/nope']);
  await fillBigZone();
  const page = await chromium!.browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = collectErrors(page);
  await page.goto(`http://127.0.0.1:${port}/console/`);

  await waitText(page, '#ov-requests .v', (t) => Number(t) >= 7, 'overview counts the requests');
  await waitText(page, '#ov-generation .v', (t) => t === '1', 'config generation');
  // A few polls with traffic in between, so the rate chart has a line to draw.
  for (let polls = 0; polls < 4; ) {
    await hits(['/up/x', '/nope']);
    polls = Number(await page.evaluate(() => document.body.dataset.polls));
  }
  await waitText(page, '#ov-rps .v', (t) => Number(t) > 0, 'requests per second');
  await screenshot(page, 'overview');

  await page.click('button[data-view="view-http"]');
  await waitText(page, '#view-http', (t) => t.includes('front') && t.includes('hits_loc'), 'server and location zones');
  await screenshot(page, 'http-zones');

  await page.click('button[data-view="view-upstreams"]');
  await waitText(page, '#view-upstreams', (t) => t.includes(`127.0.0.1:${backend!.port}`) && t.includes('up'), 'upstream peer');
  await screenshot(page, 'upstreams');

  await page.click('button[data-view="view-metrics"]');
  for (const zone of ['hits', 'latency', 'timing', 'big']) await page.locator(`[data-zone="${zone}"]`).waitFor({ timeout: 20_000 });
  await waitText(page, '[data-zone="big"] h2', (t) => t.includes('10000 keys'), 'the big zone holds 10,000 keys');
  // Complex zones as columns, histograms as bar charts.
  await waitText(page, '[data-zone="timing"] .vhead', (t) => t.includes('low') && t.includes('high') && t.includes('total'), 'complex columns');
  await page.locator('[data-zone="latency"] .chart[data-shape="histogram"] canvas').first().waitFor({ timeout: 20_000 });

  // Numbers change after requests: /hit/b counted 2, then 5.
  const bRow = '[data-zone="hits"] .vrow[data-key="/hit/b"] span:nth-child(4)';
  await waitText(page, bRow, (t) => t === '2', 'hits /hit/b before');
  await hits(['/hit/b', '/hit/b', '/hit/b']);
  await waitText(page, bRow, (t) => t === '5', 'hits /hit/b after more requests');
  // Sorted by value (descending) first: /hit/b leads; by name ascending: /hit/a leads.
  await waitText(page, '[data-zone="hits"] .vrow >> nth=0', (t) => t.startsWith('/hit/b'), 'value sort');
  await page.selectOption('[data-zone="hits"] select.sort', 'name');
  await waitText(page, '[data-zone="hits"] .vrow >> nth=0', (t) => t.startsWith('/hit/a'), 'name sort');
  await screenshot(page, 'metric-zones');

  // 10,000 keys: only the visible rows are in the DOM, and a sort lands quickly.
  const big = page.locator('[data-zone="big"]');
  expect(await big.locator('.vrow').count()).toBeLessThan(100);
  await waitText(page, '[data-zone="big"] .vrow >> nth=0', (t) => t.startsWith('k199-'), 'big zone sorted by value');
  const started = Date.now();
  await big.locator('.vhead span[data-sort="name"]').click();
  await waitText(page, '[data-zone="big"] .vrow >> nth=0', (t) => t.startsWith('k0-0'), 'big zone sorted by name');
  const sortMs = Date.now() - started;
  expect(sortMs).toBeLessThan(5000);
  fs.writeFileSync(path.join(ARTIFACTS, 'sort-10000-keys.txt'), `${sortMs} ms from click to the re-sorted first row\n`);
  expect(errors).toEqual([]);
  await page.close();
}, 120_000);

it('shows rate limits and throttles generically; polls at the set interval and pauses while hidden', async () => {
  const page = await chromium!.browser.newPage({ viewport: { width: 1280, height: 600 } });
  const errors = collectErrors(page);
  await page.goto(`http://127.0.0.1:${port}/limits/#view-limits`);
  const shown = await waitText(page, '#view-limits', (t) => t.includes('throttle_zones'), 'limits view');
  for (const text of ['limit_reqs', 'login', 'rejected', 'limit_conns', 'per_ip', 'scrapers', 'throttled', '2026-12-01T10:05:00Z']) expect(shown).toContain(text);
  await screenshot(page, 'limits');

  // Quantile sets: a p-column per quantile, p-lines for the selected key; discarded and fill from slabs.
  await page.click('button[data-view="view-metrics"]');
  await waitText(page, '[data-zone="lat_q"] .vhead', (t) => t.includes('p50') && t.includes('p95') && t.includes('p99'), 'p-columns');
  await waitText(page, '[data-zone="lat_q"] h2', (t) => t.includes('discarded 3') && t.includes('25.0%'), 'discarded and fill');
  await page.click('[data-zone="lat_q"] .vrow[data-key="/img"]');
  await waitText(page, '[data-zone="lat_q"] .detail', (t) => t.includes('/img') && t.includes('p99'), 'p-lines of the clicked key');
  const clickedAt = Number(await page.evaluate(() => document.body.dataset.polls));
  await page.waitForFunction((n) => Number(document.body.dataset.polls) >= n + 3, clickedAt, { timeout: 20_000 });
  await screenshot(page, 'quantiles');

  // The poll interval is the page's field; a hidden tab stops polling and a visible one resumes.
  const polls = async (): Promise<number> => Number(await page.evaluate(() => document.body.dataset.polls));
  await page.fill('#interval', '0.2');
  await page.dispatchEvent('#interval', 'change');
  const fastFrom = await polls();
  await page.waitForFunction((n) => Number(document.body.dataset.polls) >= n + 5, fastFrom, { timeout: 20_000 });
  const setHidden = (hidden: boolean) =>
    page.evaluate((h) => {
      Object.defineProperty(document, 'hidden', { value: h, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
  await setHidden(true);
  const hiddenAt = await polls();
  await new Promise((r) => setTimeout(r, 2000));
  // At most the one poll already in flight when the tab was hidden.
  expect((await polls()) - hiddenAt).toBeLessThanOrEqual(1);
  await setHidden(false);
  const shownAt = await polls();
  await page.waitForFunction((n) => Number(document.body.dataset.polls) >= n + 2, shownAt, { timeout: 20_000 });
  expect(errors).toEqual([]);
  await page.close();
}, 60_000);

it('shows each throttled key with a release button that calls the throttle API', async () => {
  const throttleApi = (key: string, method = 'GET', body?: string) =>
    request(`http://127.0.0.1:${port}/throttle/${key}`, { method, body, headers: { 'content-type': 'application/json' } });
  expect((await throttleApi('acme', 'PATCH', JSON.stringify({ max_concurrency: 2, ttl_seconds: 300, reason: 'console test' }))).status).toBe(200);
  const page = await chromium!.browser.newPage({ viewport: { width: 1280, height: 600 } });
  const errors = collectErrors(page);
  await page.goto(`http://127.0.0.1:${port}/console/#view-limits`);
  await waitText(page, '#throttle-keys-tenants', (t) => t.includes('acme') && t.includes('MANUAL_THROTTLED') && t.includes('console test'), 'the throttled key');
  await screenshot(page, 'throttles');
  await page.click('#throttle-keys-tenants button.release[data-key="acme"]');
  await waitText(page, '#throttle-keys-tenants tr[data-name="acme"]', (t) => t.includes('RELEASED'), 'the key released');
  const after = JSON.parse((await throttleApi('acme')).body) as { data: { state: string; source: string } };
  expect(after.data.state).toBe('RELEASED');
  // A released key has no button left.
  expect(await page.locator('#throttle-keys-tenants button.release').count()).toBe(0);
  expect(errors).toEqual([]);
  await page.close();
}, 60_000);

it('shows a banner when the proxy restarts and reconnects by itself', async () => {
  const page = await chromium!.browser.newPage({ viewport: { width: 1280, height: 700 } });
  await page.goto(`http://127.0.0.1:${port}/console/`);
  await waitText(page, '#ov-generation .v', (t) => t === '1', 'first poll');
  await proxy!.stop();
  await waitText(page, '#banner', (t) => t.includes('lost'), 'connection-lost banner');
  expect(await page.locator('#banner').getAttribute('class')).toBe('down');
  await screenshot(page, 'reconnecting');
  proxy = await startProxy(text, [port]);
  await waitText(page, '#banner', (t) => t.includes('Reconnected'), 'reconnected banner');
  await page.close();
}, 90_000);
