// Side by side: the same wrk load (keep-alive, bounded in time) against the same backend, directly
// and through each proxy; every setup runs --rounds times in alternating order; medians of req/s,
// p50, p99 and proxy CPU per 10k requests go to the terminal and bench/results/latest.md.
// Usage: node bench/compare.mjs [--seconds 5] [--rounds 5] [--warmup 1] [--only key,key]
//                               [--connections 64] [--threads 2] [--out latest.md]
// Before/after: --builds base=node_modules/.cache/mp-bench/base/dist,now=dist runs every metricproxy
// setup once per build, interleaved (keys gain @name: --only mp-4m-1w@base,mp-4m-1w@now).
// bench/build-copy.mjs makes such builds. --render rewrites the markdown from the saved medians
// (bench/results/latest.json) with the current profile.md and analysis.md, without running anything.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH, CLI, ROOT, ensureNginx, ensureWrk, machineDescription, measureQuiet, OTHER_LOAD_LIMIT, parseArgs, writeResult } from './lib.mjs';
import { goalsTable, resultsTable, summarise } from './report.mjs';
import { buildSetups, modeSetups, proxySetups, startBackend } from './setups.mjs';

const opts = parseArgs(process.argv.slice(2), {
  seconds: 5,
  rounds: 5,
  warmup: 1,
  connections: 64,
  threads: 2,
  only: '',
  builds: '',
  out: 'latest.md',
  render: false,
});

const BACKEND = { key: 'backend', name: 'backend direct (ceiling)' };

function parseBuilds(text) {
  return text.split(',').map((pair) => {
    const [name, dist] = pair.split('=');
    return { name, dist: path.resolve(ROOT, dist) };
  });
}

function selectedSetups() {
  const all = opts.builds ? buildSetups(parseBuilds(opts.builds)) : [BACKEND, ...proxySetups(), ...modeSetups()];
  if (opts.only === '') return all.filter((s) => !s.optIn);
  const keys = opts.only.split(',');
  return all.filter((s) => keys.includes(s.key));
}

async function runOnce(setup, backend) {
  const load = { seconds: opts.seconds, warmup: opts.warmup, connections: opts.connections, threads: opts.threads };
  if (setup === BACKEND) return measureQuiet(`http://127.0.0.1:${backend.port}/`, { ...load, proxyPid: backend.pid });
  const proxy = await setup.start(backend.port);
  try {
    return await measureQuiet(`http://127.0.0.1:${proxy.port}/`, { ...load, proxyPid: proxy.pid, backendPid: backend.pid });
  } finally {
    await proxy.stop();
  }
}

/** Rounds in alternating order (forward, backward, ...), so drift does not favour one end of the list. */
async function runMatrix(setups, backend) {
  const runs = new Map(setups.map((s) => [s.key, []]));
  for (let round = 0; round < opts.rounds; round++) {
    const order = round % 2 === 0 ? setups : [...setups].reverse();
    for (const setup of order) {
      const r = await runOnce(setup, backend);
      runs.get(setup.key).push(r);
      const other = (r.otherCpu / r.seconds).toFixed(2);
      console.log(`round ${round + 1}/${opts.rounds}  ${setup.name.padEnd(48)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99.toFixed(2)} ms  other ${other} cores`);
    }
  }
  return runs;
}

function appendix(file) {
  const p = path.join(BENCH, file);
  return fs.existsSync(p) ? `\n${fs.readFileSync(p, 'utf8')}` : '';
}

function render(setups, summaries) {
  const by = new Map(setups.map((s) => [s.key, summaries.get(s.key)]));
  let md = `# Side by side\n\nMachine: ${machineDescription()}\n\n`;
  md += `Load: \`wrk -t${opts.threads} -c${opts.connections} -d${opts.seconds}s\` (keep-alive, GET / → 23-byte body) after a ${opts.warmup} s warm-up; `;
  md += `${opts.rounds} runs per setup in alternating order, medians shown (spread = (max − min) / median of req/s). `;
  md += 'Backend: one nginx worker answering `return 200` (at most one core; its use is the "backend cores" column). ';
  md += 'CPU = utime + stime from /proc of the proxy process and its children (workers), before and after each run; ';
  md += 'wrk, the backend and the proxy share the same 2 cores; "other cores" is what the rest of the machine used meanwhile ';
  md += `(each run waits, up to a minute, for other load to drop below 0.15 cores before it starts, and is repeated, up to 3 tries, when other load passed ${OTHER_LOAD_LIMIT} cores during it).\n\n`;
  md += resultsTable(setups.map((s) => [s.name, summaries.get(s.key)]));
  md += `\n## Goals\n\nEach ratio is the median over rounds of the ratio within a round (runs of one round are close in time).\n\n${goalsTable(by)}`;
  if (opts.builds) return md;
  return md + appendix('results/profile.md').replace(/^# /m, '## ') + appendix('analysis.md');
}

const savedFile = () => path.join(BENCH, 'results', opts.out.replace(/\.md$/, '.json'));

/** Re-renders from the saved medians and load options of the last run. */
function rerender() {
  const saved = JSON.parse(fs.readFileSync(savedFile(), 'utf8'));
  Object.assign(opts, saved.opts, { render: true });
  const setups = saved.setups;
  writeResult(opts.out, render(setups, new Map(saved.summaries)));
}

async function main() {
  if (opts.render) return rerender();
  ensureWrk();
  ensureNginx();
  if (!fs.existsSync(CLI)) throw new Error('dist/ is missing: run `npx tsc -p .` first (npm run bench does)');
  const setups = selectedSetups();
  const backend = await startBackend();
  let runs;
  try {
    runs = await runMatrix(setups, backend);
  } finally {
    await backend.stop();
  }
  const summaries = new Map([...runs].map(([k, r]) => [k, summarise(r)]));
  const md = render(setups, summaries);
  const saved = { opts, setups: setups.map(({ key, name }) => ({ key, name })), summaries: [...summaries] };
  fs.writeFileSync(savedFile(), JSON.stringify(saved, null, 1));
  console.log(`\n${md}`);
  writeResult(opts.out, md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
