// The hot paths measured by bench/micro.mjs, built from the compiled modules of a build (dist/, or
// MP_DIST, or another given). Each case is { name, ops (per call), run() }, plus close() for its resources.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIST, tempDir } from './lib.mjs';

/** The compiled modules the cases use, from one build (two builds can be measured in one process). */
function modulesOf(dist) {
  const load = (rel) => createRequire(path.join(dist, 'x.js'))(`./${rel}`);
  // A module moved by a refactor: the first of its paths the build has (newest first).
  const loadMoved = (...rels) => load(rels.find((rel) => fs.existsSync(path.join(dist, `${rel}.js`))) ?? rels[0]);
  return {
    ...load('metric/store/lmdb-store'),
    ...load('metric/engine'),
    ...(fs.existsSync(path.join(dist, 'store/service.js')) ? load('store/service') : {}),
    ...load('http/commit'),
    ...load('metric/modes'),
    ...load('metric/zone'),
    ...loadMoved('process/load', 'config/load'),
    ...load('http/context'),
    ...load('http/variables'),
    ...load('http/locations'),
    ...load('metric/api'),
    ...load('api/tree'),
    ...load('api/json'),
  };
}

function zoneDef(m, name, size, modeArgs) {
  const { mode, params } = m.parseMetricSpec(modeArgs);
  return { name, size, expire: false, complex: false, metrics: [{ name: mode.name, mode, params }], file: 'bench', line: 1 };
}

/** The zones of bench/configs.mjs's 4-metric set, and one request's updates to them. */
const fourZones = (m) => [
  zoneDef(m, 'methods', 1 << 20, ['count']),
  zoneDef(m, 'times', 4 << 20, ['histogram', '0.005', '0.01', '0.05', '0.1', '0.5', '1', 'inf']),
  zoneDef(m, 'status', 1 << 20, ['average', 'exp']),
  zoneDef(m, 'inflight', 1 << 20, ['gauge']),
];
const ONE_REQUEST = [
  { zone: 'inflight', key: 'all', value: 1 },
  { zone: 'methods', key: 'GET', value: 1 },
  { zone: 'times', key: '/api/users', value: 0.002 },
  { zone: 'status', key: '200', value: 0.002 },
  { zone: 'inflight', key: 'all', value: -1 },
];

function storeCases(m) {
  const dir = tempDir('micro-store');
  const store = m.MetricStore.open(dir, fourZones(m));
  const one = [ONE_REQUEST[1]];
  return [
    { name: 'MetricStore.applyBatch: 1 count update, own transaction', ops: 1, run: () => store.applyBatch(one) },
    { name: 'MetricStore.applyBatch: one request of the 4-metric set (5 updates)', ops: 1, run: () => store.applyBatch(ONE_REQUEST) },
    { close: () => (store.close(), fs.rmSync(dir, { recursive: true, force: true })) },
  ];
}

/** A request's updates as the metric module records them: one engine.record per update (zones bound by bindAll). */
function recordAll(engine, updates) {
  for (const u of updates) engine.record(u.zone, u.key, u.value);
}

/**
 * Updates with their zone as this build's engine.record takes it: the zone
 * bound at load (MetricZone) since the engine binds zones, its name before.
 * Done once per case, as the module binds its directives once per load.
 */
function bindAll(engine, updates) {
  return engine.bound === undefined ? updates : updates.map((u) => ({ ...u, zone: engine.bound.get(u.zone) }));
}

function engineWith(m, zones) {
  const dir = tempDir('micro-engine');
  const engine = new m.MetricEngine();
  for (const z of zones) {
    if (engine.addZone === undefined) engine.zones.set(z.name, z);
    else engine.addZone(z);
  }
  const commits = new m.CommitQueue();
  // Since the store became a core service (store/service.ts) the engine attaches to an open one.
  const service = m.StoreService === undefined ? undefined : new m.StoreService();
  if (service === undefined) engine.open(dir, commits);
  else {
    for (const z of zones) service.reserve(z.size, 2);
    service.open(dir);
    engine.open(service.current, commits);
  }
  const close = async () => (await engine.close(), await service?.close(), fs.rmSync(dir, { recursive: true, force: true }));
  return { engine, commits, close };
}

