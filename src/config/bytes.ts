/*
 * Byte strings: inside the request path every string holds one char per
 * byte (as Node's HTTP parser delivers headers and as nginx sees them);
 * config text is UTF-8. These two convert between them. They sit at the
 * bottom layer because config values, regexes, the HTTP core and the API
 * all use them.
 */

/** Config text is UTF-8; request-time strings are latin1 byte strings (one char per byte, as nginx sees them). */
export function toBytes(text: string): string {
  return /^[\x00-\x7f]*$/.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

/** The inverse, for showing byte strings to people (invalid UTF-8 becomes U+FFFD). */
export function fromBytes(bytes: string): string {
  return /^[\x00-\x7f]*$/.test(bytes) ? bytes : Buffer.from(bytes, 'latin1').toString('utf8');
}
