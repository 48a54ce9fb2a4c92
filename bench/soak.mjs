#!/usr/bin/env node
// Soak: metricproxy with 2 workers under mixed load for a bounded time (default 120 s:
// `node bench/soak.mjs [SECONDS]`), with a reload (-s reload, a real config change) every
// RELOAD_EVERY_S seconds and one worker killed (SIGKILL) half-way. Then it checks:
//   - every request a client saw answered was counted by the on=end count zone, and the only
//     extra counts are requests the kill cut (answered by the proxy, lost on the way back);
//   - no request failed except those the kill necessarily cut;
//   - the RSS of the whole process tree grew less than 10% from the end of the warm-up to the end.
// Results go to bench/results/soak.md; the exit status says whether every check held.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { CLI, ROOT, freePort, markdownTable, processTree, startMetricproxy } from './lib.mjs';

const SECONDS = Number(process.argv[2] ?? 120);
const CLIENTS = 16;
// Knobs to isolate a finding: SOAK_RELOAD_EVERY_S (0 = no reloads), SOAK_KILL=0 (no worker killed).
const RELOAD_EVERY_S = Number(process.env.SOAK_RELOAD_EVERY_S ?? 20);
const KILL = process.env.SOAK_KILL !== '0';
const WARMUP_S = Math.min(10, SECONDS / 6);
const RSS_LIMIT = 0.1;
const KINDS = ['return', 'proxy', 'upload', 'api', 'prometheus', 'missing'];
const UPLOAD = Buffer.alloc(64 * 1024, 97);
const RESULTS = path.join(ROOT, 'bench/results/soak.md');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function config(port, backendPort, generation) {
  return `worker_processes 2;
events { worker_connections 4096; }
http {
  access_log off;
  metric_zone reqs:1m count;
  metric_zone kinds:1m count;
  prometheus_template t { 'reqs{client="$1"}' $p8s_value path=~^/http/metric_zones/reqs/metrics/(.+)$ type=counter; }
  server {
    listen 127.0.0.1:${port};
    add_header X-Generation ${generation};
    metric reqs $arg_c;
    metric kinds $arg_k:$status;
    location /return { return 200 "ok"; }
    location /proxy { proxy_pass http://127.0.0.1:${backendPort}; client_max_body_size 1m; }
    location /upload { proxy_pass http://127.0.0.1:${backendPort}; client_max_body_size 1m; }
    location /api/ { api /status/http/metric_zones/; }
    location = /prometheus { prometheus t; }
  }
}
`;
}

