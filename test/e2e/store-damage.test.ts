import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts, makePrefix, request, runCli, startProxy } from '../helpers/proc';
import { childPids, isAlive, waitFor } from '../helpers/sys';

/**
 * A store that cannot be opened stops start-up with one line saying which
 * file and what to do, instead of workers dying (SIGBUS) and being
 * restarted for ever; and a master whose workers keep dying right after
 * start gives up with a clear error.
 */

const conf = (port: number) => `
worker_processes 2;
http {
  metric_zone z:1m count;
  server {
    listen 127.0.0.1:${port};
    location /w { metric z $arg_k; return 204; }
  }
}`;

const prefixes: string[] = [];
afterAll(() => {
  for (const p of prefixes) fs.rmSync(p, { recursive: true, force: true });
});

/** Starts the CLI on `prefix` and waits for it to exit (it must, on its own). */
async function startExpectingExit(prefix: string): Promise<{ code: number | null; emerg: string[]; stderr: string }> {
  const result = await runCli(['-p', prefix, '-c', path.join(prefix, 'conf/test.conf')], 30_000);
  const emerg = result.stderr.split('\n').filter((l) => l.includes('[emerg]'));
  return { ...result, emerg };
}

describe('a damaged store', () => {
  it('truncated data.mdb: one [emerg] line naming the file and what to do, exit 1, no worker restarts', async () => {
    const [port] = await freePorts(1);
    const proxy = await startProxy(conf(port), [port]);
    prefixes.push(proxy.prefix);
    for (let i = 0; i < 200; i++) expect((await request(proxy.url(port, `/w?k=key-${i}`))).status).toBe(204);
    await proxy.stop();
    const file = path.join(proxy.prefix, 'data/data.mdb');
    expect(fs.statSync(file).size).toBeGreaterThan(8192);
    fs.truncateSync(file, 8192);

    const { code, emerg, stderr } = await startExpectingExit(proxy.prefix);
    expect(code).toBe(1);
    expect(emerg).toHaveLength(1);
    expect(emerg[0]).toContain(`"${file}" is truncated`);
    expect(emerg[0]).toContain(`move ${path.join(proxy.prefix, 'data')} aside`);
    expect(stderr).not.toContain('exited on signal');
  });

  it('a store of metricproxy 0.1 (node-lmdb, LMDB data format 1): one line saying what to do, exit 1', async () => {
    const [port] = await freePorts(1);
    const { prefix } = makePrefix(conf(port));
    prefixes.push(prefix);
    fs.mkdirSync(path.join(prefix, 'data'));
    fs.copyFileSync(path.join(__dirname, '../fixtures/store-0.1.0/data/data.mdb'), path.join(prefix, 'data/data.mdb'));

    const { code, emerg, stderr } = await startExpectingExit(prefix);
    expect(code).toBe(1);
    expect(emerg).toHaveLength(1);
    expect(emerg[0]).toContain('has LMDB data format 1 (written by metricproxy 0.1 on node-lmdb)');
    expect(emerg[0]).toContain(`move ${path.join(prefix, 'data')} aside`);
    expect(stderr).not.toContain('Segmentation');
  });
});

describe('workers dying right after start', () => {
  it('the master stops with one [emerg] line after 5 early deaths in a row instead of restarting for ever', async () => {
    const [port] = await freePorts(1);
    const proxy = await startProxy(conf(port), [], { waitPid: false });
    prefixes.push(proxy.prefix);
    const master = proxy.child.pid!;
    // Every worker dies as soon as it shows up, as a worker crashing at start would.
    const killed = new Set<number>();
    await waitFor(() => {
      if (proxy.child.exitCode !== null) return true;
      for (const pid of childPids(master)) {
        if (killed.has(pid)) continue;
        killed.add(pid);
        process.kill(pid, 'SIGKILL');
      }
      return undefined;
    }, 60_000, 'the master to give up');
    expect(proxy.child.exitCode).toBe(1);
    expect(killed.size).toBeGreaterThanOrEqual(5);
    const emerg = proxy.stderr().split('\n').filter((l) => l.includes('[emerg]'));
    expect(emerg).toHaveLength(1);
    expect(emerg[0]).toContain('worker processes died 5 times in a row right after start (last exited on signal SIGKILL); stopping');
    expect(isAlive(master)).toBe(false);
  });
});
