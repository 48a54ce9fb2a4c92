/**
 * Turns the raw request target into nginx's $uri: percent-decoded to bytes
 * (kept as a latin1 byte string), `//` merged, `.` and `..` segments
 * resolved. Returns undefined for a target nginx answers with 400.
 */
export function normalizeUri(rawPath: string): string | undefined {
  if (rawPath[0] !== '/') return undefined;
  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath[i];
    if (c === '%') {
      const hex = rawPath.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      const code = parseInt(hex, 16);
      if (code === 0) return undefined;
      decoded += String.fromCharCode(code);
      i += 2;
    } else decoded += c;
  }
  const out: string[] = [];
  const segs = decoded.split('/');
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    if (s === '' && !last) continue;
    if (s === '.') {
      if (last) out.push('');
      continue;
    }
    if (s === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return '/' + out.join('/');
}

/** Splits `path?query` as nginx does for $uri / $args. */
export function splitTarget(target: string): { path: string; args: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, args: '' } : { path: target.slice(0, q), args: target.slice(q + 1) };
}

/** Percent-encodes bytes that may not stand raw in a request target (for proxying a decoded $uri). */
export function escapeUri(bytes: string): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const code = bytes.charCodeAt(i);
    const c = bytes[i];
    if (code <= 0x20 || code >= 0x7f || c === '%' || c === '?' || c === '#' || c === '"') {
      out += '%' + code.toString(16).toUpperCase().padStart(2, '0');
    } else out += c;
  }
  return out;
}
