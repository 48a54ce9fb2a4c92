import { afterAll, beforeAll, expect } from 'vitest';
import { recordingBackend } from './backends';
import { freePorts, Proxy, request, startProxy } from './proc';
import { rawExchange } from './raw';

/** A proxy on one free port in front of a recording backend, for the security e2e files. */
export interface Fronted {
  proxy: Proxy;
  port: number;
  backend: Awaited<ReturnType<typeof recordingBackend>>;
}

/**
 * Starts, before the file's tests, a recording backend and a proxy whose
 * `http` block is `httpBlock(port, backendPort)`; stops both after them.
 * The returned object is filled in by beforeAll.
 */
export function frontedForFile(httpBlock: (port: number, backendPort: number) => string): Fronted {
  const f = {} as Fronted;
  beforeAll(async () => {
    f.backend = await recordingBackend();
    [f.port] = await freePorts(1);
    f.proxy = await startProxy(`\nhttp {\n${httpBlock(f.port, f.backend.port)}\n}`, [f.port]);
  });
  afterAll(async () => {
    await f.proxy?.stop();
    await f.backend?.close();
  });
  return f;
}

/**
 * Sends raw bytes and checks: one answer with `status`, the connection
 * closed, nothing forwarded, and the proxy still serving (a /alive request
 * is the only one the backend sees).
 */
export async function expectRefused(f: Fronted, bytes: string, status: number): Promise<string> {
  const before = f.backend.seen.length;
  const reply = await rawExchange(f.port, bytes);
  expect(reply.statuses).toEqual([status]);
  expect(reply.closed).toBe(true);
  expect((await request(`http://127.0.0.1:${f.port}/alive`)).body).toBe('ok /alive');
  expect(f.backend.seen.slice(before).map((s) => s.url)).toEqual(['/alive']);
  return reply.text;
}
