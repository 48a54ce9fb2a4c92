/**
 * C `strtod` for JS strings: the longest numeric prefix, as glibc reads it
 * in the "C" locale. Angie feeds every metric value (and every histogram
 * bound) through strtod, so `12abc` is 12, `0x10` is 16 and `1e999` is inf.
 */

/** What one scan found: the value and where the numeric text ended (0 = no conversion). */
export interface NumberScan {
  value: number;
  end: number;
}

const LEADING_SPACE = /^[ \t\n\v\f\r]*/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
const HEX = /^[+-]?0[xX](?:([0-9a-fA-F]+)\.?([0-9a-fA-F]*)|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?/;
const INF_NAN = /^[+-]?(?:(inf(?:inity)?)|nan(?:\([0-9A-Za-z_]*\))?)/i;

export function scanNumber(s: string): NumberScan {
  const skip = LEADING_SPACE.exec(s)![0].length;
  const rest = skip === 0 ? s : s.slice(skip);
  const hex = HEX.exec(rest);
  if (hex) return { value: hexValue(hex), end: skip + hex[0].length };
  const dec = DECIMAL.exec(rest);
  if (dec) return { value: parseFloat(dec[0]), end: skip + dec[0].length };
  const special = INF_NAN.exec(rest);
  if (special) {
    const negative = special[0][0] === '-';
    const value = special[1] !== undefined ? (negative ? -Infinity : Infinity) : NaN;
    return { value, end: skip + special[0].length };
  }
  return { value: 0, end: 0 };
}

/** Smallest normal double: glibc reports ERANGE below it. */
const MIN_NORMAL = 2.2250738585072014e-308;
const HEX_MANTISSA = /^[ \t\n\v\f\r]*[+-]?0[xX]([0-9a-fA-F.]*)/;
const DECIMAL_MANTISSA = /^[ \t\n\v\f\r]*[+-]?([0-9.]*)/;

/**
 * Whether glibc would have set ERANGE for this scan of `s`: a finite text
 * that overflowed to inf, or non-zero digits that underflowed below the
 * smallest normal double. Only configuration (histogram bounds) asks.
 */
export function isOutOfRange(s: string, scan: NumberScan): boolean {
  const text = s.slice(0, scan.end);
  if (INF_NAN.test(text.trimStart())) return false;
  if (!Number.isFinite(scan.value)) return true;
  const mantissa = (HEX_MANTISSA.exec(text) ?? DECIMAL_MANTISSA.exec(text)!)[1];
  return Math.abs(scan.value) < MIN_NORMAL && /[1-9a-fA-F]/.test(mantissa);
}

/**
 * Hex floats: digits are read exactly through BigInt (255 bytes of hex fit
 * well inside a double's range), then scaled by the binary exponent in two
 * steps so an intermediate power of two never overflows on its own.
 */
function hexValue(m: RegExpExecArray): number {
  const intDigits = m[1] ?? '';
  const fracDigits = m[1] !== undefined ? m[2] : m[3];
  const digits = (intDigits + fracDigits).replace(/^0+/, '') || '0';
  const exponent = Number(m[4] ?? 0) - 4 * fracDigits.length;
  const mantissa = Number(BigInt('0x' + digits));
  const half = Math.trunc(exponent / 2);
  const magnitude = mantissa * 2 ** half * 2 ** (exponent - half);
  return m[0][0] === '-' ? -magnitude : magnitude;
}

/** strtod's return value for the longest numeric prefix (0 when there is none). */
export function strtod(s: string): number {
  return scanNumber(s).value;
}

/** Angie reads at most this many bytes of a key or a value. */
export const MAX_METRIC_BYTES = 255;

/**
 * A metric value as Angie reads it: cut to 255 bytes (and at a NUL, since C
 * sees a string end there); empty → 0; text with no numeric prefix → 1;
 * otherwise the strtod prefix. `s` is a byte string (char codes < 256).
 */
export function parseMetricValue(s: string): number {
  let text = s.length > MAX_METRIC_BYTES ? s.slice(0, MAX_METRIC_BYTES) : s;
  const nul = text.indexOf('\0');
  if (nul >= 0) text = text.slice(0, nul);
  if (text === '') return 0;
  const scan = scanNumber(text);
  return scan.end === 0 ? 1 : scan.value;
}
