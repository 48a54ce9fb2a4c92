// Micro-benchmarks of the hot paths (bench/micro-cases.mjs), ns per operation, median of rounds.
// Before/after: `node bench/micro.mjs --save base`, change src/, `npx tsc -p .`, then
// `node bench/micro.mjs --compare base`. Results: bench/results/micro.md (+ micro-NAME.json when saved).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH, fixed, machineDescription, markdownTable, median, parseArgs, waitQuiet, writeResult } from './lib.mjs';
import { microCases } from './micro-cases.mjs';

const opts = parseArgs(process.argv.slice(2), { rounds: 7, ms: 300, save: '', compare: '' });

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

function measureCase(c) {
  round(c, opts.ms); // warm-up: let the JIT settle
  const rounds = Array.from({ length: opts.rounds }, () => round(c, opts.ms));
  return { ns: median(rounds), min: Math.min(...rounds), max: Math.max(...rounds) };
}

const savedFile = (name) => path.join(BENCH, 'results', `micro-${name}.json`);

function render(results, base) {
  const head = [['case', 'l'], ['ns/op', 'r'], ['ops/s', 'r'], ['range of rounds', 'r']];
  const cols = base ? [...head, [`${opts.compare} ns/op`, 'r'], ['after / before', 'r']] : head;
  const rows = Object.entries(results).map(([name, r]) => {
    const row = [name, fixed(r.ns, 0), fixed(1e9 / r.ns, 0), `${fixed(r.min, 0)}–${fixed(r.max, 0)}`];
    const b = base?.[name];
    return base ? [...row, b ? fixed(b.ns, 0) : '–', b ? `${fixed(r.ns / b.ns, 2)}×` : '–'] : row;
  });
  let md = `# Micro-benchmarks\n\nMachine: ${machineDescription()}\n\n`;
  md += `\`node bench/micro.mjs\`: median of ${opts.rounds} rounds of ${opts.ms} ms after a warm-up round, in one process, each case started once the rest of the machine is quiet (< 0.1 core busy, waiting up to a minute).`;
  md += base ? ` Compared with the saved run \`${opts.compare}\` (after / before < 1 is faster).\n\n` : '\n\n';
  return md + markdownTable(cols, rows);
}

async function main() {
  const cases = microCases();
  const results = {};
  for (const c of cases.filter((c) => c.run)) {
    await waitQuiet({ cores: 0.1 }); // others' load on the machine skews a micro-benchmark most of all
    results[c.name] = measureCase(c);
    console.log(`${fixed(results[c.name].ns, 0).padStart(10)} ns/op  ${c.name}`);
  }
  for (const c of cases.filter((c) => c.close)) await c.close();
  if (opts.save) fs.writeFileSync(savedFile(opts.save), JSON.stringify(results, null, 1));
  const base = opts.compare ? JSON.parse(fs.readFileSync(savedFile(opts.compare), 'utf8')) : undefined;
  const md = render(results, base);
  console.log(`\n${md}`);
  writeResult('micro.md', md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