/** The upstream: reads the body, answers with its size. */
function startBackend() {
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c) => (bytes += c.length));
    req.on('end', () => res.end(String(bytes)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// --- the load -------------------------------------------------------------------------------------

/** Responses a socket has carried: a socket that carried one is a reused keep-alive connection. */
const kAnswered = Symbol('answered');
const MAX_TRIES = 4;
/**
 * A request unanswered this long is abandoned. Node's cluster master loses a connection it was
 * handing to a worker that dies before acknowledging it (the handoff's reply never comes, the
 * connection is neither redistributed nor closed): its client would wait for ever.
 */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * One request. A keep-alive connection the server closes as the request goes out (a reload
 * drains idle connections, as nginx does) fails before any response: the request is sent
 * again, as RFC 9112 §9.3.1 lets a client do — while the failure is on a reused connection.
 * (Node's `req.reusedSocket` misses sockets handed to queued requests, hence the own count.)
 */
function send(port, agent, client, kind, tries = 1) {
  const upload = kind === 'upload';
  const opts = { host: '127.0.0.1', port, agent, method: upload ? 'POST' : 'GET', path: `/${kind === 'api' ? 'api/' : kind}?c=client${client}&k=${kind}` };
  const retried = tries > 1;
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.request({ ...opts, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const socket = res.socket; // detached again by the time the response ends
      res.resume();
      res.on('end', () => {
        socket[kAnswered] = (socket[kAnswered] ?? 0) + 1;
        resolve({ status: res.statusCode, retried, started });
      });
      res.on('error', () => resolve({ error: 'response cut', retried, started }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err) => {
      const reused = (req.socket?.[kAnswered] ?? 0) > 0;
      if (reused && err.code === 'ECONNRESET' && tries < MAX_TRIES) resolve(send(port, agent, client, kind, tries + 1));
      else resolve({ error: `${err.code ?? err.message} (${reused ? 'reused' : 'new'} connection, try ${tries})`, retried, started });
    });
    req.end(upload ? UPLOAD : undefined);
  });
}

const EXPECTED_STATUS = { return: 200, proxy: 200, upload: 200, api: 200, prometheus: 200, missing: 404 };

class Load {
  constructor(port) {
    this.port = port;
    this.running = true;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    this.tally = Array.from({ length: CLIENTS }, () => ({ answered: 0, cut: 0, failed: 0 }));
    this.retries = 0;
    this.byKind = Object.fromEntries(KINDS.map((k) => [k, 0]));
    this.failures = [];
    /** Errors in this window are the kill's (set around it). */
    this.killWindow = null;
    this.done = Promise.all(this.tally.map((_t, c) => this.client(c)));
  }

  async client(c) {
    for (let i = c; this.running; i++) {
      const kind = KINDS[i % KINDS.length];
      const r = await send(this.port, this.agent, c, kind);
      this.record(c, kind, r);
    }
  }

  /** Whether a request alive from `started` until now overlapped the kill. */
  inKillWindow(started = Date.now()) {
    const w = this.killWindow;
    return w !== null && started <= w.to && Date.now() >= w.from;
  }

  record(c, kind, r) {
    const t = this.tally[c];
    // A retried request's first try died with its connection: the kill's doing inside its window
    // (that try may have been counted), an idle keep-alive connection closed by a reload otherwise.
    if (r.retried && this.inKillWindow(r.started)) t.cut++;
    else if (r.retried) this.retries++;
    if (r.status !== undefined) {
      t.answered++;
      this.byKind[kind]++;
      if (r.status !== EXPECTED_STATUS[kind]) this.fail(c, `${kind} answered ${r.status}`);
      return;
    }
    if (this.inKillWindow(r.started)) t.cut++;
    else this.fail(c, `${kind}: ${r.error}`);
  }

  fail(c, what) {
    this.tally[c].failed++;
    if (this.failures.length < 20) this.failures.push(`${new Date().toISOString()} client${c} ${what}`);
  }

  async stop() {
    this.running = false;
    await this.done;
    this.agent.destroy();
  }

  answered() {
    return this.tally.reduce((a, t) => a + t.answered, 0);
  }
}

// --- the proxy's processes ------------------------------------------------------------------------

function rssMiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return 0;
  }
}

const treeRss = (pid) => processTree(pid).reduce((sum, p) => sum + rssMiB(p), 0);
const workers = (master) => processTree(master).filter((p) => p !== master);

function reload(mp, port, backendPort, generation) {
  fs.writeFileSync(path.join(mp.prefix, 'conf/bench.conf'), config(port, backendPort, generation));
  execFileSync(process.execPath, [CLI, '-p', mp.prefix, '-c', path.join(mp.prefix, 'conf/bench.conf'), '-s', 'reload'], { timeout: 20_000 });
}

/** Waits until the master has exactly `n` workers again, none of them in `gone`. */
async function settled(master, n, gone = [], maxMs = 20_000) {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    const now = workers(master);
    if (now.length === n && now.every((p) => !gone.includes(p))) return now;
    await sleep(100);
  }
  throw new Error(`workers did not settle: ${workers(master).join(' ')}`);
}

async function getJson(url) {
  const body = await new Promise((resolve, reject) =>
    http.get(url, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    }).on('error', reject),
  );
  return JSON.parse(body);
}

// --- the run --------------------------------------------------------------------------------------

async function run() {
  const backend = await startBackend();
  const port = await freePort();
  const generation = 1;
  const mp = await startMetricproxy(config(port, backend.address().port, generation), port);
  try {
    return await soak(mp, port, backend, generation);
  } finally {
    // Whatever happened, leave no proxy running.
    await mp.stop();
    backend.close();
  }
}

