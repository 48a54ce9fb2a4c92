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

/** The alert a transition fires or resolves; undefined for a change operators are not paged for. */
export function alertFor(tr: Transition, now: number): Record<string, unknown> | undefined {
  const firing = tr.to === 'AUTO_THROTTLED' || tr.to === 'ALERTED';
  const resolving = tr.record.source === 'auto' && (tr.to === 'RECOVERED' || tr.to === 'RELEASED' || tr.to === 'EXPIRED');
  if (!firing && !resolving) return undefined;
  const at = new Date(now).toISOString();
  return {
    // The labels name the alert (Alertmanager matches a resolve to its firing by them): they never change.
    labels: { alertname: ALERT_NAME, zone: tr.zone, key: tr.key, rule: tr.record.reason },
    annotations: { state: tr.to, summary: `${tr.zone} key "${tr.key}" ${tr.to}`, samples: JSON.stringify(tr.samples ?? []) },
    startsAt: new Date(tr.record.since).toISOString(),
    ...(firing ? {} : { endsAt: at }),
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
export async function deliver(url: string, alert: Record<string, unknown>, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<{ outcome: AlertOutcome; error?: string }> {
  const body = JSON.stringify([alert]);
  let error = '';
  for (let attempt = 0; attempt <= BACKOFF_MS.length; attempt++) {
    if (attempt > 0) await sleep(BACKOFF_MS[attempt - 1]);
    try {
      await postOnce(url, body);
      return { outcome: 'endsAt' in alert ? 'RESOLVED' : 'FIRING' };
    } catch (e) {
      error = (e as Error).message;
    }
  }
  return { outcome: 'FAILED', error };
}
