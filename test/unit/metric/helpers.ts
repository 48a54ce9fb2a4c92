import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseMetricSpec } from '../../../src/metric/modes';
import { formatNumber, type MetricValue } from '../../../src/metric/value';
import type { ZoneDef } from '../../../src/metric/zone';

interface ZoneOptions {
  expire?: boolean;
  discardKey?: string;
}

/** `metric_zone NAME:SIZE [options] MODE [params]` as a definition. */
export function inlineZone(name: string, size: number, modeArgs: string[], opts: ZoneOptions = {}): ZoneDef {
  const { mode, params } = parseMetricSpec(modeArgs);
  return { name, size, expire: false, complex: false, metrics: [{ name: mode.name, mode, params }], file: 'test.conf', line: 1, ...opts };
}

/** `metric_complex_zone NAME:SIZE [options] { SUB MODE [params]; ... }` as a definition. */
export function complexZone(name: string, size: number, subs: string[][], opts: ZoneOptions = {}): ZoneDef {
  const metrics = subs.map(([sub, ...modeArgs]) => ({ name: sub, ...parseMetricSpec(modeArgs) }));
  return { name, size, expire: false, complex: true, metrics, file: 'test.conf', line: 1, ...opts };
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metricproxy-metric-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A UTF-8 string as the byte string the engine takes. */
export function bytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** JSON text of an API value, keys in map order (as the API prints it). */
export function metricValueToJson(v: MetricValue): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? formatNumber(v) : 'null';
  const members: string[] = [];
  for (const [name, member] of v) members.push(`${JSON.stringify(name)}:${metricValueToJson(member)}`);
  return `{${members.join(',')}}`;
}
