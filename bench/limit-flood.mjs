// A flood of distinct keys through limit_req's decision, in one process and without HTTP: each key
// is one write transaction of the real store (as one request is in a worker), so the run reaches
// 1,000,000 keys in minutes where the HTTP flood of bench/limits.mjs reaches about 100,000 in its
// 15 s. Samples RSS, the zone's records, its bytes in use and the data file's high-water mark.
// Usage: node --expose-gc bench/limit-flood.mjs [--keys 1000000] [--size 32768] [--seconds 600] [--out limits-flood.md]
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { DIST, machineDescription, markdownTable, parseArgs, tempDir, writeResult } from './lib.mjs';
import { limitReqZone } from './limit-decide.mjs';

const require = createRequire(import.meta.url);
const { MetricStore } = require(path.join(DIST, 'metric/store/lmdb-store.js'));
const { usedBytes } = require(path.join(DIST, 'store/environment.js'));

const opts = parseArgs(process.argv.slice(2), { keys: 1_000_000, size: 32 * 1024, seconds: 600, out: 'limits-flood.md' });
const SAMPLES = 10;
const YIELD_EVERY = 100;

const dir = tempDir('limit-flood');
const store = MetricStore.open(dir, []);
const { db, zone, decideAll } = limitReqZone(store, { name: 'flood', size: opts.size, keySource: '$arg_k', rate: 1000 });

/** One request's decision: one write transaction, as a worker makes it for a turn with one check. */
function request(k) {
  return decideAll([`tenant-${k}`], Date.now())[0];
}

function sample(keysSent, startMs) {
  // With --expose-gc, each sample follows a full collection: the RSS column is then what is live.
  globalThis.gc?.();
  const records = db.read((t) => {
    let n = 0;
    zone.scanRecords(t, () => void n++);
    return n;
  });
  const [zoneBytes] = db.read((t) => zone.readMeta(t));
  return { keysSent, seconds: (performance.now() - startMs) / 1000, rssKiB: Math.round(process.memoryUsage().rss / 1024), records, zoneBytes, storeBytes: usedBytes(store.env) };
}

const kinds = new Map();
const samples = [];
const start = performance.now();
const deadline = start + opts.seconds * 1000;
let sent = 0;
samples.push(sample(0, start));
while (sent < opts.keys && performance.now() < deadline) {
  // A worker returns to its event loop between requests; so does this loop, now and then: lmdb-js
  // frees a cursor's native wrapper (each new key's LRU scan opens one) in a finalizer that runs
  // there. A loop that never yields grew by 0.8 KiB per key (906 MiB after 1,000,000).
  if (sent % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
  const kind = request(sent++);
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  if (sent % (opts.keys / SAMPLES) === 0) {
    samples.push(sample(sent, start));
    console.log(JSON.stringify(samples.at(-1)));
  }
}
if (samples.at(-1).keysSent !== sent) samples.push(sample(sent, start));
await store.close();
fs.rmSync(dir, { recursive: true, force: true });

/** What the samples show, computed: the zone's bound, and growth over the second half of the run. */
function verdict(all) {
  const last = all.at(-1);
  const mid = all[Math.floor(all.length / 2)];
  const most = Math.max(...all.map((x) => x.records));
  return (
    `Read: at most ${most} records were in the zone at a sample (${last.records} at the end, ${last.zoneBytes} of ${zone.capacity} bytes in use); ` +
    `from ${mid.keysSent.toLocaleString('en')} to ${last.keysSent.toLocaleString('en')} keys the data file's used bytes went from ${mid.storeBytes} to ${last.storeBytes} ` +
    `and RSS from ${mid.rssKiB} to ${last.rssKiB} KiB; ${(last.keysSent / last.seconds).toFixed(0)} keys/s here, on a machine shared with other test runs.`
  );
}

const table = markdownTable(
  [['keys sent', 'r'], ['s', 'r'], ['RSS KiB', 'r'], ['records in the zone', 'r'], ['zone bytes in use', 'r'], ['data file used bytes', 'r']],
  samples.map((s) => [s.keysSent, s.seconds.toFixed(1), s.rssKiB, s.records, s.zoneBytes, s.storeBytes]),
);
writeResult(
  opts.out,
  `# limit_req: a flood of ${sent.toLocaleString('en')} distinct keys\n\nMachine: ${machineDescription()}. Run: \`node ${globalThis.gc ? '--expose-gc ' : ''}bench/limit-flood.mjs --keys ${opts.keys} --size ${opts.size}\` (${new Date().toISOString()}).\n\n` +
    `Every key is new: one write transaction of the real store each (lookup, a new node, the LRU index, and the least recently used nodes dropped once the ${opts.size}-byte zone is full), in one process without HTTP. Decisions: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}.\n\n` +
    table +
    `\n${verdict(samples)}\n`);
