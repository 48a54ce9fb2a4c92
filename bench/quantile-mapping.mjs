// The quantile mode's hand-written DDSketch mapping next to @datadog/sketches-js's: the same values
// into both, their answers against the exact nearest-rank quantiles, and the bytes each keeps.
// Needs the library (not a dependency): `npm install --no-save @datadog/sketches-js protobufjs`,
// or SKETCHES_JS=/path/to/node_modules/@datadog/sketches-js. Results: bench/results/quantile-mapping.md.
// Speed per update is in the micro-bench: `node bench/micro.mjs --only 'Zone.update|sketches-js'`.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { DIST, fixed, markdownTable, writeResult } from './lib.mjs';

const load = createRequire(path.join(DIST, 'x.js'));
const { parseMetricSpec } = load('./metric/modes');
const { Zone } = load('./metric/zone');
const { FULL_ACCURACY_RANGE, nearestRank } = load('./metric/modes/sketch');
const dd = createRequire(path.join(process.cwd(), 'x.js'))(process.env.SKETCHES_JS ?? '@datadog/sketches-js');

const N = 1_000_000;
const QS = [0.5, 0.9, 0.95, 0.99, 0.999];

const normal = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
const DISTRIBUTIONS = {
  'lognormal, median 50 ms, σ=1': () => 0.05 * Math.exp(normal()),
  'Pareto shape 1.16 from 1 ms': () => 0.001 / Math.pow(1 - Math.random(), 1 / 1.16),
  'uniform 0..2': () => 2 * Math.random(),
};

function ours(alpha) {
  const { mode, params } = parseMetricSpec(['quantile', ...QS.map(String), `accuracy=${alpha}`]);
  const zone = new Zone({ name: 'z', size: 64 << 20, expire: false, complex: false, metrics: [{ name: mode.name, mode, params }], file: 'bench', line: 1 });
  const st = new Float64Array(zone.slots);
  zone.init(st, 0);
  return { zone, st, bins: params.mapping.bins };
}

const exactAt = (sorted, q) => sorted[nearestRank(q, sorted.length) - 1];

/** The quantiles whose exact value lies more than FULL_ACCURACY_RANGE below the largest: collapsed. */
const collapsed = (sorted) => QS.filter((q) => exactAt(sorted, q) <= sorted[sorted.length - 1] / FULL_ACCURACY_RANGE);

/** Worst relative error of `answer(q)` over the quantiles of QS in the full-accuracy range. */
function worstError(sorted, answer) {
  const held = QS.filter((q) => !collapsed(sorted).includes(q));
  return Math.max(...held.map((q) => Math.abs(answer(q) - exactAt(sorted, q)) / exactAt(sorted, q)));
}

const rows = [];
for (const alpha of [0.01, 0.001]) {
  for (const [name, next] of Object.entries(DISTRIBUTIONS)) {
    const mine = ours(alpha);
    const theirs = new dd.LogCollapsingLowestDenseDDSketch({ relativeAccuracy: alpha, binLimit: mine.bins });
    const values = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      values[i] = next();
      mine.zone.update(mine.st, 0, values[i], 0);
      theirs.accept(values[i]);
    }
    const sorted = values.sort();
    const read = mine.zone.read(mine.st, 0, 0);
    const held = QS.filter((q) => !collapsed(sorted).includes(q));
    const apart = Math.max(...held.map((q) => Math.abs(read.get(String(q)) / theirs.getValueAtQuantile(q) - 1)));
    rows.push([
      name,
      String(alpha),
      fixed(100 * worstError(sorted, (q) => read.get(String(q))), 3) + ' %',
      fixed(100 * worstError(sorted, (q) => theirs.getValueAtQuantile(q)), 3) + ' %',
      apart.toExponential(1),
      collapsed(sorted).join(', ') || '–',
      String(mine.st.length * 8),
      String(theirs.toProto().length),
    ]);
    console.log(rows.at(-1).join('  '));
  }
}

const md = `# quantile: hand-written mapping vs @datadog/sketches-js

\`node bench/quantile-mapping.mjs\`: ${N.toLocaleString('en')} values per row into the \`quantile\` mode's record
and into sketches-js's \`LogCollapsingLowestDenseDDSketch\` with the same accuracy and bin limit; the worst
relative error over the quantiles ${QS.join(', ')} against the exact nearest-rank values (those whose value lies
within ${FULL_ACCURACY_RANGE}× of the largest; the others fall in the collapsed bins, in both), and the bytes each keeps
(our fixed record; sketches-js's protobuf encoding). The mapping is the same (bucket ⌈log_γ x⌉, read back as
γ^i(1−α)), so in the full-accuracy range the two answers differ only by floating-point rounding (log vs log2), except
where sketches-js's store, which grows and collapses in chunks of 128 bins, has collapsed more than its bin limit.
Speed per update: bench/results/micro-quantile.md.

${markdownTable(
  [['distribution', 'l'], ['α', 'r'], ['quantile mode, worst error', 'r'], ['sketches-js, worst error', 'r'], ['largest relative difference of the two answers', 'r'], ['collapsed quantiles', 'r'], ['record bytes (fixed)', 'r'], ['sketches-js toProto bytes', 'r']],
  rows,
)}`;
writeResult('quantile-mapping.md', md);
console.log(md);
