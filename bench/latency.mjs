// Latency a request pays for its metrics (issue 18 item 5): one keep-alive connection, sequential
// requests (the next is sent when the last byte of the previous response has arrived), through
// nginx, plain http-proxy and metricproxy with 0 and 4 metrics, in alternating rounds.
// `--against DIST` (a bench/build-copy.mjs build) adds that build's metricproxy setups, measured in
// the same rounds. Load is bounded: `--rounds` × `--requests` per setup (~0.25 ms each), and every
// batch stops after `--max-ms` whatever it reached.
// Usage: node bench/latency.mjs [--rounds 5] [--requests 1500] [--against DIST] [--out metric-latency.md]
import * as net from 'node:net';
import * as path from 'node:path';
import { fixed, machineDescription, markdownTable, median, parseArgs, ROOT, waitQuiet, writeResult } from './lib.mjs';
import { metricproxySetup, proxySetups, startBackend } from './setups.mjs';

const opts = parseArgs(process.argv.slice(2), { rounds: 5, requests: 1500, warmup: 300, maxMs: 1500, against: '', out: 'metric-latency.md' });

/** One connection that sends a GET and resolves with the microseconds until its response's last byte. */
class SequentialClient {
  constructor(socket) {
    this.socket = socket;
    this.buffered = Buffer.alloc(0);
    this.done = undefined;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.fail(new Error('the connection closed'));
    });
    socket.on('error', (err) => this.fail(err));
  }

  fail(err) {
    clearTimeout(this.done?.timer);
    this.done?.reject(err);
    this.done = undefined;
  }

  static connect(port) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new SequentialClient(socket)));
      socket.once('error', reject);
    });
  }

  request() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error('no answer within 5 s')), 5000);
      this.done = { resolve, reject, timer, start: process.hrtime.bigint() };
      this.socket.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
    });
  }

  onData(chunk) {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headEnd = this.buffered.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.buffered.subarray(0, headEnd).toString('latin1');
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (length === null) return this.fail(new Error(`a response without Content-Length: ${head}`));
    const total = headEnd + 4 + Number(length[1]);
    if (this.buffered.length < total) return;
    if (!head.startsWith('HTTP/1.1 200')) return this.fail(new Error(`unexpected answer: ${head.split('\r\n')[0]}`));
    this.buffered = this.buffered.subarray(total);
    // nginx closes a connection after keepalive_requests (1000): the batch goes on on a new one.
    if (/\r\nconnection:\s*close/i.test(head)) this.closed = true;
    const { resolve, start, timer } = this.done;
    clearTimeout(timer);
    this.done = undefined;
    resolve(Number(process.hrtime.bigint() - start) / 1000);
  }

  close() {
    this.socket.removeAllListeners('close');
    this.socket.destroy();
  }
}

/** `count` sequential requests on one connection (at most `maxMs`); their latencies in µs. */
async function batch(port, count, maxMs) {
  let client = await SequentialClient.connect(port);
  const samples = [];
  const end = Date.now() + maxMs;
  try {
    while (samples.length < count && Date.now() < end) {
      if (client.closed) {
        client.close();
        client = await SequentialClient.connect(port);
      }
      samples.push(await client.request());
    }
  } finally {
    client.close();
  }
  return samples;
}

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function chosenSetups() {
  const stock = proxySetups().filter((s) => ['nginx-1w', 'http-proxy', 'mp-0m-1w', 'mp-4m-1w'].includes(s.key));
  if (!opts.against) return stock;
  const dist = path.resolve(ROOT, opts.against);
  const build = { name: path.basename(path.dirname(dist)), dist };
  return [...stock, metricproxySetup('0 metrics', 1, build), metricproxySetup('4 metrics', 1, build)];
}

async function main() {
  const setups = chosenSetups();
  const backend = await startBackend();
  const running = [];
  try {
    for (const s of setups) running.push({ ...s, proc: await s.start(backend.port), samples: [], roundMedians: [] });
    for (let round = 0; round < opts.rounds; round++) {
      await waitQuiet({ cores: 0.3, maxMs: 5000 });
      // Alternate the order, so no setup always runs first after the pause.
      const order = round % 2 === 0 ? running : [...running].reverse();
      for (const s of order) {
        await batch(s.proc.port, opts.warmup, opts.maxMs);
        const samples = await batch(s.proc.port, opts.requests, opts.maxMs);
        s.samples.push(...samples);
        s.roundMedians.push(median(samples));
        console.log(`round ${round + 1} ${s.name}: ${samples.length} requests, median ${fixed(median(samples), 0)} µs`);
      }
    }
  } finally {
    for (const s of running) await s.proc?.stop();
    await backend.stop();
  }
  writeResult(opts.out, report(running));
}

/** Per round, `key`'s median minus `baseKey`'s; the median of those (paired: same round). */
function pairedAdded(running, key, baseKey) {
  const a = running.find((s) => s.key === key);
  const b = running.find((s) => s.key === baseKey);
  if (a === undefined || b === undefined) return NaN;
  return median(a.roundMedians.map((m, i) => m - b.roundMedians[i]));
}

function report(running) {
  const rows = running.map((s) => [
    s.name,
    String(s.samples.length),
    fixed(median(s.samples), 0),
    fixed(percentile(s.samples, 99), 0),
    `${fixed(Math.min(...s.roundMedians), 0)}–${fixed(Math.max(...s.roundMedians), 0)}`,
  ]);
  const cols = [['setup', 'l'], ['requests', 'r'], ['median µs', 'r'], ['p99 µs', 'r'], ['round medians µs', 'r']];
  let md = `# Latency of one request at low load\n\nMachine: ${machineDescription()}\n\n`;
  md += `\`node bench/latency.mjs${process.argv.slice(2).map((a) => ` ${a}`).join('')}\`: one keep-alive connection, the next GET sent when the previous response's last byte has arrived; ${opts.rounds} rounds, each setup in turn (order reversed every other round) with ${opts.warmup} warm-up requests and then ${opts.requests} timed ones (a batch stops after ${opts.maxMs} ms). Backend: one nginx worker answering \`return 200\` (23 bytes). Latency from the request's write to the response's last byte, in the client (Node, same machine).\n\n`;
  md += markdownTable(cols, rows);
  const goals = [];
  for (const suffix of ['', ...running.filter((s) => s.key.includes('@')).map((s) => s.key.slice(s.key.indexOf('@'))).filter((v, i, a) => a.indexOf(v) === i)]) {
    const four = running.find((s) => s.key === `mp-4m-1w${suffix}`);
    const none = running.find((s) => s.key === `mp-0m-1w${suffix}`);
    if (four === undefined || none === undefined) continue;
    const added = median(four.samples) - median(none.samples);
    const p99Ratio = percentile(four.samples, 99) / percentile(none.samples, 99);
    goals.push([`metricproxy${suffix ? ` [${suffix.slice(1)}]` : ''}`, fixed(added, 1), fixed(pairedAdded(running, `mp-4m-1w${suffix}`, `mp-0m-1w${suffix}`), 1), `${fixed(p99Ratio, 2)}×`]);
  }
  md += '\n4 metrics against 0 metrics (goal: ≤ 15 µs added at the median, p99 ≤ 1.3× without metrics):\n\n';
  md += markdownTable([['build', 'l'], ['median added µs (all samples)', 'r'], ['median added µs (paired by round)', 'r'], ['p99 4m / p99 0m', 'r']], goals);
  return md;
}

await main();
