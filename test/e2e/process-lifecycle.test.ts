import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { destroyedMutexMarks } from '../helpers/lmdb-lock';
import { freePorts, getJson, Proxy, request, runCli, startProxy } from '../helpers/proc';

let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.stop('SIGTERM');
  proxy = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const conf = (port: number, text: string, extra = '') => `
worker_processes 2;
${extra}
http {
  access_log logs/access.log;
  server {
    listen 127.0.0.1:${port};
    location / { return 200 "${text} $pid\\n"; }
  }
}`;

/** Distinct worker pids seen over fresh connections. */
async function workerPids(port: number, n = 20): Promise<Set<string>> {
  const pids = new Set<string>();
  for (let i = 0; i < n; i++) pids.add((await request(`http://127.0.0.1:${port}/`)).body.trim().split(' ')[1]);
  return pids;
}

describe('master and workers', () => {
  it('writes the pid file, runs N workers, and -s quit stops everything and removes the pid file', async () => {
    const [port] = await freePorts(1);
    proxy = await startProxy(conf(port, 'v1'), [port]);
    const pidFile = path.join(proxy.prefix, 'logs/metricproxy.pid');
    expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBe(proxy.child.pid);
    const pids = await workerPids(port, 40);
    expect(pids.size).toBe(2);
    expect(pids.has(String(proxy.child.pid))).toBe(false);
    const r = await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'quit']);
    expect(r.code).toBe(0);
    await until('exit', async () => (proxy!.child.exitCode !== null ? true : undefined));
    expect(fs.existsSync(pidFile)).toBe(false);
    // The workers left the store to their exit instead of closing it (leaveEnvironment): the last
    // close would have destroyed the lock file's mutexes under a worker opening it that moment.
    expect(destroyedMutexMarks(path.join(proxy.prefix, 'data'))).toBe(0);
  });

  it('-s reload serves the new config; an invalid one is logged and the old one keeps serving', async () => {
    const [port] = await freePorts(1);
    proxy = await startProxy(conf(port, 'v1'), [port]);
    fs.writeFileSync(proxy.conf, conf(port, 'v2'));
    expect((await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'reload'])).code).toBe(0);
    // Old workers finish and leave shortly after the new ones are ready: wait until only v2 answers.
    await until('only v2', async () => {
      const bodies = await Promise.all(Array.from({ length: 10 }, () => request(`http://127.0.0.1:${port}/`)));
      return bodies.every((b) => b.body.startsWith('v2')) ? true : undefined;
    });
    fs.writeFileSync(proxy.conf, conf(port, 'v3').replace('location', 'locaton'));
    proxy.child.kill('SIGHUP');
    const errorLog = path.join(proxy.prefix, 'logs/error.log');
    await until('emerg in error log', async () => (fs.readFileSync(errorLog, 'utf8').includes('unknown directive "locaton"') ? true : undefined));
    expect((await request(`http://127.0.0.1:${port}/`)).body.startsWith('v2')).toBe(true);
  });

  it('a worker that dies is restarted and the event is logged', async () => {
    const [port] = await freePorts(1);
    proxy = await startProxy(conf(port, 'v1'), [port]);
    const before = await workerPids(port, 40);
    const victim = Number([...before][0]);
    process.kill(victim, 'SIGKILL');
    const errorLog = path.join(proxy.prefix, 'logs/error.log');
    await until('alert', async () => (fs.readFileSync(errorLog, 'utf8').includes(`worker process ${victim} exited on signal SIGKILL`) ? true : undefined));
    const after = await until('two workers again', async () => {
      const pids = await workerPids(port, 40);
      return pids.size === 2 && !pids.has(String(victim)) ? pids : undefined;
    });
    expect(after.size).toBe(2);
  });

  it('-s reopen reopens the access log (log rotation)', async () => {
    const [port] = await freePorts(1);
    proxy = await startProxy(conf(port, 'v1'), [port]);
    await request(`http://127.0.0.1:${port}/first`);
    const log = path.join(proxy.prefix, 'logs/access.log');
    await until('first line', async () => (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('/first') ? true : undefined));
    fs.renameSync(log, `${log}.1`);
    expect((await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'reopen'])).code).toBe(0);
    await until('reopened', async () => {
      await request(`http://127.0.0.1:${port}/second`);
      return fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('/second') ? true : undefined;
    });
    expect(fs.readFileSync(`${log}.1`, 'utf8')).toContain('/first');
  });

  it('-s without a running master fails with nginx-like text', async () => {
    const [port] = await freePorts(1);
    proxy = await startProxy(conf(port, 'v1'), [port]);
    await proxy.stop('SIGTERM');
    const r = await runCli(['-p', proxy.prefix, '-c', proxy.conf, '-s', 'reload']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('metricproxy.pid" failed');
    proxy = undefined;
  });
});

export { getJson };
