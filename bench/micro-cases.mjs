// The hot paths measured by bench/micro.mjs, built from the compiled modules of the build under test
// (dist/, or MP_DIST). Each case is { name, ops (per call), run() }, plus close() for its resources.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIST, tempDir } from './lib.mjs';

const load = (rel) => createRequire(path.join(DIST, 'x.js'))(`./${rel}`);

const { MetricStore } = load('metric/store/lmdb-store');
const { MetricEngine } = load('metric/engine');
const { CommitQueue } = load('http/commit');
const { parseMetricSpec } = load('metric/modes');
const { loadConfig } = load('config/load');
const { HttpContext } = load('http/context');
const { ComplexValue } = load('http/variables');
const { findLocation } = load('http/locations');
const { metricZonesNode } = load('metric/api');
const { withReadCtx } = load('api/tree');
const { renderJson } = load('api/json');

function zoneDef(name, size, modeArgs) {
  const { mode, params } = parseMetricSpec(modeArgs);
  return { name, size, expire: false, complex: false, metrics: [{ name: mode.name, mode, params }], file: 'bench', line: 1 };
}

/** The zones of bench/configs.mjs's 4-metric set, and one request's updates to them. */
const FOUR_ZONES = [
  zoneDef('methods', 1 << 20, ['count']),
  zoneDef('times', 4 << 20, ['histogram', '0.005', '0.01', '0.05', '0.1', '0.5', '1', 'inf']),
  zoneDef('status', 1 << 20, ['average', 'exp']),
  zoneDef('inflight', 1 << 20, ['gauge']),
];
const ONE_REQUEST = [
  { zone: 'inflight', key: 'all', value: 1 },
  { zone: 'methods', key: 'GET', value: 1 },
  { zone: 'times', key: '/api/users', value: 0.002 },
  { zone: 'status', key: '200', value: 0.002 },
  { zone: 'inflight', key: 'all', value: -1 },
];

function storeCases() {
  const dir = tempDir('micro-store');
  const store = MetricStore.open(dir, FOUR_ZONES);
  const one = [ONE_REQUEST[1]];
  return [
    { name: 'MetricStore.applyBatch: 1 count update, own transaction', ops: 1, run: () => store.applyBatch(one) },
    { name: 'MetricStore.applyBatch: one request of the 4-metric set (5 updates)', ops: 1, run: () => store.applyBatch(ONE_REQUEST) },
    { close: () => (store.close(), fs.rmSync(dir, { recursive: true, force: true })) },
  ];
}

function engineWith(zones) {
  const dir = tempDir('micro-engine');
  const engine = new MetricEngine();
  for (const z of zones) engine.zones.set(z.name, z);
  const commits = new CommitQueue();
  engine.open(dir, commits);
  return { engine, commits, close: async () => (await engine.close(), fs.rmSync(dir, { recursive: true, force: true })) };
}

/** Group commit: `perTurn` requests record their updates, then one commit (per request, so ops = perTurn). */
function engineCases() {
  const { engine, commits, close } = engineWith(FOUR_ZONES);
  const turn = (perTurn) => () => {
    for (let i = 0; i < perTurn; i++) engine.apply(ONE_REQUEST);
    commits.flushNow();
  };
  return [
    { name: 'engine group commit: 1 request (4-metric set) per loop turn, per request', ops: 1, run: turn(1) },
    { name: 'engine group commit: 16 requests per loop turn, per request', ops: 16, run: turn(16) },
    { close },
  ];
}

function fiftyLocations() {
  const locs = [];
  for (let i = 0; i < 20; i++) locs.push(`location /app${i}/ { return 200; }`);
  for (let i = 0; i < 10; i++) locs.push(`location = /exact${i} { return 200; }`);
  for (let i = 0; i < 5; i++) locs.push(`location ^~ /static${i}/ { return 200; }`);
  for (let i = 0; i < 14; i++) locs.push(`location ~ ^/re${i}/(\\d+)$ { return 200; }`);
  locs.push('location /api/ { location /api/users/ { return 200; } location ~ \\.json$ { return 200; } }');
  return locs;
}

/** A loaded runtime (no worker init: nothing opens) for variables and locations. */
function runtime() {
  const text = `http { server { listen 127.0.0.1:1; ${fiftyLocations().join('\n')} } }`;
  return loadConfig('/tmp/micro.conf', { prefix: '/tmp', text }).runtime;
}

function fakeRequest(rt, url) {
  const req = { method: 'GET', url, headers: { host: 'bench' }, httpVersion: '1.1', rawHeaders: [], socket: {} };
  const r = new HttpContext(req, {}, rt, 1);
  r.uri = url;
  r.status = 200;
  return r;
}

function requestCases() {
  const rt = runtime();
  const value = ComplexValue.compile('$uri=$request_time', rt.variables, 'bench', 1);
  const r = fakeRequest(rt, '/api/users/42');
  const locations = rt.servers[0].locations;
  const regexHit = fakeRequest(rt, '/re13/42');
  return [
    { name: 'ComplexValue.eval("$uri=$request_time")', ops: 1, run: () => value.eval(r) },
    { name: 'findLocation over 50 locations: nested prefix /api/users/42', ops: 1, run: () => findLocation(r, locations, r.uri) },
    { name: 'findLocation over 50 locations: last regex /re13/42', ops: 1, run: () => findLocation(regexHit, locations, regexHit.uri) },
  ];
}

function apiCases() {
  const { engine, close } = engineWith([zoneDef('big', 4 << 20, ['histogram', '0.1', '1', 'inf'])]);
  const updates = Array.from({ length: 10_000 }, (_, i) => ({ zone: 'big', key: `/item/${i}`, value: i / 1000 }));
  engine.store.applyBatch(updates);
  const zones = metricZonesNode(engine);
  const render = () => withReadCtx((ctx) => renderJson(zones.get('big', ctx), ctx, false));
  if (!render().includes('/item/9999')) throw new Error('the API render lost keys');
  return [{ name: 'API render of a 10,000-key histogram zone (JSON, one read transaction)', ops: 1, run: render }, { close }];
}

export function microCases() {
  return [...storeCases(), ...engineCases(), ...requestCases(), ...apiCases()];
}
