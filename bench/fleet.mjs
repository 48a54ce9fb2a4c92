// Fleet sync costs (issue 20): (1) the request path — limit_req decisions in a real store, batched
// as a loop turn's transaction, for a zone without `sync=` on the base commit and on this build, and
// for a synced zone (its delta record); (2) the sync itself — one REQ_SYNC call to a real
// redis-server per period, by keys changed in the period. Bounded: about 16 s.
//   npx tsc -p tsconfig.json && node bench/build-copy.mjs base /tmp/mp-base-src && node bench/fleet.mjs
// (/tmp/mp-base-src: `git archive 4f4aa59 src | tar -x -C /tmp/mp-base-src --strip-components=1`).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fixed, freePort, machineDescription, markdownTable, median, ROOT, writeResult } from './lib.mjs';

const require = createRequire(import.meta.url);
const BASE_DIST = path.join(ROOT, 'node_modules/.cache/mp-bench/base/dist');
const from = (dist, p) => require(path.join(dist, p));
const DIST = path.join(ROOT, 'dist');

const BATCH = 20;
const KEYS = 100;
const ROUNDS = 9;
const ROUND_MS = 450;

/** ns per decision of `decide` on a fresh store; `hook` makes the zone a synced one. */
function decisionsNs(dist, hook) {
  const { MetricStore } = from(dist, 'metric/store/lmdb-store.js');
  // The store's kv moved to src/store/ (issue 11); a build from before has it under metric/store/.
  const { KvDatabase } = from(dist, fs.existsSync(path.join(dist, 'store/kv.js')) ? 'store/kv.js' : 'metric/store/kv.js');
  const { SharedZone } = from(dist, 'limit/shared-zone.js');
  const { LimitTxn } = from(dist, 'limit/space.js');
  const { decide } = from(dist, 'limit/req-decide.js');
  const { ComplexValue, VariableRegistry } = from(dist, 'http/variables.js');
  const store = MetricStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'mp-bench-fleet-')), []);
  const db = KvDatabase.open(store, 'limit');
  const key = ComplexValue.compile('$arg_k', new VariableRegistry(), 'bench', 1);
  const sync = { url: 'redis://127.0.0.1:6379/0', host: '127.0.0.1', port: 6379, db: 0, intervalMs: 100 };
  const zone = new SharedZone({ kind: 'limit_req', name: 'z', size: 8 << 20, key, rate: 1e9, sync: hook ? sync : undefined });
  if (hook) hook(zone);
  const limits = [{ zone, rate: 1e9, burst: 0, delay: 0 }];
  const keys = Array.from({ length: KEYS }, (_, i) => [`tenant-${i}`]);
  let n = 0;
  const started = process.hrtime.bigint();
  const until = Date.now() + ROUND_MS;
  while (Date.now() < until) {
    db.write((t) => {
      const tx = new LimitTxn(t);
      for (let i = 0; i < BATCH; i++) decide(tx, limits, keys[n++ % KEYS], Date.now());
      tx.commitMetas();
    });
  }
  const ns = Number(process.hrtime.bigint() - started) / n;
  store.close();
  return ns;
}

function hotPath() {
  const { ReqSync } = from(DIST, 'fleet/req-sync.js');
  const cases = [
    ['base 4f4aa59, no sync', () => decisionsNs(BASE_DIST)],
    ['this build, no sync', () => decisionsNs(DIST)],
    ['this build, sync= (delta record)', () => decisionsNs(DIST, (zone) => new ReqSync(zone, undefined))],
  ];
  const runs = cases.map(() => []);
  for (let r = 0; r < ROUNDS; r++) cases.forEach(([, run], i) => runs[i].push(run()));
  return cases.map(([name], i) => [name, fixed(median(runs[i]) / 1000, 2), runs[i].map((v) => fixed(v / 1000, 2)).join(' ')]);
}

async function startRedis() {
  const bin = '/usr/bin/redis-server';
  if (!fs.existsSync(bin)) throw new Error('this bench needs redis-server: apt-get install -y redis-server');
  const port = await freePort();
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return { port, stop: () => child.kill('SIGTERM') };
}

/** ms per REQ_SYNC call pushing `changed` keys, median of 40, with 3 instances' heartbeats. */
async function syncCalls() {
  const { RedisPool, runScript, redisKey } = from(DIST, 'fleet/redis.js');
  const { REQ_SYNC } = from(DIST, 'fleet/scripts.js');
  const redis = await startRedis();
  const pool = new RedisPool();
  const client = pool.client({ url: '', host: '127.0.0.1', port: redis.port, db: 0, intervalMs: 100 });
  await new Promise((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', resolve)));
  const rows = [];
  for (const changed of [1, 100, 1000, 5000]) {
    const keys = ['b', 't', 'i'].map((p) => redisKey('limit_req', `bench${changed}`, p));
    const pairs = Array.from({ length: changed }, (_, i) => [`tenant-${i}`, 3]).flat();
    const times = [];
    let since = 0;
    for (let i = 0; i < 40; i++) {
      const t0 = process.hrtime.bigint();
      const reply = await runScript(client, REQ_SYNC, keys, [100_000, since, `bench-${i % 3}`, 3000, 60_000, ...pairs]);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      since = Number(reply[0]);
    }
    rows.push([String(changed), fixed(median(times), 2), fixed(Math.max(...times), 2)]);
  }
  pool.close();
  redis.stop();
  return rows;
}

// The machine is shared: the load it carried is part of the result.
const loadBefore = os.loadavg()[0];
const hot = hotPath();
console.log(hot);
const sync = await syncCalls();
console.log(sync);
writeResult('fleet.md', `# Fleet sync costs (issue 20)

\`node bench/fleet.mjs\` on ${machineDescription()}, ${new Date().toISOString().slice(0, 10)}; load average
${fixed(loadBefore, 1)} when it started (a shared machine: compare rows of one run, not runs).

## The request path

limit_req decisions in a real store, ${BATCH} per write transaction (a loop turn's batch), over ${KEYS}
keys; median of ${ROUNDS} alternating rounds of ${ROUND_MS} ms (each round's value after it).

${markdownTable([['build and zone', 'l'], ['µs per decision', 'r'], ['rounds', 'l']], hot)}

Without \`sync=\` the only new code on the path is one optional call on an unset hook: the two no-sync
rows differ by the noise between rounds. A synced zone counts its accepted requests in memory and adds
them to one delta record per key at the end of the same transaction (what the syncing worker drains):
one 8-byte read and write per distinct key of the batch (here every key of the batch is distinct, the
worst case; a hot tenant's requests share one). No request waits for Redis.

## The sync, once per period in one worker per instance

One REQ_SYNC call (Lua: add the deltas, expire idle keys, heartbeat, read back every key changed
since the last sync) to a real redis-server on 127.0.0.1, median and worst of 40 calls.

${markdownTable([['keys changed in the period', 'r'], ['ms median', 'r'], ['ms max', 'r']], sync)}
`);
