/**
 * `throttle_api ZONE;`: the operators' face of a throttle zone, in the
 * envelope of the Prometheus HTTP API ({"status":"success","data":...}).
 *   GET    PREFIX        every key with a state
 *   GET    PREFIX KEY    one key (404 when it has none)
 *   PATCH  PREFIX KEY    a manual throttle; idempotent; If-Match: VERSION
 *   DELETE PREFIX KEY    release (a key with no throttle: 200, nothing changes)
 */
import type { HttpContext } from '../http/context';
import type { KvTxn } from '../store/kv';
import { sendResponse } from '../http/respond';
import type { ThrottleLimit } from './config';
import { isActive, KeyRecord } from './record';
import { endThrottle, limitView, startThrottle, Transition } from './transitions';
import type { ThrottleZone } from './zone-runtime';

/** A PATCH body is a few fields: anything bigger is not one. */
const MAX_BODY = 16 * 1024;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

const badData = (message: string) => new ApiError(400, 'bad_data', message);
const UNAVAILABLE = new ApiError(503, 'unavailable', 'the throttle store cannot be written');

/** The API view of a key's record. */
export function recordView(key: string, rec: KeyRecord): Record<string, unknown> {
  return {
    key,
    state: rec.state,
    source: rec.source,
    ...limitView(rec.limit),
    since: new Date(rec.since).toISOString(),
    expires: new Date(rec.expires).toISOString(),
    ttl_seconds: rec.ttlMs / 1000,
    triggers: rec.triggers,
    reason: rec.reason,
    version: rec.version,
    alert: rec.alert,
  };
}

interface PatchBody {
  limit: ThrottleLimit;
  ttlMs: number;
  reason: string;
}

function positive(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw badData(`"${field}" must be a positive number`);
  return v;
}

/** `{"max_concurrency":N | "rate":R, "ttl_seconds":S, "reason":"..."}`, nothing else. */
export function parsePatch(text: string, defaultTtlMs: number): PatchBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badData('the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badData('the body must be a JSON object');
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((f) => !['max_concurrency', 'rate', 'ttl_seconds', 'reason'].includes(f));
  if (unknown !== undefined) throw badData(`unknown field "${unknown}"`);
  const conc = positive(fields, 'max_concurrency');
  const rate = positive(fields, 'rate');
  if ((conc === undefined) === (rate === undefined)) throw badData('one of "max_concurrency" or "rate" is required');
  if (conc !== undefined && (!Number.isInteger(conc) || conc > 65535)) throw badData('"max_concurrency" must be an integer up to 65535');
  const ttl = positive(fields, 'ttl_seconds');
  if (fields.reason !== undefined && typeof fields.reason !== 'string') throw badData('"reason" must be a string');
  const limit = conc !== undefined ? { maxConcurrency: conc } : { rate: Math.round((rate ?? 0) * 1000) };
  if (limit.rate === 0) throw badData('"rate" is too small');
  return { limit, ttlMs: ttl === undefined ? defaultTtlMs : Math.round(ttl * 1000), reason: (fields.reason as string | undefined) ?? '' };
}

function samePatch(rec: KeyRecord | undefined, p: PatchBody, now: number): rec is KeyRecord {
  return isActive(rec, now) && rec.source === 'manual' && rec.ttlMs === p.ttlMs && rec.reason === p.reason
    && rec.limit.maxConcurrency === p.limit.maxConcurrency && rec.limit.rate === p.limit.rate;
}

function readBody(r: HttpContext): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    r.req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    r.req.on('end', () => (size > MAX_BODY ? reject(badData('the body is too large')) : resolve(Buffer.concat(chunks).toString('utf8'))));
    r.req.on('error', reject);
  });
}

type Outcome = { data: unknown; changed: Transition[] };

/** A conditional change whose version does not match: 412, so two operators never overwrite each other blindly. */
function ifMatchFails(r: HttpContext, rec: KeyRecord | undefined): ApiError | undefined {
  const want = r.req.headers['if-match'];
  if (want === undefined || want === '*') return undefined;
  const have = String(rec?.version ?? 0);
  return want.replace(/"/g, '') === have ? undefined : new ApiError(412, 'precondition_failed', `the key's version is ${have}`);
}

/**
 * Runs `body` in one write transaction. Refusals are returned, not thrown
 * (a throw would count as a store failure); nothing was written then.
 */
function inStore(z: ThrottleZone, body: (t: KvTxn, now: number) => Outcome | ApiError, how: 'read' | 'write' = 'write'): Outcome {
  const run = how === 'read' ? z.read.bind(z) : z.transact.bind(z);
  const out = run<Outcome | ApiError | undefined>((t) => body(t, Date.now()), undefined);
  if (out === undefined) throw UNAVAILABLE;
  if (out instanceof ApiError) throw out;
  return out;
}

async function patch(z: ThrottleZone, r: HttpContext, key: string): Promise<Outcome> {
  const body = parsePatch(await readBody(r), z.def.ttlMs);
  const actor = r.req.socket.remoteAddress ?? '-';
  return inStore(z, (t, now) => {
    const rec = z.recs.get(t, key);
    const refused = ifMatchFails(r, rec);
    if (refused !== undefined) return refused;
    if (samePatch(rec, body, now)) return { data: recordView(key, rec), changed: [] };
    const tr = startThrottle(t, z.recs, key, { source: 'manual', ...body, actor }, now);
    return { data: recordView(key, tr.record), changed: [tr] };
  });
}

function release(z: ThrottleZone, r: HttpContext, key: string): Outcome {
  const actor = r.req.socket.remoteAddress ?? '-';
  return inStore(z, (t, now) => {
    const refused = ifMatchFails(r, z.recs.get(t, key));
    if (refused !== undefined) return refused;
    const tr = endThrottle(t, z.recs, key, 'RELEASED', now, { actor });
    const rec = z.recs.get(t, key);
    return { data: rec === undefined ? null : recordView(key, rec), changed: tr === undefined ? [] : [tr] };
  });
}

function read(z: ThrottleZone, key: string): Outcome {
  return inStore(z, (t) => {
    if (key === '') return { data: z.recs.all(t).map(([k, rec]) => recordView(k, rec)), changed: [] };
    const rec = z.recs.get(t, key);
    if (rec === undefined) return new ApiError(404, 'not_found', `no throttle state for key "${key}"`);
    return { data: recordView(key, rec), changed: [] };
  }, 'read');
}

async function dispatch(z: ThrottleZone, r: HttpContext, key: string): Promise<Outcome> {
  const method = r.req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return read(z, key);
  if (key !== '' && method === 'PATCH') return patch(z, r, key);
  if (key !== '' && method === 'DELETE') return release(z, r, key);
  throw new ApiError(405, 'method_not_allowed', `${method} is not allowed here`);
}

function send(r: HttpContext, status: number, body: unknown): void {
  sendResponse(r, status, { 'content-type': 'application/json', 'cache-control': 'no-cache' }, JSON.stringify(body) + '\n');
}

/** The content handler of a `throttle_api` location whose prefix is `prefix`. */
export function throttleApiHandler(z: ThrottleZone, prefix: string): (r: HttpContext) => Promise<void> {
  return async (r) => {
    const key = r.uri.startsWith(prefix) ? r.uri.slice(prefix.length) : '';
    try {
      const out = await dispatch(z, r, key);
      z.announce(out.changed);
      send(r, 200, { status: 'success', data: out.data });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      send(r, e.status, { status: 'error', errorType: e.errorType, error: e.message });
    }
  };
}
