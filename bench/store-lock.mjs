// The store's one writer lock, by worker count (issue 18 item 4). Two parts, each bounded in time:
// 1. The real proxy under wrk (4 metrics, 1 and 2 workers): requests per second and commits per
//    second (from /status/store/), so requests per commit at today's per-worker rate.
// 2. 1, 2, 4 and 8 processes committing into one store through the build's own MetricStore, each
//    as fast as it can with a loop turn between commits, batches of the 4-metric set of `k`
//    requests (k from part 1, and 1): how long each commit holds the writer lock (from the moment
//    LMDB granted it to the end of the commit), how long it waited for it, commits per second,
//    and the lock's occupancy (the sum of all holds over the wall time). This machine has 2 cores:
//    with more processes than cores the numbers are occupancy, not throughput.
// Usage: node bench/store-lock.mjs [--seconds 2] [--wrk-seconds 5] [--out store-lock.md]
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIST, fixed, freePort, machineDescription, markdownTable, median, parseArgs, runWrk, startMetricproxy, tempDir, waitQuiet, writeResult, ensureWrk } from './lib.mjs';
import { FOUR_METRICS, metricproxyConf } from './configs.mjs';
import { startBackend } from './setups.mjs';

const WORKER_COUNTS = [1, 2, 4, 8];

/** The compiled store of the build under test. */
function storeModules() {
  const load = (rel) => createRequire(path.join(DIST, 'x.js'))(`./${rel}`);
  return { ...load('metric/store/lmdb-store'), ...load('metric/modes') };
}

/** The zones of bench/configs.mjs's 4-metric set. */
function fourZones(m) {
  const def = (name, size, args) => {
    const { mode, params } = m.parseMetricSpec(args);
    return { name, size, expire: false, complex: false, metrics: [{ name: mode.name, mode, params }], file: 'bench', line: 1 };
  };
  return [
    def('bench_methods', 1 << 20, ['count']),
    // Room for the 100,000 URIs of the wide case.
    def('bench_times', 256 << 20, ['histogram', '0.005', '0.01', '0.05', '0.1', '0.5', '1', 'inf']),
    def('bench_status', 1 << 20, ['average', 'exp']),
    def('bench_inflight', 1 << 20, ['gauge']),
  ];
}

/** One loop turn's updates: `k` requests of the 4-metric set, their URIs drawn from `uris`. */
function turnUpdates(k, turn, uris) {
  const updates = [];
  for (let i = 0; i < k; i++) {
    const t = 0.0005 + ((turn + i) % 7) * 0.0003;
    const uri = uris <= 10 ? (turn * k + i) % uris : Math.floor(Math.random() * uris);
    updates.push(
      { zone: 'bench_inflight', key: 'all', value: 1 },
      { zone: 'bench_methods', key: 'GET', value: 1 },
      { zone: 'bench_times', key: `/page/${uri}`, value: t },
      { zone: 'bench_status', key: '200', value: t },
      { zone: 'bench_inflight', key: 'all', value: -1 },
    );
  }
  return updates;
}

// --- a committing process --------------------------------------------------------------------

/**
 * Wraps the environment's write transactions to time the wait for the lock and the hold, in wall
 * time and in this process's CPU time (a holder descheduled by the oversubscribed machine, or by
 * the waiter its unlock woke, holds longer in wall time; its CPU time is what more cores would see).
 */
function timeTransactions(env, waits, holds, cpuHolds) {
  const original = env.transactionSync;
  env.transactionSync = function (body, flags) {
    const asked = performance.now();
    let granted = asked;
    let cpuGranted;
    const out = original.call(this, () => {
      granted = performance.now();
      cpuGranted = process.cpuUsage();
      return body();
    }, flags);
    const cpu = process.cpuUsage(cpuGranted);
    holds.push(performance.now() - granted);
    cpuHolds.push((cpu.user + cpu.system) / 1000);
    waits.push(granted - asked);
    return out;
  };
}

