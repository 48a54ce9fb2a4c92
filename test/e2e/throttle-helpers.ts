import * as fs from 'node:fs';
import type * as http from 'node:http';
import { request, startBackend, type Reply } from '../helpers/proc';

/**
 * An upstream whose latency the test sets per tenant (`X-Tenant`), or that
 * holds a tenant's requests until released.
 */
export async function tenantBackend() {
  const delayMs = new Map<string, number>();
  const holding = new Set<string>();
  let held: http.ServerResponse[] = [];
  const b = await startBackend((req, res) => {
    const tenant = String(req.headers['x-tenant'] ?? '');
    if (holding.has(tenant)) {
      held.push(res);
      res.on('close', () => (held = held.filter((h) => h !== res)));
      return;
    }
    setTimeout(() => res.end('ok'), delayMs.get(tenant) ?? 0);
  });
  return {
    ...b,
    setDelay: (tenant: string, ms: number) => delayMs.set(tenant, ms),
    hold: (tenant: string) => holding.add(tenant),
    held: () => held.length,
    release(tenant: string) {
      holding.delete(tenant);
      for (const res of held) res.end('released');
    },
  };
}

/** Sends one request per tenant in a loop (each waits for its answer) until stopped: the metric's traffic. */
export function traffic(url: string, tenants: readonly string[]): { stop(): Promise<void> } {
  let running = true;
  const loops = tenants.map(async (tenant) => {
    while (running) {
      await request(url, { headers: { 'x-tenant': tenant } }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

export function auditLines(file: string): Array<Record<string, unknown>> {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function api(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<Reply & { json: Record<string, unknown> }> {
  const reply = await request(url, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  return { ...reply, json: JSON.parse(reply.body) as Record<string, unknown> };
}
