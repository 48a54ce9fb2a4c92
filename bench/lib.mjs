// Shared bench helpers: start real programs (pid-tracked), run wrk (bounded in time), read CPU time
// from /proc, summarise and print results.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The build under test: dist/ unless MP_DIST names another (bench/build-copy.mjs makes them). */
export const DIST = path.resolve(ROOT, process.env.MP_DIST ?? 'dist');
export const CLI = path.join(DIST, 'cli.js');
export const BENCH = path.join(ROOT, 'bench');

function hasCommand(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch (e) {
    return e.code !== 'ENOENT';
  }
}

/** Installs a Debian package when its command is missing (this machine runs as root). */
function ensureDebian(cmd, versionArgs, pkg) {
  if (hasCommand(cmd, versionArgs)) return;
  console.error(`${cmd} not found: installing it from Debian (apt-get install ${pkg})`);
  const script = `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg}`;
  execFileSync('sh', ['-c', script], { stdio: 'inherit' });
}

export function ensureWrk() {
  ensureDebian('wrk', ['--version'], 'wrk');
}

export function ensureNginx() {
  ensureDebian('nginx', ['-v'], 'nginx-light');
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

async function portAnswers(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function waitPort(port, child, deadlineMs = 15000) {
  const end = Date.now() + deadlineMs;
  while (!(await portAnswers(port))) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`${child.spawnfile} did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function tempDir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mp-bench-${tag}-`));
}

/** Waits for the child to exit; SIGKILL (by its pid) if it has not within `graceMs`. */
async function stopChild(child, signal = 'SIGTERM', graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Programs started and not yet stopped: stopped (by pid) if the bench itself is interrupted. */
const running = new Set();

async function stopAllAndExit(signal) {
  await Promise.all([...running].map((stop) => stop()));
  process.exit(signal === 'SIGINT' ? 130 : 143);
}
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void stopAllAndExit(signal));

/**
 * Starts a program that listens on `port`; returns { pid, child, stop }.
 * `dir` (a temp dir) is removed on stop. `env` adds to this process's environment.
 */
export async function startProgram(cmd, args, { port, env = {}, dir, stopSignal = 'SIGTERM' }) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  try {
    await waitPort(port, child);
  } catch (e) {
    await stopChild(child, 'SIGKILL');
    throw e;
  }
  const stop = async () => {
    running.delete(stop);
    await stopChild(child, stopSignal);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };
  running.add(stop);
  return { child, pid: child.pid, stop };
}

/**
 * Starts metricproxy on an inline config in a temp prefix; returns { pid, child, prefix, stop }.
 * `nodeArgs` go to the master's node, and cluster passes them on to the workers (--cpu-prof);
 * `dist` is the build to run (default DIST).
 */
export async function startMetricproxy(configText, port, { env, nodeArgs = [], dist = DIST } = {}) {
  const prefix = tempDir('mp');
  fs.mkdirSync(path.join(prefix, 'conf'));
  const conf = path.join(prefix, 'conf/bench.conf');
  fs.writeFileSync(conf, configText);
  const args = [...nodeArgs, path.join(dist, 'cli.js'), '-p', prefix, '-c', conf];
  const proc = await startProgram(process.execPath, args, { port, env, dir: prefix });
  return { ...proc, prefix };
}

/** Starts Debian's nginx as our own foreground process (master pid tracked, workers are its children). */
export async function startNginx(httpBlock, port, workers = 1) {
  const prefix = tempDir('nginx');
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(conf, nginxConf(httpBlock, workers));
  const args = ['-p', prefix, '-e', 'stderr', '-c', conf, '-g', 'daemon off;'];
  // nginx stops fast on SIGTERM, gracefully on SIGQUIT.
  return startProgram('nginx', args, { port, dir: prefix, stopSignal: 'SIGQUIT' });
}

function nginxConf(httpBlock, workers) {
  return `worker_processes ${workers};
pid nginx.pid;
error_log stderr error;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path tmp_body; proxy_temp_path tmp_proxy;
  fastcgi_temp_path tmp_fcgi; uwsgi_temp_path tmp_uwsgi; scgi_temp_path tmp_scgi;
${httpBlock}
}
`;
}

