import { keyBytes } from './key-text';
import { ApiNode, isObjectNode, ReadCtx } from './tree';

/**
 * Addressing nodes of the status tree by path, the way Angie's API does:
 * segments are separated by `/`, empty segments (doubled or trailing
 * slashes) are skipped. Segments are byte strings; their `\\` and `\xHH`
 * escapes (key-text.ts) are undone and the bytes passed to each node's
 * `get`, so a node may give a spelling its own meaning (a metric zone finds
 * a 255-byte key from `<255 bytes>...`).
 */
export function splitSegments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/**
 * Decodes `%XX` to the byte it names (not to UTF-8 text: byte strings stay
 * bytes). A `%` not followed by two hex digits stands for itself.
 */
export function percentDecode(raw: string): string {
  if (!raw.includes('%')) return raw;
  return raw.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * The node at `segments` below `from`, or undefined when any step does not
 * exist. A segment is a member name as the JSON shows it (key-text.ts).
 */
export function resolvePath(from: ApiNode, segments: readonly string[], ctx: ReadCtx): ApiNode | undefined {
  let node: ApiNode | undefined = from;
  for (const seg of segments) {
    if (!isObjectNode(node)) return undefined;
    node = node.get(keyBytes(seg), ctx);
    if (node === undefined) return undefined;
  }
  return node;
}

/** The request URI part after the location prefix: raw (still percent-encoded) when known, and decoded. */
export interface UriRest {
  /** Undefined when the raw form cannot be lined up with the decoded one (rewritten or normalised URI). */
  raw: string | undefined;
  decoded: string;
}

/** Where an API request points: the path to show in errors and the segments to walk from the top. */
export interface ApiTarget {
  /** Always starts with `/`, keeps trailing slashes as addressed (`/status/http/`). */
  display: string;
  segments: string[];
}

/**
 * Angie's join of the `api` prefix and the URI rest: "prefix" + "/" + rest,
 * without doubling slashes; an empty rest addresses the prefix itself.
 * Segments of the rest are split before percent-decoding, so `%2F` inside
 * a key does not split it. The prefix comes from config and is not decoded.
 */
export function apiTarget(prefix: string, rest: UriRest | undefined): ApiTarget {
  const decodedRest = rest === undefined ? '' : stripOneSlash(rest.decoded);
  if (rest === undefined || decodedRest === '') {
    return { display: '/' + stripOneSlash(prefix), segments: splitSegments(prefix) };
  }
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const joined = base === '' ? decodedRest : base + '/' + decodedRest;
  const restSegments = rest.raw === undefined ? splitSegments(rest.decoded) : splitSegments(rest.raw).map(percentDecode);
  return { display: '/' + stripOneSlash(joined), segments: [...splitSegments(prefix), ...restSegments] };
}

function stripOneSlash(s: string): string {
  return s.startsWith('/') ? s.slice(1) : s;
}

/**
 * The part of the raw request path that follows the first `skip` decoded
 * bytes, or undefined when decoding `rawPath` does not give `decodedPath`
 * (the core normalised or rewrote it, so the two cannot be lined up).
 */
export function rawRestAfter(rawPath: string, decodedPath: string, skip: number): string | undefined {
  if (percentDecode(rawPath) !== decodedPath) return undefined;
  let i = 0;
  for (let decoded = 0; decoded < skip; decoded++) {
    i += /^%[0-9A-Fa-f]{2}/.test(rawPath.slice(i, i + 3)) ? 3 : 1;
  }
  return rawPath.slice(i);
}
