// TLS handshakes/s and HTTP/2 requests/s, metricproxy against Debian's nginx on the same certificate
// (RSA 2048, TLS 1.3), one worker each, `return 200` behind `listen … ssl http2`. The load is a
// Node client in this process (no h2load on the machine): h2 GETs over a few sessions with bounded
// streams each, then full handshakes (no resumption) with bounded concurrency — in that order: a
// handshake burst first left this client process slower at h2 for a while. Bounded: each
// phase runs --seconds (default 3) after a 1 s warm-up against a freshly started server, on
// 127.0.0.1 only; 16 s of load, ~22 s in all.
//   npx tsc -p tsconfig.json && node bench/tls-h2.mjs [--seconds=3]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { ensureNginx, fixed, freePort, machineDescription, markdownTable, parseArgs, startMetricproxy, startNginx, tempDir, writeResult } from './lib.mjs';

const opts = parseArgs(process.argv.slice(2), { seconds: 3, handshakeConcurrency: 16, sessions: 4, streams: 16 });
const WARMUP_MS = 1000;

function makeCertificate(dir) {
  const cert = path.join(dir, 'bench.crt');
  const key = path.join(dir, 'bench.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=bench.test'], { stdio: 'ignore' });
  return { cert, key };
}

/** Runs `worker` loops `concurrency` wide for warm-up + seconds; counts completions after the warm-up. */
async function loop(concurrency, worker) {
  const start = Date.now();
  const measureFrom = start + WARMUP_MS;
  const end = measureFrom + opts.seconds * 1000;
  let done = 0;
  let failed = 0;
  const lane = async () => {
    while (Date.now() < end) {
      try {
        await worker();
        if (Date.now() >= measureFrom) done++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { perSecond: done / opts.seconds, failed };
}

function handshake(port) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', servername: 'bench.test', rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

/**
 * h2 sessions, each reopened once the server ends it (nginx sends GOAWAY after keepalive_requests,
 * 1000 by default): the load stays at sessions × streams.
 */
async function h2RequestsPerSecond(port) {
  const open = () => {
    const s = http2.connect(`https://127.0.0.1:${port}`, { servername: 'bench.test', rejectUnauthorized: false });
    s.on('error', () => undefined);
    return s;
  };
  const sessions = Array.from({ length: opts.sessions }, open);
  let next = 0;
  const session = () => {
    const i = next++ % sessions.length;
    if (sessions[i].closed || sessions[i].destroyed) sessions[i] = open();
    return sessions[i];
  };
  const get = () =>
    new Promise((resolve, reject) => {
      const stream = session().request({ ':path': '/', ':authority': 'bench.test' });
      stream.on('response', (h) => (h[':status'] === 200 ? undefined : reject(new Error(`status ${h[':status']}`))));
      stream.on('data', () => undefined);
      stream.on('end', resolve);
      stream.on('error', reject);
    });
  try {
    return await loop(opts.sessions * opts.streams, get);
  } finally {
    for (const s of sessions) s.close();
  }
}

/** One phase against a freshly started server: a handshake burst must not weigh on the request phase. */
async function onFreshServer(start, phase) {
  const port = await freePort();
  const server = await start(port);
  try {
    return await phase(port);
  } finally {
    await server.stop();
  }
}

async function measureServer(name, start) {
  const requests = await onFreshServer(start, h2RequestsPerSecond);
  const handshakes = await onFreshServer(start, (port) => loop(opts.handshakeConcurrency, () => handshake(port)));
  return { name, handshakes, requests };
}

async function main() {
  ensureNginx();
  const dir = tempDir('tls-h2');
  try {
    const cert = makeCertificate(dir);
    const server = (port) => `server {
    listen 127.0.0.1:${port} ssl http2;
    server_name bench.test;
    ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { return 200 ok; }
  }`;
    const rows = [
      await measureServer('metricproxy', (port) => startMetricproxy(`worker_processes 1;\nevents { }\nhttp {\n  ${server(port)}\n}\n`, port)),
      await measureServer('nginx', (port) => startNginx(server(port), port, 1)),
    ];
    const table = markdownTable(
      [['server'], ['TLS handshakes/s', 'r'], ['failed', 'r'], ['h2 requests/s', 'r'], ['failed', 'r']],
      rows.map((r) => [r.name, fixed(r.handshakes.perSecond, 0), String(r.handshakes.failed), fixed(r.requests.perSecond, 0), String(r.requests.failed)]),
    );
    console.log(table);
    writeResult(
      'tls-h2.md',
      `# TLS handshakes/s and HTTP/2 requests/s: metricproxy vs nginx\n\n` +
        `\`node bench/tls-h2.mjs --seconds=${opts.seconds}\` — ${new Date().toISOString()}\n\n` +
        `Machine: ${machineDescription()}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (a shared machine)\n\n` +
        `Both on one worker, \`listen 127.0.0.1:PORT ssl http2\`, the same RSA 2048 certificate, \`location / { return 200 ok; }\`.\n` +
        `Load: a Node client in the bench process (h2load is not on the machine): HTTP/2 GETs over ${opts.sessions} sessions × ${opts.streams}\n` +
        `streams in flight, then full TLS 1.3 handshakes (no session resumption, ALPN h2), ${opts.handshakeConcurrency} at a time.\n` +
        `Each phase ${opts.seconds} s after 1 s of warm-up, against a freshly started server. The client shares the 2 cores with\n` +
        `the server, and the machine is shared with other work (load average above): these are ratios between the two\n` +
        `servers under the same client, not the servers' ceilings; runs here varied by 2× and more. nginx's failed requests are\n` +
        `streams in flight when it ended a session after keepalive_requests (1000, GOAWAY); the client reopens the session.\n\n` +
        table,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
