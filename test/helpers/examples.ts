import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePorts, getJson, Proxy, request, ROOT, startProxy } from './proc';

export interface Example {
  proxy: Proxy;
  port: number;
  get(p: string, headers?: Record<string, string>): Promise<{ status: number; body: string }>;
  json(p: string): Promise<unknown>;
  stop(): Promise<void>;
}

/** Reads conf/examples/NAME.conf, moves its `127.0.0.1:8080` to a free port, and starts it. */
export async function startExample(name: string, replacements: Record<string, string> = {}): Promise<Example> {
  const [port] = await freePorts(1);
  let text = fs.readFileSync(path.join(ROOT, 'conf/examples', `${name}.conf`), 'utf8').replace(/127\.0\.0\.1:8080/g, `127.0.0.1:${port}`);
  for (const [from, to] of Object.entries(replacements)) text = text.split(from).join(to);
  const proxy = await startProxy(text, [port]);
  return {
    proxy,
    port,
    get: (p, headers) => request(proxy.url(port, p), { headers }),
    json: (p) => getJson(proxy.url(port, p)),
    stop: () => proxy.stop(),
  };
}

/** Deep equality with a float tolerance of 1e-6, as Angie's own suite compares. */
export function approx(actual: unknown, expected: unknown, where = '$'): void {
  if (typeof expected === 'number') {
    if (typeof actual !== 'number' || Math.abs(actual - expected) > 1e-6) throw new Error(`${where}: ${JSON.stringify(actual)} ≠ ${expected}`);
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') throw new Error(`${where}: ${JSON.stringify(actual)} is not an object`);
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const ak = Object.keys(a).sort();
    const ek = Object.keys(e).sort();
    if (JSON.stringify(ak) !== JSON.stringify(ek)) throw new Error(`${where}: keys ${JSON.stringify(ak)} ≠ ${JSON.stringify(ek)}`);
    for (const k of ek) approx(a[k], e[k], `${where}.${k}`);
    return;
  }
  if (actual !== expected) throw new Error(`${where}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`);
}
