// Where a metricproxy worker's time goes: runs one setup (default 1 worker, 4 metrics) under
// `node --cpu-prof` (cluster passes the master's node flags on to the workers), loads it with wrk, and summarises
// the worker's profile by self time: top functions and coarse categories.
// Usage: node bench/profile.mjs [--setup 4m] [--workers 1] [--seconds 5] [--top 25]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH, ensureNginx, ensureWrk, fixed, markdownTable, measure, parseArgs, tempDir, writeResult } from './lib.mjs';
import { metricproxySetup, startBackend } from './setups.mjs';

/** Self samples per function (name, file, line) and the profile's total sampled time. */
function selfTimes(profile) {
  const total = profile.endTime - profile.startTime;
  const samples = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
  const perSample = total / samples / 1000; // ms
  const byFunction = new Map();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + (node.hitCount ?? 0) * perSample);
  }
  return { byFunction, totalMs: total / 1000 };
}

function shortUrl(url) {
  if (!url) return '';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `src/${url.slice(dist + 6).replace(/\.js$/, '.ts')}`;
  const mods = url.lastIndexOf('node_modules/');
  if (mods >= 0) return url.slice(mods + 13);
  return url.replace(/^file:\/\//, '');
}

const CATEGORIES = [
  ['idle', (k) => k.startsWith('(idle)')],
  ['garbage collector', (k) => k.startsWith('(garbage collector)')],
  ['metricproxy (src/)', (k) => k.includes(' src/')],
  ['undici', (k) => k.includes(' undici/')],
  ['node-lmdb (native calls)', (k) => /^(beginTxn|commit|getBinary|putBinary|abort|del) $/.test(k)],
  ['node internals (http, net, streams)', (k) => k.includes('node:')],
  ['other native / V8 (program)', () => true],
];

function categoryOf(key) {
  return CATEGORIES.find(([, test]) => test(key))[0];
}

export function summariseProfile(profile, { top = 25 } = {}) {
  const { byFunction, totalMs } = selfTimes(profile);
  const busyMs = totalMs - (byFunction.get('(idle) ') ?? 0);
  const pct = (ms) => `${fixed((ms / busyMs) * 100, 1)}%`;
  const sorted = [...byFunction].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
  const byCategory = new Map();
  for (const [k, ms] of byFunction) byCategory.set(categoryOf(k), (byCategory.get(categoryOf(k)) ?? 0) + ms);
  const catRows = [...byCategory].filter(([c]) => c !== 'idle').sort((a, b) => b[1] - a[1]).map(([c, ms]) => [c, fixed(ms, 0), pct(ms)]);
  const topRows = sorted.slice(0, top).map(([k, ms]) => [`\`${k}\``, fixed(ms, 0), pct(ms)]);
  let md = `Sampled ${fixed(totalMs / 1000, 1)} s, of which the worker was busy ${fixed(busyMs / 1000, 1)} s (= 100% below).\n\n`;
  md += markdownTable([['category', 'l'], ['self ms', 'r'], ['of busy', 'r']], catRows);
  md += `\nTop ${top} functions by self time:\n\n`;
  md += markdownTable([['function', 'l'], ['self ms', 'r'], ['of busy', 'r']], topRows);
  return md;
}

/** The worker's profile: the one with the most samples (the master mostly idles). */
function busiestProfile(dir) {
  const profiles = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const loaded = profiles.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  const busy = (p) => p.nodes.filter((n) => n.callFrame.functionName !== '(idle)').reduce((s, n) => s + (n.hitCount ?? 0), 0);
  return loaded.sort((a, b) => busy(b) - busy(a))[0];
}

async function profileRun(opts) {
  const setup = metricproxySetup(`${opts.setup.replace('m', '')} metrics`, opts.workers);
  const dir = tempDir('prof');
  const backend = await startBackend();
  try {
    const proxy = await setup.start(backend.port, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    try {
      const url = `http://127.0.0.1:${proxy.port}/`;
      const r = measure(url, { proxyPid: proxy.pid, seconds: opts.seconds, warmup: 1 });
      console.log(`${setup.name}: ${r.rps.toFixed(0)} req/s under the profiler`);
    } finally {
      await proxy.stop();
    }
  } finally {
    await backend.stop();
  }
  const profile = busiestProfile(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return { setup, profile };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2), { setup: '4m', workers: 1, seconds: 5, top: 25 });
  ensureWrk();
  ensureNginx();
  const { setup, profile } = await profileRun(opts);
  fs.writeFileSync(path.join(BENCH, 'results', `${setup.key}.cpuprofile`), JSON.stringify(profile));
  let md = `# Profile: ${setup.name}\n\n`;
  md += `\`node bench/profile.mjs\`: the worker under \`--cpu-prof\` while wrk (-t2 -c64, ${opts.seconds} s, after 1 s warm-up) loads it. `;
  md += `Self time (a function's callees are not in its number; src/...ts names with the line numbers of the compiled dist/*.js); the full profile is bench/results/${setup.key}.cpuprofile (not committed; open it in Chrome DevTools).\n\n`;
  md += summariseProfile(profile, opts);
  console.log(`\n${md}`);
  writeResult('profile.md', md);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
