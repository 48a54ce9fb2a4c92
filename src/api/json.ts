import { fromBytes } from '../http/variables';
import { ApiLeaf, ApiNode, isObjectNode, ReadCtx } from './tree';

/**
 * A finite number as the API and Prometheus print it: integers exactly,
 * fractions at 15 significant digits so float noise (0.1 + 0.2) does not
 * show. Safe integers skip the rounding because counters past 10^15 must
 * keep their last digits; values near the double limit skip it because
 * rounding them up would overflow to Infinity.
 */
export function formatNumber(x: number): string {
  if (Number.isSafeInteger(x)) return String(x);
  const rounded = Number(x.toPrecision(15));
  return String(Number.isFinite(rounded) ? rounded : x);
}

/**
 * A byte string as a JSON string literal. Keys and values hold raw bytes
 * from requests (quotes, control characters, invalid UTF-8); decoding them
 * as UTF-8 (bad sequences become U+FFFD) and letting JSON.stringify escape
 * the rest keeps the output valid JSON whatever they hold.
 */
export function jsonString(bytes: string): string {
  return JSON.stringify(fromBytes(bytes));
}

function jsonLeaf(v: ApiLeaf): string {
  if (typeof v === 'number') return Number.isFinite(v) ? formatNumber(v) : 'null';
  if (typeof v === 'string') return jsonString(v);
  return String(v);
}

const INDENT = '    ';

/**
 * Renders a node as JSON text (a JS string of Unicode text; encode it as
 * UTF-8 to send). Pretty output is indented by four spaces, like Angie's.
 * Children are read one by one through `get`, so the text is built while
 * walking and no intermediate object tree is made.
 */
export function renderJson(node: ApiNode, ctx: ReadCtx, pretty = true): string {
  const out: string[] = [];
  writeNode(node, ctx, pretty ? '\n' : '', out);
  if (pretty) out.push('\n');
  return out.join('');
}

/** `newline` is the line break plus the current indentation, or '' for compact output. */
function writeNode(node: ApiNode, ctx: ReadCtx, newline: string, out: string[]): void {
  if (!isObjectNode(node)) {
    out.push(jsonLeaf(node));
    return;
  }
  const inner = newline === '' ? '' : newline + INDENT;
  const colon = newline === '' ? ':' : ': ';
  let empty = true;
  out.push('{');
  for (const key of node.keys(ctx)) {
    const child = node.get(key, ctx);
    // A listed child may decline to answer (nothing to show); it is left out, as in Angie.
    if (child === undefined) continue;
    out.push(empty ? inner : ',' + inner, jsonString(key), colon);
    writeNode(child, ctx, inner, out);
    empty = false;
  }
  if (!empty) out.push(newline);
  out.push('}');
}
