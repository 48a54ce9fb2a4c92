// Micro-benchmarks of the hot paths (bench/micro-cases.mjs), ns per operation, median of rounds.
// Before/after: `node bench/micro.mjs --save base`, change src/, `npx tsc -p .`, then
// `node bench/micro.mjs --compare base`. Or, steadier on a noisy machine, both builds in one process
// with their rounds interleaved: `node bench/build-copy.mjs base` before the change, then
// `node bench/micro.mjs --against node_modules/.cache/mp-bench/base/dist`.
// Results: bench/results/micro.md (+ micro-NAME.json when saved). Some cases only:
// `--only REGEX --out NAME.md` (e.g. `--only 'Zone.update|4 .* metrics per request' --out micro-modes.md`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH, fixed, machineDescription, ROOT, markdownTable, median, parseArgs, waitQuiet, writeResult } from './lib.mjs';
import { microCases } from './micro-cases.mjs';

// --only REGEX: the cases whose name matches; --quiet-ms: how long to wait for a quiet machine per
// case; --out: the result file under bench/results/.
const opts = parseArgs(process.argv.slice(2), { rounds: 7, ms: 300, save: '', compare: '', against: '', only: '', out: 'micro.md', quietMs: 60000 });

/** ns per op of one round: calls `run` in growing batches until `ms` have passed. */
function round(c, ms) {
  let calls = 0;
  let batch = 1;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms * 1e6);
  let now = start;
  while (now < end) {
    for (let i = 0; i < batch; i++) c.run();
    calls += batch;
    batch = Math.min(batch * 2, 4096);
    now = process.hrtime.bigint();
  }
  return Number(now - start) / (calls * c.ops);
}

const summary = (rounds) => ({ ns: median(rounds), min: Math.min(...rounds), max: Math.max(...rounds) });

/** Rounds of each case in turn (after a warm-up round each: let the JIT settle); one summary per case. */
function measureCases(cases) {
  for (const c of cases) round(c, opts.ms);
  const rounds = cases.map(() => []);
  for (let i = 0; i < opts.rounds; i++) cases.forEach((c, k) => rounds[k].push(round(c, opts.ms)));
  return rounds.map(summary);
}

const savedFile = (name) => path.join(BENCH, 'results', `micro-${name}.json`);

function render(results, base) {
  const head = [['case', 'l'], ['ns/op', 'r'], ['ops/s', 'r'], ['range of rounds', 'r']];
  // A build-copy build is named by its folder: node_modules/.cache/mp-bench/NAME/dist.
  const baseName = opts.compare || path.basename(path.dirname(path.resolve(ROOT, opts.against)));
  const cols = base ? [...head, [`${baseName} ns/op`, 'r'], ['after / before', 'r']] : head;
  const rows = Object.entries(results).map(([name, r]) => {
    const row = [name, fixed(r.ns, 0), fixed(1e9 / r.ns, 0), `${fixed(r.min, 0)}–${fixed(r.max, 0)}`];
    const b = base?.[name];
    return base ? [...row, b ? fixed(b.ns, 0) : '–', b ? `${fixed(r.ns / b.ns, 2)}×` : '–'] : row;
  });
  let md = `# Micro-benchmarks\n\nMachine: ${machineDescription()}\n\n`;
  md += `\`node bench/micro.mjs\`: median of ${opts.rounds} rounds of ${opts.ms} ms after a warm-up round, in one process, each case started once the rest of the machine is quiet (< 0.1 core busy, waiting up to ${opts.quietMs / 1000} s).`;
  if (opts.compare) md += ` Compared with the saved run \`${opts.compare}\` (after / before < 1 is faster).`;
  if (opts.against) md += ` Compared with the build \`${baseName}\`, measured in the same process, rounds interleaved (after / before < 1 is faster).`;
  md += '\n\n';
  return md + markdownTable(cols, rows);
}

async function main() {
  const cases = microCases();
  const others = opts.against ? microCases(path.resolve(ROOT, opts.against)) : [];
  const results = {};
  const against = {};
  const only = new RegExp(opts.only);
  for (const c of cases.filter((c) => c.run && only.test(c.name))) {
    const other = others.find((o) => o.name === c.name);
    await waitQuiet({ cores: 0.1, maxMs: opts.quietMs }); // others' load on the machine skews a micro-benchmark most of all
    [results[c.name], against[c.name]] = measureCases(other ? [c, other] : [c]);
    console.log(`${fixed(results[c.name].ns, 0).padStart(10)} ns/op  ${c.name}`);
  }
  for (const c of [...cases, ...others].filter((c) => c.close)) await c.close();
  if (opts.save) fs.writeFileSync(savedFile(opts.save), JSON.stringify(results, null, 1));
  const base = opts.compare ? JSON.parse(fs.readFileSync(savedFile(opts.compare), 'utf8')) : opts.against ? against : undefined;
  const md = render(results, base);
  console.log(`\n${md}`);
  writeResult(opts.out, md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