async function childMain(dir, k, uris, ms) {
  const m = storeModules();
  const store = m.MetricStore.open(dir, fourZones(m));
  const waits = [];
  const holds = [];
  const cpuHolds = [];
  timeTransactions(store.env, waits, holds, cpuHolds);
  const go = new Promise((resolve) => process.on('message', resolve));
  process.send({ ready: true });
  await go;
  const start = performance.now();
  let turn = 0;
  while (performance.now() - start < ms) {
    store.applyBatch(turnUpdates(k, turn++, uris));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const wallMs = performance.now() - start;
  await store.close();
  // Disconnect once the (large) result is out: disconnecting at once can drop it.
  process.send({ wallMs, commits: holds.length, holdMs: holds, cpuHoldMs: cpuHolds, waitMs: waits }, () => process.disconnect());
}

// --- the parent ------------------------------------------------------------------------------

/** A new store holding every one of the `uris` URIs already (updates to keys that exist, as in a long run). */
function filledStore(uris) {
  const dir = tempDir('lock');
  const m = storeModules();
  const store = m.MetricStore.open(dir, fourZones(m));
  for (let first = 0; first < uris; first += 1000) {
    const updates = [];
    for (let u = first; u < Math.min(uris, first + 1000); u++) updates.push({ zone: 'bench_times', key: `/page/${u}`, value: 0.001 });
    store.applyBatch(updates);
  }
  void store.close();
  return dir;
}

/** `workers` processes committing batches of `k` requests (URIs among `uris`) into one store for `seconds`. */
async function contend(workers, k, uris, seconds) {
  const dir = filledStore(uris);
  const children = [];
  try {
    for (let i = 0; i < workers; i++) {
      const child = fork(new URL(import.meta.url).pathname, ['--child', dir, String(k), String(uris), String(seconds * 1000)]);
      // One listener for the child's life (its ready, then its result): the channel stays referenced.
      let ready;
      let result;
      const readyP = new Promise((resolve) => (ready = resolve));
      const resultP = new Promise((resolve) => (result = resolve));
      child.on('message', (msg) => (msg.ready ? ready() : result(msg)));
      children.push({ child, ready: readyP, result: resultP });
    }
    await Promise.all(children.map((c) => c.ready));
    for (const { child } of children) child.send('go');
    return summarise(await Promise.all(children.map((c) => c.result)), workers, k, uris);
  } finally {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function summarise(results, workers, k, uris) {
  const holds = results.flatMap((r) => r.holdMs);
  const waits = results.flatMap((r) => r.waitMs);
  const cpuHolds = results.flatMap((r) => r.cpuHoldMs);
  const wallMs = Math.max(...results.map((r) => r.wallMs));
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];
  return {
    workers,
    k,
    uris,
    commitsPerS: (holds.length / wallMs) * 1000,
    holdMedianUs: median(holds) * 1000,
    holdMeanUs: (sum(holds) / holds.length) * 1000,
    holdP99Us: p99(holds) * 1000,
    waitMeanUs: (sum(waits) / waits.length) * 1000,
    occupancy: sum(holds) / wallMs,
    cpuHoldMeanUs: (sum(cpuHolds) / cpuHolds.length) * 1000,
    cpuOccupancy: sum(cpuHolds) / wallMs,
  };
}

/** Part 1: the real proxy's requests and commits per second under wrk. */
async function proxyRates(workers, seconds) {
  const backend = await startBackend();
  const port = await freePort();
  const proxy = await startMetricproxy(metricproxyConf({ port, backendPort: backend.port, workers, metrics: FOUR_METRICS, api: true }), port);
  try {
    const commits = async () => (await (await fetch(`http://127.0.0.1:${port}/status/store/`)).json()).commits;
    await waitQuiet({ cores: 0.3, maxMs: 5000 });
    runWrk(`http://127.0.0.1:${port}/`, { seconds: 1 });
    const before = await commits();
    const r = runWrk(`http://127.0.0.1:${port}/`, { seconds });
    // The workers fold their counts into the store every 100 ms: wait for the last fold.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const commitsPerS = ((await commits()) - before) / seconds;
    return { workers, rps: r.rps, commitsPerS, perCommit: r.rps / commitsPerS };
  } finally {
    await proxy.stop();
    await backend.stop();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2), { seconds: 2, wrkSeconds: 5, out: 'store-lock.md' });
  ensureWrk();
  const rates = [];
  for (const workers of [1, 2]) rates.push(await proxyRates(workers, opts.wrkSeconds));
  console.table(rates);
  const k = Math.max(1, Math.round(rates[0].perCommit));
  const runs = [];
  for (const [batch, uris] of [[k, 10], [k, 100_000], [1, 10]]) {
    for (const workers of WORKER_COUNTS) {
      await waitQuiet({ cores: 0.3, maxMs: 5000 });
      runs.push(await contend(workers, batch, uris, opts.seconds));
      console.table([runs.at(-1)]);
    }
  }
  writeResult(opts.out, report(opts, rates, runs));
}

function report(opts, rates, runs) {
  let md = `# The store's writer lock by worker count\n\nMachine: ${machineDescription()}\n\n`;
  md += `\`node bench/store-lock.mjs\`. Part 1: metricproxy with the 4-metric set under \`wrk -t2 -c64 -d${opts.wrkSeconds}s\` (after 1 s of warm-up); commits per second from \`/status/store/\` (a worker folds its count in every 100 ms; the status counters' own snapshots, ~10 a second per worker, are not in it).\n\n`;
  md += markdownTable(
    [['workers', 'r'], ['req/s', 'r'], ['commits/s', 'r'], ['requests per commit', 'r']],
    rates.map((r) => [String(r.workers), fixed(r.rps, 0), fixed(r.commitsPerS, 0), fixed(r.perCommit, 1)]),
  );
  md += `\nPart 2: N processes commit into one new store through this build's MetricStore.applyBatch, each for ${opts.seconds} s as fast as it can with one loop turn (setImmediate) between commits, every commit a batch of k requests of the 4-metric set (5 updates each: 3 of them to the same key every time, one to a URI among 10 or among 100,000 that the store already holds). Hold: from the moment LMDB granted the write transaction to the end of its commit; wait: from asking to being granted; occupancy: the sum of all holds over the wall time (1.0 = the lock never free); the CPU columns count a hold by the holder's own CPU time (process.cpuUsage, ~1 µs of its own per call), which leaves out the time a holder sat descheduled. With more processes than the 2 cores, a holder can be descheduled while it holds the lock: holds grow, and the numbers say how busy the lock was, not what more cores would do.\n\n`;
  md += markdownTable(
    [['processes', 'r'], ['k', 'r'], ['URIs', 'r'], ['commits/s (all)', 'r'], ['hold median µs', 'r'], ['hold mean µs', 'r'], ['hold p99 µs', 'r'], ['wait mean µs', 'r'], ['occupancy (wall)', 'r'], ['hold CPU mean µs', 'r'], ['occupancy (CPU)', 'r']],
    runs.map((r) => [String(r.workers), String(r.k), String(r.uris), fixed(r.commitsPerS, 0), fixed(r.holdMedianUs, 1), fixed(r.holdMeanUs, 1), fixed(r.holdP99Us, 1), fixed(r.waitMeanUs, 1), fixed(r.occupancy, 2), fixed(r.cpuHoldMeanUs, 1), fixed(r.cpuOccupancy, 2)]),
  );
  return md;
}

if (process.argv[2] === '--child') await childMain(process.argv[3], ...process.argv.slice(4).map(Number));
else await main();
