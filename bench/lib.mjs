// Shared bench helpers: start real programs, run wrk (bounded in time), parse its output.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'dist/cli.js');

export function ensureWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (e) {
    if (e.code !== 'ENOENT' && e.status !== 1) throw e;
    if (e.code === 'ENOENT') {
      console.error('wrk not found: installing it from Debian (apt-get install wrk)');
      execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk'], { stdio: 'inherit' });
    }
  }
}

export async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(port, child, deadlineMs = 15000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (child.exitCode !== null || Date.now() > end) throw new Error(`process did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts metricproxy on an inline config in a temp prefix; returns { pid, stop }. */
export async function startMetricproxy(configText, port) {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-bench-'));
  fs.mkdirSync(path.join(prefix, 'conf'));
  const conf = path.join(prefix, 'conf/bench.conf');
  fs.writeFileSync(conf, configText);
  const child = spawn(process.execPath, [CLI, '-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitPort(port, child);
  return {
    child,
    prefix,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/** Runs wrk for a fixed time (it stops by itself) and returns req/s and latencies in ms. */
export function runWrk(url, { seconds = 10, connections = 64, threads = 2 } = {}) {
  const out = execFileSync('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency', url], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const toMs = (v, unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? NaN);
  const pct = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1] ?? '';
  return { rps, p50: pct(50), p99: pct(99), non2xx: Number(errors), socketErrors, raw: out };
}

export function machineDescription() {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
}

export function writeResult(name, markdown) {
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), markdown);
  console.log(`\nwritten to bench/results/${name}`);
}
