import type { HttpContext, OutHeaders } from '../http/context';
import type { ComplexValue } from '../http/variables';

/** One `proxy_set_header NAME VALUE;`. */
export interface HeaderSetting {
  name: string;
  /** Lower-case name, for matching client headers. */
  lname: string;
  value: ComplexValue;
}

/** A location's effective proxy_set_header list, with the names it overrides. */
export interface HeaderPlan {
  settings: HeaderSetting[];
  overridden: ReadonlySet<string>;
}

/**
 * Connection-level headers: the transport (undici keep-alive, or the
 * WebSocket tunnel) owns them, so neither the client's nor configured
 * values pass. nginx drops the same set by default (its Connection: close
 * becomes keep-alive here). Content-Length is kept from the client: the
 * streamed body must keep its framing.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

/** Response headers nginx does not pass to the client by default (it sends its own Date/Server). */
const HIDDEN_RESPONSE = new Set(['date', 'server', 'x-pad', ...HOP_BY_HOP]);

export function headerPlan(settings: HeaderSetting[]): HeaderPlan {
  return { settings, overridden: new Set(settings.map((s) => s.lname)) };
}

/**
 * The header list for the upstream request, flat `[name, value, ...]` as
 * undici takes it: configured headers first (an empty value removes the
 * header), then the client's headers they do not override.
 */
export function upstreamRequestHeaders(r: HttpContext, plan: HeaderPlan): string[] {
  const out: string[] = [];
  for (const s of plan.settings) {
    if (HOP_BY_HOP.has(s.lname) || s.lname === 'content-length') continue;
    const v = s.value.eval(r);
    if (v !== '') out.push(s.name, v);
  }
  const raw = r.req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const lname = raw[i].toLowerCase();
    if (plan.overridden.has(lname) || HOP_BY_HOP.has(lname) || lname === 'host') continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/** Byte size of a request head as it goes on the wire (for $upstream_bytes_sent). */
export function requestHeadSize(method: string, path: string, headers: readonly string[]): number {
  // request line (`METHOD PATH HTTP/1.1\r\n`), `connection: keep-alive\r\n`, the blank line
  let n = method.length + path.length + 12 + 24 + 2;
  for (let i = 0; i < headers.length; i += 2) n += headers[i].length + headers[i + 1].length + 4;
  return n;
}

export interface ResponseHead {
  /** Every upstream header, lower-case names ($upstream_http_*). */
  all: Record<string, string | string[]>;
  /** What the client gets. */
  client: OutHeaders;
  /** Byte size of the head as received (for $upstream_bytes_received). */
  size: number;
}

function addHeader(into: Record<string, string | string[]>, name: string, value: string): void {
  const prev = into[name];
  if (prev === undefined) into[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else into[name] = [prev, value];
}

/** A 101 keeps Connection and Upgrade: they make the switch. */
const HIDDEN_101 = new Set([...HIDDEN_RESPONSE].filter((h) => h !== 'connection' && h !== 'upgrade'));

const latin1 = (x: Buffer | string): string => (typeof x === 'string' ? x : x.toString('latin1'));

/**
 * Converts a raw response head (undici's Buffers or node:http's strings,
 * latin1 bytes either way) into the two header views.
 */
export function responseHead(raw: ReadonlyArray<Buffer | string>, statusText: string, switching = false): ResponseHead {
  const hidden = switching ? HIDDEN_101 : HIDDEN_RESPONSE;
  const all: Record<string, string | string[]> = {};
  const client: OutHeaders = {};
  let size = 'HTTP/1.1 200 '.length + statusText.length + 2 + 2; // status line, and the blank line ending the head
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]).toLowerCase();
    const value = latin1(raw[i + 1]);
    size += name.length + value.length + 4;
    addHeader(all, name, value);
    if (!hidden.has(name) && !name.startsWith('x-accel-')) addHeader(client, name, value);
  }
  return { all, client, size };
}

/** Headers for the WebSocket handshake upstream: the request's plan plus the upgrade pair. */
export function upgradeRequestHeaders(r: HttpContext, plan: HeaderPlan): Record<string, string | string[]> {
  const list = upstreamRequestHeaders(r, plan);
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) addHeader(out, list[i], list[i + 1]);
  out.connection = 'upgrade';
  out.upgrade = r.req.headers.upgrade ?? 'websocket';
  return out;
}
