import { fromBytes } from '../config/bytes';
import { keyText } from './key-text';
import { ByteSink, runNow, Slice, Sliced, UNSLICED } from './slices';
import { ApiLeaf, ApiNode, ApiObjectNode, childIterator, isObjectNode, ReadCtx } from './tree';

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
 * Children are read while walking, so no intermediate object tree is made.
 */
export function renderJson(node: ApiNode, ctx: ReadCtx, pretty = true): string {
  return Buffer.concat(runNow(renderJsonSliced(node, ctx, pretty, UNSLICED))).toString('utf8');
}

/** Text that JSON.stringify would only wrap in quotes (no escapes), the usual member name. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonMemberName(key: string): string {
  const text = keyText(key);
  return PLAIN_JSON.test(text) ? '"' + text + '"' : JSON.stringify(text);
}

/** An object being written: its remaining children and where its lines are indented. */
interface OpenObject {
  children: Iterator<[string, ApiNode]>;
  /** Line break plus the object's own indentation ('' for compact output), and its members'. */
  newline: string;
  inner: string;
  empty: boolean;
}

/**
 * As renderJson, pausing whenever `slice` is used up (run it with
 * runSliced). The walk keeps its own stack of open objects, so a pause
 * costs nothing per level and a deep or wide tree never deepens the JS stack.
 */
export function* renderJsonSliced(node: ApiNode, ctx: ReadCtx, pretty: boolean, slice: Slice): Sliced<Buffer[]> {
  const out = new ByteSink();
  const colon = pretty ? ': ' : ':';
  const stack: OpenObject[] = [];
  const open = (obj: ApiObjectNode, newline: string): void => {
    out.add('{');
    stack.push({ children: childIterator(obj, ctx), newline, inner: newline === '' ? '' : newline + INDENT, empty: true });
  };
  if (isObjectNode(node)) open(node, pretty ? '\n' : '');
  else out.add(jsonLeaf(node));
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const next = top.children.next();
    if (next.done === true) {
      out.add(top.empty ? '}' : top.newline + '}');
      stack.pop();
      continue;
    }
    const [key, child] = next.value;
    out.add((top.empty ? top.inner : ',' + top.inner) + jsonMemberName(key) + colon);
    top.empty = false;
    if (isObjectNode(child)) open(child, top.inner);
    else out.add(jsonLeaf(child));
    if (slice.due()) yield;
  }
  if (pretty) out.add('\n');
  return out.buffers();
}
