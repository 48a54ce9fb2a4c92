/**
 * How the status tree's names (metric-zone keys above all: raw request
 * bytes) are shown, injectively: two different byte strings never show the
 * same. Bytes that are part of valid UTF-8 show as their characters; every
 * other byte shows as `\xHH` (two upper-case hex digits) and a backslash
 * as `\\`. In the Prometheus renderer's paths a `/` inside a name is also
 * written `\x2F`, so a name always stays one path segment.
 *
 * The API reads a path segment back with keyBytes, so the member name a
 * JSON answer shows (percent-encoded as UTF-8, as any client does) addresses
 * that member.
 */

/** Names that need no escaping: no backslash, no byte above 0x7f (the common case, kept fast). */
const PLAIN = /^[^\\\x80-\xff]*$/;
const PLAIN_SEGMENT = /^[^\\/\x80-\xff]*$/;

/** The length of the valid UTF-8 sequence starting at `i`, or 0 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
function utf8SequenceAt(bytes: string, i: number): number {
  const b0 = bytes.charCodeAt(i);
  if (b0 < 0x80) return 1;
  let length: number;
  let min = 0x80;
  let max = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) length = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    if (b0 === 0xe0) min = 0xa0;
    if (b0 === 0xed) max = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    if (b0 === 0xf0) min = 0x90;
    if (b0 === 0xf4) max = 0x8f;
  } else return 0;
  // Only the second byte has a narrowed range; the others are plain continuation bytes.
  for (let k = 1; k < length; k++) {
    const b = bytes.charCodeAt(i + k);
    if (Number.isNaN(b) || b < (k === 1 ? min : 0x80) || b > (k === 1 ? max : 0xbf)) return 0;
  }
  return length;
}

function hexEscape(byte: number): string {
  return '\\x' + byte.toString(16).toUpperCase().padStart(2, '0');
}

/** The escaped form as a byte string (valid UTF-8 bytes kept, the rest escaped); `slash` also escapes `/`. */
function escapeBytes(bytes: string, slash: boolean): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const c = bytes.charCodeAt(i);
    if (c === 0x5c) {
      out += '\\\\';
      i++;
    } else if (c === 0x2f && slash) {
      out += '\\x2F';
      i++;
    } else {
      const n = utf8SequenceAt(bytes, i);
      if (n === 0) {
        out += hexEscape(c);
        i++;
      } else {
        out += bytes.slice(i, i + n);
        i += n;
      }
    }
  }
  return out;
}

/** A name as Unicode text, for a JSON member name (and a Prometheus label value). */
export function keyText(bytes: string): string {
  if (PLAIN.test(bytes)) return bytes;
  return Buffer.from(escapeBytes(bytes, false), 'latin1').toString('utf8');
}

/** A name as one segment of a Prometheus template path (a byte string, as template regexes are). */
export function pathSegment(bytes: string): string {
  return PLAIN_SEGMENT.test(bytes) ? bytes : escapeBytes(bytes, true);
}

/** The bytes a shown name (as bytes: UTF-8 of the text) stands for; a `\` starting no escape stands for itself. */
export function keyBytes(shown: string): string {
  if (!shown.includes('\\')) return shown;
  return shown.replace(/\\(\\|x[0-9A-Fa-f]{2})/g, (_m, esc: string) => (esc === '\\' ? '\\' : String.fromCharCode(parseInt(esc.slice(1), 16))));
}

/** A path text (segments from pathSegment, or any run of them) with `\x2F` back as `/`: a label value's bytes. */
export function unescapeSlashes(path: string): string {
  if (!path.includes('\\')) return path;
  return path.replace(/\\(\\|x2F)/g, (m, esc: string) => (esc === '\\' ? m : '/'));
}
