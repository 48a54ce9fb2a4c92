/**
 * Alertmanager v2 delivery (`alert http://HOST:PORT;`): a firing alert when
 * a key is throttled automatically (or an exempt key breaches), resolved
 * when it is released. Retried with backoff; a delivery that still fails
 * is counted, logged, and shown as the key's alert state FAILED.
 */
import type { Transition } from './transitions';

export const ALERT_NAME = 'MetricproxyThrottle';

/** Waits before the 2nd and 3rd attempts. */
const BACKOFF_MS = [250, 1000];
const ATTEMPT_TIMEOUT_MS = 2000;

export type AlertOutcome = 'FIRING' | 'RESOLVED' | 'FAILED';

/** An alert to post: firing (until the throttle's expiry, so it needs no re-sending) or resolved. */
export interface Alert {
  firing: boolean;
  body: Record<string, unknown>;
}

const END_STATES = new Set(['RECOVERED', 'RELEASED', 'EXPIRED']);

/**
 * The alert a transition fires or resolves; undefined for a change operators
 * are not paged for (manual throttles). An end resolves whatever fired for
 * the key, even when an operator took the throttle over meanwhile.
 */
export function alertFor(tr: Transition, rule: string, now: number): Alert | undefined {
  const firing = tr.to === 'AUTO_THROTTLED' || tr.to === 'ALERTED';
  const resolving = END_STATES.has(tr.to) && (tr.record.source === 'auto' || tr.record.alert !== 'NONE');
  if (!firing && !resolving) return undefined;
  const ends = firing ? Math.max(tr.record.expires, now + 60_000) : now;
  return {
    firing,
    body: {
      // The labels name the alert (Alertmanager matches a resolve to its firing by them): they never change.
      labels: { alertname: ALERT_NAME, zone: tr.zone, key: tr.key, rule },
      annotations: { state: tr.to, reason: tr.record.reason, summary: `${tr.zone} key "${tr.key}" ${tr.to}`, samples: JSON.stringify(tr.samples ?? []) },
      startsAt: new Date(tr.record.since).toISOString(),
      endsAt: new Date(ends).toISOString(),
    },
  };
}

async function postOnce(url: string, body: string): Promise<void> {
  const res = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`Alertmanager answered ${res.status}`);
}

/** Posts one alert, retrying; resolves with the key's alert state and the last error if it failed. */
export async function deliver(url: string, alert: Alert): Promise<{ outcome: AlertOutcome; error?: string }> {
  const body = JSON.stringify([alert.body]);
  let error = '';
  for (let attempt = 0; attempt <= BACKOFF_MS.length; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, BACKOFF_MS[attempt - 1]));
    try {
      await postOnce(url, body);
      return { outcome: alert.firing ? 'FIRING' : 'RESOLVED' };
    } catch (e) {
      error = (e as Error).message;
    }
  }
  return { outcome: 'FAILED', error };
}