/** Group commit: `perTurn` requests record their updates, then one commit (per request, so ops = perTurn). */
function engineCases(m) {
  const { engine, commits, close } = engineWith(m, fourZones(m));
  const oneRequest = bindAll(engine, ONE_REQUEST);
  const turn = (perTurn) => () => {
    for (let i = 0; i < perTurn; i++) recordAll(engine, oneRequest);
    commits.flushNow();
  };
  return [
    { name: 'engine group commit: 1 request (4-metric set) per loop turn, per request', ops: 1, run: turn(1) },
    { name: 'engine group commit: 16 requests per loop turn, per request', ops: 16, run: turn(16) },
    { close },
  ];
}

/** 16 count updates per commit to random keys among the first `keys` of a zone holding 100,000. */
function keyCountCases(m) {
  const { engine, commits, close } = engineWith(m, [zoneDef(m, 'wide', 32 << 20, ['count'])]);
  engine.store.applyBatch(Array.from({ length: 100_000 }, (_, i) => ({ zone: 'wide', key: `/k/${i}`, value: 1 })));
  const randomTurns = (keys) => {
    const update = () => ({ zone: 'wide', key: `/k/${Math.floor(Math.random() * keys)}`, value: 1 });
    const turns = Array.from({ length: 256 }, () => bindAll(engine, Array.from({ length: 16 }, update)));
    let i = 0;
    return () => {
      recordAll(engine, turns[i++ & 255]);
      commits.flushNow();
    };
  };
  const cases = [10, 1000, 100_000].map((keys) => ({
    name: `engine group commit: 16 updates per turn to random keys among ${keys.toLocaleString('en')}, per update`,
    ops: 16,
    run: randomTurns(keys),
  }));
  return [...cases, { close }];
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
function runtime(m) {
  const text = `http { server { listen 127.0.0.1:1; ${fiftyLocations().join('\n')} } }`;
  return m.loadConfig('/tmp/micro.conf', { prefix: '/tmp', text }).runtime;
}

function fakeRequest(m, rt, url) {
  const req = { method: 'GET', url, headers: { host: 'bench' }, httpVersion: '1.1', rawHeaders: [], socket: {} };
  const r = new m.HttpContext(req, {}, rt, 1);
  r.uri = url;
  r.status = 200;
  return r;
}

function requestCases(m) {
  const rt = runtime(m);
  const value = m.ComplexValue.compile('$uri=$request_time', rt.variables, 'bench', 1);
  const r = fakeRequest(m, rt, '/api/users/42');
  const locations = rt.servers[0].locations;
  const regexHit = fakeRequest(m, rt, '/re13/42');
  return [
    { name: 'ComplexValue.eval("$uri=$request_time")', ops: 1, run: () => value.eval(r) },
    { name: 'findLocation over 50 locations: nested prefix /api/users/42', ops: 1, run: () => m.findLocation(r, locations, r.uri) },
    { name: 'findLocation over 50 locations: last regex /re13/42', ops: 1, run: () => m.findLocation(regexHit, locations, regexHit.uri) },
  ];
}

function apiCases(m) {
  const { engine, close } = engineWith(m, [zoneDef(m, 'big', 4 << 20, ['histogram', '0.1', '1', 'inf'])]);
  const updates = Array.from({ length: 10_000 }, (_, i) => ({ zone: 'big', key: `/item/${i}`, value: i / 1000 }));
  engine.store.applyBatch(updates);
  const zones = m.metricZonesNode(engine);
  const render = () => {
    const ctx = new m.ReadCtx();
    try {
      return m.renderJson(zones.get('big', ctx), ctx, false);
    } finally {
      ctx.close();
    }
  };
  if (!render().includes('/item/9999')) throw new Error('the API render lost keys');
  return [{ name: 'API render of a 10,000-key histogram zone (JSON, one read transaction)', ops: 1, run: render }, { close }];
}

/** Latency-like values (lognormal around 50 ms), precomputed so the cases time only the update. */
const LATENCIES = Array.from({ length: 4096 }, () => 0.05 * Math.exp(Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random())));
const HISTOGRAM_7 = ['histogram', '0.005', '0.01', '0.05', '0.1', '0.5', '1', 'inf'];
const QUANTILE_3 = ['quantile', '0.5', '0.95', '0.99'];

