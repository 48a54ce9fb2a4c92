import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sinkBackend, streamingBackend } from '../helpers/backends';
import { getJson, pidAt, Proxy, request, startOnFreePort } from '../helpers/proc';
import { fdCount, waitFor } from '../helpers/sys';

/**
 * Clients that go away mid-upload and mid-download through proxy_pass: the
 * upstream request is cut too, the on=end metric still counts every one of
 * them (nginx logs them as well), nothing leaks, and the proxy keeps serving.
 *
 * "Nothing leaks" allows a few seconds: undici answers an aborted in-flight
 * response by opening one spare upstream connection it never uses, reaped
 * by its keep-alive timeout (~4 s) — nodejs/undici#5845.
 */

const ABORTS = 20;

let proxy: Proxy;
let port: number;
let workerPid: number;
let sink: Awaited<ReturnType<typeof sinkBackend>>;
let stream: Awaited<ReturnType<typeof streamingBackend>>;
const url = (p: string) => `http://127.0.0.1:${port}${p}`;

beforeAll(async () => {
  sink = await sinkBackend();
  stream = await streamingBackend();
  ({ proxy, port } = await startOnFreePort(
    (port) => `
http {
  metric_zone ends:1m count;
  server {
    listen 127.0.0.1:${port};
    location = /pid { return 200 $pid; }
    location /upload { proxy_pass http://127.0.0.1:${sink.port}; client_max_body_size 0; metric ends $uri:$status:$request_completion; }
    location /download { proxy_pass http://127.0.0.1:${stream.port}; metric ends $uri:$status:$request_completion; }
    location /api/ { api /status/http/metric_zones/ends/metrics/; }
  }
}`,
  ));
  workerPid = await pidAt(url('/pid'));
});

afterAll(async () => {
  await proxy?.stop();
  await sink?.close();
  await stream?.close();
});

/** How many on=end updates went to `key` so far. */
async function ends(key: string): Promise<number> {
  const all = (await getJson(url('/api/'))) as Record<string, number>;
  return all[key] ?? 0;
}

/** Starts a 10 MB upload, sends 1 MB of it, waits until the upload reached the upstream, and goes away. */
function abortedUpload(id: number): Promise<void> {
  const path = `/upload?id=${id}`;
  return new Promise((resolve) => {
    const req = http.request(url(path), { method: 'POST', agent: false, headers: { 'content-length': 10 * 1024 * 1024 } });
    req.on('error', () => undefined);
    req.on('close', () => resolve());
    req.write(Buffer.alloc(1024 * 1024, 97));
    void waitFor(() => (sink.started.has(path) ? true : undefined), 10_000, `${path} upstream`).then(() => req.destroy());
  });
}

/** Starts an endless download, reads 512 KiB of it, and goes away. */
function abortedDownload(): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(url('/download'), { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes >= 512 * 1024) req.destroy();
      });
    });
    req.on('error', () => undefined);
    req.on('close', () => resolve());
  });
}

describe('clients that go away mid-transfer', () => {
  it(`${ABORTS} aborted uploads: cut upstream, counted at on=end as 499, nothing leaked`, async () => {
    const fdsBefore = fdCount(workerPid);
    const cutBefore = sink.endings.cut;
    await Promise.all(Array.from({ length: ABORTS }, (_x, i) => abortedUpload(i)));
    await waitFor(async () => ((await ends('/upload:499:')) === ABORTS ? true : undefined), 10_000, 'on=end counted every aborted upload');
    await waitFor(() => (sink.endings.cut - cutBefore === ABORTS ? true : undefined), 10_000, 'the upstream saw every upload cut');
    await waitFor(() => (fdCount(workerPid) <= fdsBefore ? true : undefined), 10_000, 'worker fds back');
  });

  it(`${ABORTS} aborted downloads: cut upstream, counted at on=end as incomplete 200s, nothing leaked`, async () => {
    const fdsBefore = fdCount(workerPid);
    const cutBefore = stream.endings.cut;
    await Promise.all(Array.from({ length: ABORTS }, abortedDownload));
    await waitFor(async () => ((await ends('/download:200:')) === ABORTS ? true : undefined), 10_000, 'on=end counted every aborted download');
    await waitFor(() => (stream.endings.cut - cutBefore === ABORTS ? true : undefined), 10_000, 'the upstream saw every download cut');
    await waitFor(() => (fdCount(workerPid) <= fdsBefore ? true : undefined), 10_000, 'worker fds back');
  });

  it('the proxy keeps serving: whole uploads and downloads complete and count as OK', async () => {
    const up = await request(url('/upload'), { method: 'POST', body: Buffer.alloc(1024 * 1024, 98) });
    expect(up.body).toBe(String(1024 * 1024));
    const down = await request(url('/download?bytes=1000000'));
    expect(down.body.length).toBe(1_000_000);
    expect(await ends('/upload:200:OK')).toBe(1);
    expect(await ends('/download:200:OK')).toBe(1);
    expect(await ends('/upload:499:')).toBe(ABORTS);
    expect(await ends('/download:200:')).toBe(ABORTS);
  });
});
