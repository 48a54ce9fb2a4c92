/**
 * The state machine of one key, inside a write transaction. Each change
 * bumps the record's version and returns a Transition, which the caller
 * writes to the audit log and sends to Alertmanager once the transaction
 * committed (a rolled-back change leaves no trace).
 */
import type { KvTxn } from '../store/kv';
import type { ThrottleLimit } from './config';
import { isActive, KeyRecord, ThrottleRecords, ThrottleState } from './record';

export interface Transition {
  zone: string;
  key: string;
  from: ThrottleState | 'NONE';
  to: ThrottleState | 'ALERTED';
  source: 'auto' | 'manual';
  /** The API client's address, for operator actions. */
  actor?: string;
  /** The samples that triggered or recovered it. */
  samples?: number[];
  record: KeyRecord;
}

/** A new throttle on `key`: a repeat within one TTL of the last one keeps counting triggers. */
export interface ThrottleStart {
  source: 'auto' | 'manual';
  limit: ThrottleLimit;
  ttlMs: number;
  reason: string;
  actor?: string;
  samples?: number[];
}

function triggersBefore(prev: KeyRecord | undefined, now: number): number {
  if (prev === undefined) return 0;
  return prev.ended === 0 || now - prev.ended < prev.ttlMs ? prev.triggers : 0;
}

export function startThrottle(t: KvTxn, recs: ThrottleRecords, key: string, start: ThrottleStart, now: number): Transition {
  const prev = recs.get(t, key);
  const record: KeyRecord = {
    state: start.source === 'auto' ? 'AUTO_THROTTLED' : 'MANUAL_THROTTLED',
    source: start.source,
    limit: start.limit,
    since: now,
    expires: now + start.ttlMs,
    ttlMs: start.ttlMs,
    ended: 0,
    triggers: triggersBefore(prev, now) + 1,
    reason: start.reason,
    version: (prev?.version ?? 0) + 1,
    alert: prev?.alert === 'FIRING' ? 'FIRING' : 'NONE',
  };
  recs.put(t, key, record);
  recs.count(t, { triggers: 1 });
  const from = isActive(prev, now) ? prev.state : 'NONE';
  return { zone: recs.zone, key, from, to: record.state, source: start.source, actor: start.actor, samples: start.samples, record };
}

/** Ends an active throttle as `to`; the record stays (with its history) one TTL. */
export function endThrottle(t: KvTxn, recs: ThrottleRecords, key: string, to: 'RECOVERED' | 'RELEASED' | 'EXPIRED', now: number, why: { actor?: string; samples?: number[] }): Transition | undefined {
  const prev = recs.get(t, key);
  if (prev === undefined || prev.ended !== 0) return undefined;
  const record: KeyRecord = { ...prev, state: to, ended: now, version: prev.version + 1 };
  recs.put(t, key, record);
  if (to === 'RECOVERED') recs.count(t, { recoveries: 1, recover_seconds_sum: (now - prev.since) / 1000, recover_seconds_count: 1 });
  else recs.count(t, to === 'RELEASED' ? { releases: 1 } : { expirations: 1 });
  return { zone: recs.zone, key, from: prev.state, to, source: to === 'RELEASED' ? 'manual' : 'auto', ...why, record };
}

/** Records the outcome of an alert delivery on the key (FAILED shows in its record). */
export function setAlertState(t: KvTxn, recs: ThrottleRecords, key: string, alert: KeyRecord['alert']): void {
  const rec = recs.get(t, key);
  if (rec === undefined || rec.alert === alert) return;
  recs.put(t, key, { ...rec, alert });
  if (alert === 'FAILED') recs.count(t, { alerts_failed: 1 });
}

/** The API and audit view of a limit: max_concurrency, rate in requests per second. */
export function limitView(limit: ThrottleLimit): { max_concurrency: number | null; rate: number | null } {
  return { max_concurrency: limit.maxConcurrency ?? null, rate: limit.rate === undefined ? null : limit.rate / 1000 };
}