// --- CPU accounting from /proc ----------------------------------------------------------------

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces). */
function statFields(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

// Offsets into statFields: state is field 3 of stat(5), so field N is at N - 3.
const PPID = 4 - 3;
const UTIME = 14 - 3;
const STIME = 15 - 3;
const CUTIME = 16 - 3;
const CSTIME = 17 - 3;

/** The pid and all its live descendants (metricproxy and nginx workers). */
export function processTree(rootPid) {
  const parentOf = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (f !== null) parentOf.set(Number(name), Number(f[PPID]));
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/** utime+stime in seconds of a pid and its live descendants, keyed by pid (exited ones drop out). */
export function cpuByPid(rootPid) {
  const byPid = new Map();
  for (const pid of processTree(rootPid)) {
    const f = statFields(pid);
    if (f !== null) byPid.set(pid, (Number(f[UTIME]) + Number(f[STIME])) / TICKS_PER_SECOND);
  }
  return byPid;
}

/** CPU seconds spent between two cpuByPid readings, by processes alive at both (or born in between). */
export function cpuSpent(before, after) {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
}

/** CPU seconds of this process's waited-for children (wrk runs are waited for: their time lands here). */
export function reapedChildrenCpu() {
  const f = statFields('self');
  return (Number(f[CUTIME]) + Number(f[CSTIME])) / TICKS_PER_SECOND;
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineBusyCpu() {
  const cpuLine = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, , , irq, softirq, steal] = cpuLine.split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

/**
 * Waits (up to `maxMs`) until processes other than ours use less than `cores` of CPU, so a run
 * does not start under someone else's load (a test suite on the same machine). Returns that load.
 */
export async function waitQuiet({ cores = 0.15, maxMs = 60000, sampleMs = 500 } = {}) {
  const end = Date.now() + maxMs;
  for (;;) {
    const before = machineBusyCpu();
    await new Promise((r) => setTimeout(r, sampleMs));
    const load = (machineBusyCpu() - before) / (sampleMs / 1000);
    if (load < cores || Date.now() > end) return load;
  }
}

// --- wrk --------------------------------------------------------------------------------------

function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const toMs = (v, unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? NaN);
  const pct = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0');
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1] ?? '';
  return { rps, requests, p50: pct(50), p99: pct(99), non2xx, socketErrors, raw: out };
}

/**
 * Runs wrk for a fixed time (it stops by itself; killed if it overruns by 30 s) and returns
 * req/s, request count, p50/p99 in ms, errors, and wrk's own CPU seconds.
 * `script` is an optional wrk Lua file (e.g. to spread requests over many URIs).
 */
export function runWrk(url, { seconds = 10, connections = 64, threads = 2, script, scriptArgs = [] } = {}) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency'];
  if (script) args.push('-s', script);
  args.push(url);
  if (script) args.push('--', ...scriptArgs.map(String));
  const cpuBefore = reapedChildrenCpu();
  const out = execFileSync('wrk', args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  return { ...parseWrk(out), wrkCpu: reapedChildrenCpu() - cpuBefore };
}

/**
 * One measured run: a warm-up wrk (not counted), then wrk with the CPU time of the
 * proxy's and the backend's process trees read from /proc before and after.
 */
export function measure(url, { proxyPid, backendPid, seconds, warmup = 1, ...wrkOpts }) {
  if (warmup > 0) runWrk(url, { ...wrkOpts, seconds: warmup });
  const proxyBefore = proxyPid ? cpuByPid(proxyPid) : new Map();
  const backendBefore = backendPid ? cpuByPid(backendPid) : new Map();
  const busyBefore = machineBusyCpu();
  const r = runWrk(url, { ...wrkOpts, seconds });
  const busy = machineBusyCpu() - busyBefore;
  const proxyCpu = proxyPid ? cpuSpent(proxyBefore, cpuByPid(proxyPid)) : 0;
  const backendCpu = backendPid ? cpuSpent(backendBefore, cpuByPid(backendPid)) : 0;
  // What the machine did besides wrk, the proxy and the backend (other people's processes, the kernel).
  const otherCpu = Math.max(0, busy - r.wrkCpu - proxyCpu - backendCpu);
  return { ...r, seconds, proxyCpu, backendCpu, otherCpu };
}

/** Cores the rest of the machine may use during a run before it is repeated. */
export const OTHER_LOAD_LIMIT = 0.2;

/**
 * measure() once the machine is quiet (waitQuiet), repeated (up to 3 tries in all) when the rest
 * of the machine used more than OTHER_LOAD_LIMIT cores during the run.
 */
export async function measureQuiet(url, opts) {
  for (let attempt = 1; ; attempt++) {
    await waitQuiet();
    const r = measure(url, opts);
    const other = r.otherCpu / r.seconds;
    if (other <= OTHER_LOAD_LIMIT || attempt === 3) return r;
    console.log(`  (rerun: the rest of the machine used ${other.toFixed(2)} cores during that run)`);
  }
}

// --- statistics and output --------------------------------------------------------------------

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Least-squares slope and intercept of y over x. */
export function linearFit(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** A markdown table: `columns` are [header, align ('l'|'r')], rows are arrays of cells. */
export function markdownTable(columns, rows) {
  const head = `| ${columns.map((c) => c[0]).join(' | ')} |`;
  const rule = `|${columns.map((c) => (c[1] === 'r' ? '---:' : '---')).join('|')}|`;
  return [head, rule, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n';
}

export const fixed = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

export function parseArgs(argv, defaults) {
  const opts = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (m === null) throw new Error(`unknown argument ${argv[i]}`);
    const key = m[1].replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${m[1]}`);
    const raw = m[2] ?? (typeof defaults[key] === 'boolean' ? 'true' : argv[++i]);
    opts[key] = typeof defaults[key] === 'number' ? Number(raw) : typeof defaults[key] === 'boolean' ? raw !== 'false' : raw;
  }
  return opts;
}

export function machineDescription() {
  const cpus = os.cpus();
  const nginx = hasCommand('nginx', ['-v']) ? execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' }).trim() : 'nginx: none';
  const wrk = /wrk \S+/.exec(execFileSync('sh', ['-c', 'wrk --version 2>&1 || true'], { encoding: 'utf8' }))?.[0] ?? 'wrk';
  return `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}, ${nginx.replace('nginx version: ', '')}, ${wrk}`;
}

export function writeResult(name, markdown) {
  const dir = path.join(BENCH, 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), markdown);
  console.log(`\nwritten to bench/results/${name}`);
}
