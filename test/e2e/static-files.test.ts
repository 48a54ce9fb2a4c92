import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePorts, makePrefix, Proxy, startProxy } from '../helpers/proc';
import { childPids, memoryMiB } from '../helpers/sys';

let proxy: Proxy | undefined;
afterAll(async () => proxy?.stop());

/** Reads a response to its end counting bytes only, so the test holds no body in memory either. */
function download(url: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

it('a file far larger than the memory it may use streams with flat worker memory', async () => {
  const [port] = await freePorts(1);
  const { prefix } = makePrefix('');
  const www = path.join(prefix, 'www');
  fs.mkdirSync(www);
  const size = 256 * 1024 * 1024;
  // Sparse: 256 MiB to read, no disk used.
  fs.writeFileSync(path.join(www, 'big.bin'), '');
  fs.truncateSync(path.join(www, 'big.bin'), size);
  proxy = await startProxy(`worker_processes 1;\nhttp { access_log off; server { listen 127.0.0.1:${port}; root ${www}; } }\n`, [port], { prefix });
  const [worker] = childPids(proxy.child.pid!);
  const before = memoryMiB(worker, 'VmRSS');
  const got = await download(`http://127.0.0.1:${port}/big.bin`);
  expect(got).toEqual({ status: 200, bytes: size });
  // The whole file went through; the worker's peak grew by a small fraction of it.
  expect(memoryMiB(worker, 'VmHWM') - before).toBeLessThan(64);
  // Moving 256 MiB on a loaded 2-core machine may take a while; the memory bound is the point.
}, 120_000);