async function soak(mp, port, backend, firstGeneration) {
  let generation = firstGeneration;
  const backendPort = backend.address().port;
  const events = [];
  const log = (what) => events.push(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  const started = Date.now();
  const load = new Load(port);
  const killAt = started + (SECONDS / 2) * 1000;
  let killed = false;
  let nextReload = started + RELOAD_EVERY_S * 1000;
  let rssStart = 0;
  let reloads = 0;
  const timeline = [];

  for (let second = 1; Date.now() < started + SECONDS * 1000; second++) {
    const answeredBefore = load.answered();
    await sleep(started + second * 1000 - Date.now());
    timeline.push(load.answered() - answeredBefore);
    if (!rssStart && Date.now() >= started + WARMUP_S * 1000) rssStart = treeRss(mp.pid);
    if (KILL && !killed && Date.now() >= killAt) {
      killed = true;
      const [victim] = workers(mp.pid);
      load.killWindow = { from: Date.now(), to: Infinity };
      process.kill(victim, 'SIGKILL');
      log(`SIGKILL worker ${victim}`);
      await settled(mp.pid, 2, [victim]);
      // Requests already in flight on the dead worker's connections fail within moments of the kill.
      load.killWindow.to = Date.now() + 1000;
      log('worker replaced');
    } else if (RELOAD_EVERY_S > 0 && Date.now() >= nextReload && Date.now() < started + (SECONDS - 5) * 1000) {
      const before = workers(mp.pid);
      reload(mp, port, backendPort, ++generation);
      await settled(mp.pid, 2, before);
      reloads++;
      nextReload = Date.now() + RELOAD_EVERY_S * 1000;
      log(`reload → generation ${generation}`);
    }
  }
  await load.stop();
  await sleep(500);
  const rssEnd = treeRss(mp.pid);
  const zone = await getJson(`http://127.0.0.1:${port}/api/reqs/metrics/`);
  const errorLog = readErrorLog(mp.prefix);
  return { load, zone, rssStart, rssEnd, reloads, events, timeline, errorLog, elapsed: (Date.now() - started) / 1000 };
}

/** The proxy's error log (its prefix is removed on stop), less the notices of reloads and the kill. */
function readErrorLog(prefix) {
  const file = path.join(prefix, 'logs/error.log');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '' && !/\[notice\]|exited on signal SIGKILL/.test(l));
}

// --- checks and report ----------------------------------------------------------------------------

function check(r) {
  const perClient = r.load.tally.map((t, c) => {
    const counted = r.zone[`client${c}`] ?? 0;
    // The API reads above were answered after their own count; the check is on what clients saw.
    const extra = counted - t.answered;
    return { client: c, ...t, counted, extra, ok: extra >= 0 && extra <= t.cut };
  });
  const failed = perClient.reduce((a, p) => a + p.failed, 0);
  const growth = (r.rssEnd - r.rssStart) / r.rssStart;
  return {
    perClient,
    counts: perClient.every((p) => p.ok),
    noFailures: failed === 0,
    rss: growth < RSS_LIMIT,
    growth,
    failed,
  };
}

function report(r, c) {
  const total = (key) => c.perClient.reduce((a, p) => a + p[key], 0);
  const verdict = (ok) => (ok ? 'pass' : '**FAIL**');
  const lines = [
    '# Soak',
    '',
    `\`node bench/soak.mjs ${SECONDS}\` on ${new Date().toISOString().slice(0, 10)}, ${CLIENTS} clients, 2 workers, ` +
      `mixed load (${KINDS.join(', ')}; uploads 64 KiB), a reload every ${RELOAD_EVERY_S} s, one worker SIGKILLed at ${SECONDS / 2} s.`,
    '',
    markdownTable(
      [['check', 'l'], ['result', 'l'], ['detail', 'l']],
      [
        ['counts = answered (+ kill-cut at most)', verdict(c.counts), `${total('answered')} answered, ${total('counted')} counted, ${total('cut')} cut by the kill`],
        ['no failed requests besides the kill', verdict(c.noFailures), `${c.failed} failed, ${r.load.retries} stale keep-alive retries`],
        [`RSS growth < ${RSS_LIMIT * 100}%`, verdict(c.rss), `${r.rssStart.toFixed(1)} → ${r.rssEnd.toFixed(1)} MiB (${(c.growth * 100).toFixed(1)}%), master + workers`],
      ],
    ),
    `${Math.round(total('answered') / r.elapsed)} requests/s over ${r.elapsed.toFixed(0)} s; by kind: ` +
      Object.entries(r.load.byKind).map(([k, n]) => `${k} ${n}`).join(', ') + `; ${r.reloads} reloads.`,
    '',
    '## Per client',
    '',
    markdownTable(
      [['client', 'l'], ['answered', 'r'], ['counted', 'r'], ['cut by kill', 'r'], ['failed', 'r']],
      c.perClient.map((p) => [`client${p.client}`, p.answered, p.counted, p.cut, p.failed]),
    ),
    '## Events',
    '',
    ...r.events.map((e) => `- ${e}`),
    '',
    '## Requests answered per second',
    '',
    r.timeline.join(' '),
    '',
  ];
  if (r.load.failures.length > 0) lines.push('## First failures', '', ...r.load.failures.map((f) => `- ${f}`), '');
  if (r.errorLog.length > 0) lines.push('## Error log', '', ...r.errorLog.slice(0, 20).map((l) => `    ${l}`), '');
  return lines.join('\n');
}

const result = await run();
const checks = check(result);
const text = report(result, checks);
fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
fs.writeFileSync(RESULTS, text);
console.log(text);
process.exit(checks.counts && checks.noFailures && checks.rss ? 0 : 1);
