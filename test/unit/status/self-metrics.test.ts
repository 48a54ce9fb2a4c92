import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerRecords } from '../../../src/store/worker-records';
import { closeEnvironment, openEnvironment } from '../../../src/store/environment';
import { PUBLISH_EVERY_MS, SelfMetrics } from '../../../src/status/self-metrics';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-self-'));
const env = openEnvironment(dir, { mapSize: 1 << 26, maxDbs: 4 });
afterAll(async () => {
  await closeEnvironment(env);
  fs.rmSync(dir, { recursive: true, force: true });
});

type Family = { name: string; type: string; metrics: Array<{ labels?: Record<string, string>; buckets?: Record<string, string> }> };

function families(text: string): Map<string, Family> {
  return new Map((parsePrometheusTextFormat(text) as Family[]).map((f) => [f.name, f]));
}

/** Makes garbage until the collectors saw a collection (the GC histogram has samples only then). */
async function collectGarbage(): Promise<void> {
  let junk: object[] = [];
  for (let i = 0; i < 1e6; i++) junk.push({ i });
  junk = [];
  await new Promise((r) => setTimeout(r, 50));
}

function workersIn(f: Family | undefined): string[] {
  return [...new Set((f?.metrics ?? []).map((m) => m.labels?.worker ?? '?'))].sort();
}

describe('SelfMetrics', () => {
  it("renders a worker's default collectors labelled with its pid", async () => {
    const text = await new SelfMetrics(4242).render();
    const f = families(text);
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_active_handles_total', 'process_cpu_seconds_total']) {
      expect(workersIn(f.get(name)), name).toEqual(['4242']);
    }
    expect(f.get('nodejs_gc_duration_seconds')?.type).toBe('HISTOGRAM');
  });

  it('adds what the other live workers published, and leaves out the silent ones', async () => {
    const other = new SelfMetrics(102);
    other.open(WorkerRecords.open(env, 7, 102));
    const silent = new SelfMetrics(103);
    silent.open(WorkerRecords.open(env, 7, 103));
    const mine = new SelfMetrics(101);
    mine.open(WorkerRecords.open(env, 7, 101));
    await collectGarbage();
    // Publishing happens before rendering: render once to publish, at a time long past for the silent one.
    await silent.render(Date.now() - 10 * PUBLISH_EVERY_MS);
    await other.render();
    const text = await mine.render();
    expect(workersIn(families(text).get('nodejs_heap_size_used_bytes'))).toEqual(['101', '102']);
    // The other worker's histogram crossed the store as JSON with its bounds intact (the parser merges
    // histogram series across labels, so its lines are read directly).
    for (const worker of ['101', '102']) {
      expect(text).toMatch(new RegExp(`^nodejs_gc_duration_seconds_bucket\\{le="\\+Inf",kind="\\w+",worker="${worker}"\\} \\d+$`, 'm'));
    }
    expect(text).not.toContain('Infinity');
    for (const s of [other, silent, mine]) s.close();
  });
});
