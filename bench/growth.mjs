// Cost growth of metricproxy (1 worker): throughput and CPU per request with 10, 1,000 and
// 100,000 distinct keys in one zone (wrk spreads GET /k/<n> over them, bench/keys.lua), and with
// 1, 8 and 32 zones updated by every request; the slope of each. Zones are sized with
// metricproxy's own accounting to hold every key. Results: bench/results/growth.md.
// Usage: node bench/growth.mjs [--seconds 5] [--rounds 5] [--warmup 1]
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { growthMetrics, metricproxyConf } from './configs.mjs';
import { BENCH, DIST, ensureNginx, ensureWrk, fixed, freePort, linearFit, machineDescription, markdownTable, measureQuiet, median, parseArgs, startMetricproxy, writeResult } from './lib.mjs';
import { startBackend } from './setups.mjs';

const opts = parseArgs(process.argv.slice(2), { seconds: 5, rounds: 5, warmup: 1 });
const load = (rel) => createRequire(path.join(DIST, 'x.js'))(`./${rel}`);

/** The smallest zone size, in MiB, whose chunks hold `keys` keys of `keyBytes` bytes in count mode. */
function zoneMiB(keys, keyBytes) {
  const { Zone } = load('metric/zone');
  const { parseMetricSpec } = load('metric/modes');
  const { mode, params } = parseMetricSpec(['count']);
  const def = (mib) => ({ name: 'g', size: mib * 2 ** 20, expire: false, complex: false, metrics: [{ name: 'count', mode, params }], file: 'x', line: 1 });
  for (let mib = 1; ; mib++) {
    const zone = new Zone(def(mib));
    if (zone.totalChunks - zone.baseChunks >= keys * zone.keyNodeChunks(keyBytes)) return mib;
  }
}

/** Each case is a point on one or both axes (1 zone of 10 keys is on both). */
function cases() {
  const byKeys = [10, 1000, 100000].map((keys) => {
    const mib = zoneMiB(keys, `/k/${keys - 1}`.length);
    const axes = { keys, ...(keys === 10 ? { zones: 1 } : {}) };
    return { name: `1 zone (${mib}m), ${keys} keys`, axes, zones: 1, size: `${mib}m`, keys };
  });
  const byZones = [8, 32].map((zones) => ({ name: `${zones} zones (1m), 10 keys each`, axes: { zones }, zones, size: '1m', keys: 10 }));
  return [...byKeys, ...byZones];
}

async function runCase(c, backend) {
  const port = await freePort();
  const conf = metricproxyConf({ port, backendPort: backend.port, metrics: growthMetrics(c.zones, c.size), api: true });
  const proxy = await startMetricproxy(conf, port);
  try {
    const wrk = { script: path.join(BENCH, 'keys.lua'), scriptArgs: [c.keys], seconds: opts.seconds, warmup: opts.warmup };
    const r = await measureQuiet(`http://127.0.0.1:${port}`, { ...wrk, proxyPid: proxy.pid, backendPid: backend.pid });
    const zone = await (await fetch(`http://127.0.0.1:${port}/status/http/metric_zones/g0`)).json();
    return { ...r, held: Object.keys(zone.metrics).length, discarded: zone.discarded };
  } finally {
    await proxy.stop();
  }
}

function summarise(runs) {
  return {
    rps: median(runs.map((r) => r.rps)),
    usPerReq: median(runs.map((r) => (r.proxyCpu / r.requests) * 1e6)),
    held: Math.max(...runs.map((r) => r.held)),
    discarded: Math.max(...runs.map((r) => r.discarded)),
  };
}

function slopeLine(rows, axis, xOf, unit) {
  const pts = rows.filter(([c]) => c.axes[axis] !== undefined);
  const xs = pts.map(([c]) => xOf(c.axes[axis]));
  const cpu = linearFit(xs, pts.map(([, s]) => s.usPerReq));
  const rps = linearFit(xs, pts.map(([, s]) => s.rps));
  return `- ${unit}: CPU ${cpu.slope >= 0 ? '+' : ''}${fixed(cpu.slope, 2)} µs per request, throughput ${rps.slope >= 0 ? '+' : ''}${fixed(rps.slope, 0)} req/s (least-squares over the three points).\n`;
}

function render(rows) {
  const table = markdownTable(
    [['case', 'l'], ['req/s', 'r'], ['proxy CPU µs / req', 'r'], ['keys held in g0', 'r'], ['discarded', 'r']],
    rows.map(([c, s]) => [c.name, fixed(s.rps, 0), fixed(s.usPerReq, 1), String(s.held), String(s.discarded)]),
  );
  let md = `# Cost growth\n\nMachine: ${machineDescription()}\n\n`;
  md += `metricproxy, 1 worker, zones \`metric_zone gN:SIZE count;\` each updated by \`metric gN $uri;\`; wrk -t2 -c64 -d${opts.seconds}s `;
  md += `spreading GET /k/<n> uniformly over the keys (bench/keys.lua), ${opts.rounds} runs per case in alternating order, medians. `;
  md += 'Zone sizes from metricproxy\'s Angie accounting (a short key in count mode takes two 128-byte chunks). ';
  md += '"keys held" is read from the API after the run: under 100,000 when the run did not reach every key.\n\n';
  md += table + '\nSlopes (the store\'s own cost per key count, without the network\'s noise, is in micro.md):\n\n';
  md += slopeLine(rows, 'keys', Math.log10, 'per 10× more keys in a zone');
  md += slopeLine(rows, 'zones', (x) => x, 'per extra zone updated by each request');
  return md;
}

async function main() {
  ensureWrk();
  ensureNginx();
  const list = cases();
  const runs = new Map(list.map((c) => [c, []]));
  const backend = await startBackend();
  try {
    for (let round = 0; round < opts.rounds; round++) {
      for (const c of round % 2 === 0 ? list : [...list].reverse()) {
        const r = await runCase(c, backend);
        runs.get(c).push(r);
        console.log(`round ${round + 1}/${opts.rounds}  ${c.name.padEnd(28)} ${r.rps.toFixed(0).padStart(7)} req/s  keys held ${r.held}`);
      }
    }
  } finally {
    await backend.stop();
  }
  const md = render(list.map((c) => [c, summarise(runs.get(c))]));
  console.log(`\n${md}`);
  writeResult('growth.md', md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