/** One in-memory key record: µs per update of a mode, nothing else (no store, no commit). */
function modeCases(m) {
  const updateOf = (modeArgs) => {
    const zone = new m.Zone(zoneDef(m, 'z', 64 << 20, modeArgs));
    const st = new Float64Array(zone.slots);
    zone.init(st, 0);
    let i = 0;
    return () => zone.update(st, 0, LATENCIES[i++ & 4095], 1_700_000_000_000 + i);
  };
  return [
    { name: 'Zone.update: average exp', ops: 1, run: updateOf(['average', 'exp']) },
    { name: 'Zone.update: histogram, 7 bounds', ops: 1, run: updateOf(HISTOGRAM_7) },
    { name: 'Zone.update: quantile 0.5 0.95 0.99 (accuracy=0.01)', ops: 1, run: updateOf(QUANTILE_3) },
    { name: 'Zone.update: quantile 0.5 0.95 0.99 accuracy=0.001', ops: 1, run: updateOf([...QUANTILE_3, 'accuracy=0.001']) },
    { name: 'Zone.update: quantile 0.5 0.95 0.99 window=1m', ops: 1, run: updateOf([...QUANTILE_3, 'window=1m']) },
  ];
}

/**
 * @datadog/sketches-js, when it resolves (not a dependency: `npm install --no-save @datadog/sketches-js protobufjs`,
 * or SKETCHES_JS=/path/to/node_modules/@datadog/sketches-js): its object model per update, and what
 * keeping its sketch in a store record would cost (decode, accept, encode).
 */
function sketchesJsCases() {
  let dd;
  try {
    dd = createRequire(path.join(process.cwd(), 'x.js'))(process.env.SKETCHES_JS ?? '@datadog/sketches-js');
  } catch {
    return [];
  }
  const sketch = new dd.LogCollapsingLowestDenseDDSketch({ relativeAccuracy: 0.01, binLimit: 577 });
  const mapping = sketch.mapping;
  let i = 0;
  let stored = sketch.toProto();
  return [
    { name: 'sketches-js LogarithmicMapping.key (the mapping alone)', ops: 1, run: () => mapping.key(LATENCIES[i++ & 4095]) },
    { name: 'sketches-js LogCollapsingLowestDenseDDSketch.accept (object in memory)', ops: 1, run: () => sketch.accept(LATENCIES[i++ & 4095]) },
    {
      name: 'sketches-js as a stored record: fromProto, accept, toProto',
      ops: 1,
      run: () => {
        const s = dd.DDSketch.fromProto(stored);
        s.accept(LATENCIES[i++ & 4095]);
        stored = s.toProto();
      },
    },
  ];
}

/** A request updating 4 zones of one mode (key $uri), 16 requests per commit: the store's share of a request. */
function fourOfModeCases(m) {
  const engines = [['histogram', HISTOGRAM_7], ['quantile', QUANTILE_3]].map(([label, modeArgs]) => {
    const names = ['a', 'b', 'c', 'd'];
    const { engine, commits, close } = engineWith(m, names.map((n) => zoneDef(m, n, 8 << 20, modeArgs)));
    const zones = bindAll(engine, names.map((zone) => ({ zone }))).map((u) => u.zone);
    let i = 0;
    const run = () => {
      for (let r = 0; r < 16; r++) {
        const value = LATENCIES[i++ & 4095];
        recordAll(engine, zones.map((zone) => ({ zone, key: `/api/route${i & 7}`, value })));
      }
      commits.flushNow();
    };
    return [{ name: `engine group commit: 4 ${label} metrics per request, 16 requests per turn, per request`, ops: 16, run }, { close }];
  });
  return engines.flat();
}

/** A group of cases, or none when the build cannot make them (a build older than the `quantile` mode). */
function ifBuildHas(make) {
  try {
    return make();
  } catch (err) {
    if (err?.constructor?.name === 'ConfigError') return [];
    throw err;
  }
}

/** Every case, built on the modules of the build in `dist`. */
export function microCases(dist = DIST) {
  const m = modulesOf(dist);
  return [...storeCases(m), ...engineCases(m), ...keyCountCases(m), ...requestCases(m), ...apiCases(m), ...ifBuildHas(() => modeCases(m)), ...sketchesJsCases(), ...ifBuildHas(() => fourOfModeCases(m))];
}
