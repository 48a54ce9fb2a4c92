import { formatNumber } from '../api/json';
import { keyBytes, pathSegment, unescapeSlashes } from '../api/key-text';
import { ByteSink, Slice, Sliced } from '../api/slices';
import { ApiLeaf, ApiNode, ApiObjectNode, isObjectNode, ReadCtx } from '../api/tree';
import type { HttpContext } from '../http/context';
import { fromBytes } from '../config/bytes';
import type { PathMatch, Source, Template, TemplateEntry } from './template';

/** A value as the text format spells it: `+Inf`, `-Inf` and `NaN` for the non-finite. */
function formatSampleNumber(x: number): string {
  if (Number.isFinite(x)) return formatNumber(x);
  if (Number.isNaN(x)) return 'NaN';
  return x > 0 ? '+Inf' : '-Inf';
}

/** The text format's float grammar: a sample whose value is not a number would break the whole scrape. */
const PROM_FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

const LABEL_SPECIAL = /[\\"\n]/;

/** Escapes a label value (and the header's template name) per the text format. */
function escapeLabelValue(text: string): string {
  if (!LABEL_SPECIAL.test(text)) return text;
  return text.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c));
}

function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** A tree value as text (bytes for strings), for `$p8s_value` in the sample value or in labels. */
function leafText(v: ApiLeaf): string {
  if (typeof v === 'number') return formatSampleNumber(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  return v ?? '';
}

/** An entry bound to the tree, by its index in the template. */
interface Candidate {
  index: number;
  match: PathMatch;
  /** Whether it may claim an object's `PATH/` (most entries end in `[^/]+)$` and cannot). */
  objects: boolean;
}

/** A regex whose last element is a run of non-slashes before `$` never matches a path ending in `/`. */
const ENDS_WITHOUT_SLASH = /\[\^\\?\/\][+*]\)*\$$/;

function claimsObjects(m: PathMatch): boolean {
  return m.kind === 'exact' ? m.path.endsWith('/') : !ENDS_WITHOUT_SLASH.test(m.regex.source);
}

/** One template rendering: the read context, the request (for request variables), sample text per entry. */
interface Render {
  entries: readonly TemplateEntry[];
  ctx: ReadCtx;
  r: HttpContext | undefined;
  samples: ByteSink[];
}

/**
 * Renders a template over the status tree (`status` is the `/status` node;
 * template paths are written without that prefix). Every leaf, and every
 * object as `PATH/` with its number of children, is offered to the entries
 * in template order and claimed by the first that matches. Output is grouped
 * by entry, samples in tree order, as UTF-8 in pieces. Pauses whenever
 * `slice` is used up (run it with runSliced, or runNow for one go). Names in
 * paths are written as pathSegment spells them: a key is always one segment.
 */
export function* renderTemplateSliced(tpl: Template, status: ApiNode, ctx: ReadCtx, r: HttpContext | undefined, slice: Slice): Sliced<Buffer[]> {
  const render: Render = { entries: tpl.entries, ctx, r, samples: tpl.entries.map(() => new ByteSink()) };
  const bound: Candidate[] = [];
  tpl.entries.forEach((e, index) => (e.match === undefined ? sampleUnbound(render, index) : bound.push({ index, match: e.match, objects: claimsObjects(e.match) })));
  if (bound.length > 0) yield* walk(render, status, bound, slice);
  return assemble(tpl, render.samples);
}

function assemble(tpl: Template, samples: readonly ByteSink[]): Buffer[] {
  const line = (text: string) => Buffer.from(text + '\n', 'utf8');
  const out: Buffer[] = [line(`# Angie Prometheus template "${escapeLabelValue(tpl.name)}"`)];
  const helped = new Set<string>();
  const typed = new Set<string>();
  tpl.entries.forEach((e, i) => {
    if (samples[i].empty) return;
    if (e.help !== undefined && !helped.has(e.family)) {
      helped.add(e.family);
      out.push(line(`# HELP ${e.family} ${escapeHelp(e.help)}`));
    }
    if (e.type !== undefined && !typed.has(e.family)) {
      typed.add(e.family);
      out.push(line(`# TYPE ${e.family} ${e.type}`));
    }
    // A chunk at a time: a spread of 240,000 samples would overflow the call stack.
    for (const chunk of samples[i].buffers()) out.push(chunk);
  });
  return out;
}

/** An object node being walked: the children left to visit, and the entries that may claim below it. */
interface Frame {
  node: ApiObjectNode;
  path: string;
  candidates: Candidate[];
  /** Path-form names of the children to visit. */
  names: Iterator<string>;
  /** Whether every child keeps all candidates (no per-child filter needed). */
  allKeep: boolean;
  /** Listed (not pinned): offered as `PATH/` with its child count once done. */
  listed: boolean;
  count: number;
}

/** Visits the tree below `root` depth first with its own stack (no recursion), pausing when the slice is used up. */
function* walk(render: Render, root: ApiNode, candidates: Candidate[], slice: Slice): Sliced<void> {
  const stack: Frame[] = [];
  const enter = (node: ApiNode, path: string, cands: Candidate[]): void => {
    if (isObjectNode(node)) stack.push(frameOf(render, node, path, cands));
    else claim(render, path, node, cands);
  };
  enter(root, '', candidates);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const next = top.names.next();
    if (next.done === true) {
      stack.pop();
      // An object is offered as `PATH/` with its child count, to the entries that can take such a path.
      if (top.listed) claim(render, top.path + '/', top.count, top.candidates, true);
      continue;
    }
    top.count++;
    const childPath = top.path + '/' + next.value;
    const sub = top.allKeep ? top.candidates : top.candidates.filter((c) => mayClaimUnder(c.match, childPath));
    if (sub.length > 0) {
      const child = top.node.get(keyBytes(next.value), render.ctx);
      if (child !== undefined) enter(child, childPath, sub);
    }
    if (slice.due()) yield;
  }
}

function frameOf(render: Render, node: ApiObjectNode, path: string, candidates: Candidate[]): Frame {
  const pinned = pinnedChildren(path, candidates);
  const names = pinned !== undefined ? pinned.values() : mapIterator(node.keys(render.ctx)[Symbol.iterator](), pathSegment);
  const below = path + '/';
  const allKeep = candidates.every((c) => c.match.kind === 'regex' && below.startsWith(c.match.prefix));
  return { node, path, candidates, names, allKeep, listed: pinned === undefined, count: 0 };
}

function mapIterator<T, U>(from: Iterator<T>, f: (t: T) => U): Iterator<U> {
  return {
    next(): IteratorResult<U> {
      const n = from.next();
      return n.done === true ? { done: true, value: undefined } : { done: false, value: f(n.value) };
    },
  };
}

/** Whether some path in the subtree at `childPath` (itself, `childPath/...`) can be claimed by `m`. */
function mayClaimUnder(m: PathMatch, childPath: string): boolean {
  if (m.kind === 'exact') return m.path === childPath || m.path.startsWith(childPath + '/');
  return childPath.startsWith(m.prefix) || m.prefix.startsWith(childPath + '/');
}

/**
 * When every candidate's literal prefix names the next segment below
 * `path` outright, the children to visit (path-form names): read by name,
 * without listing the object (a zone of 100,000 keys is not enumerated to
 * find one). Undefined when some candidate needs the listing (or the child count).
 */
function pinnedChildren(path: string, candidates: Candidate[]): string[] | undefined {
  const below = path + '/';
  const keys = new Set<string>();
  for (const { match: m } of candidates) {
    if (m.kind === 'exact' && m.path === path) continue; // names this object without `/`: matches nothing here
    if (!m.prefix.startsWith(below)) return undefined;
    const rest = m.prefix.slice(below.length);
    const slash = rest.indexOf('/');
    if (slash >= 0) keys.add(rest.slice(0, slash));
    else if (m.kind === 'exact' && rest !== '') keys.add(rest);
    else return undefined;
  }
  // The canonical spelling, so that paths built below compare equal to listed ones.
  return [...keys].map((k) => pathSegment(keyBytes(k)));
}

/** Offers one path to the candidates: the first that matches takes it. */
function claim(render: Render, path: string, value: ApiLeaf, candidates: Candidate[], objectsOnly = false): void {
  for (const { index, match: m, objects } of candidates) {
    if (objectsOnly && !objects) continue;
    if (m.kind === 'exact') {
      if (m.path !== path) continue;
      addSample(render, index, value, undefined);
      return;
    }
    const found = m.regex.exec(path);
    if (found === null) continue;
    addSample(render, index, value, found);
    return;
  }
}

/** An entry without `path=`: one sample from its request variable (nothing for `$p8s_value`). */
function sampleUnbound(render: Render, i: number): void {
  addSample(render, i, null, undefined);
}

function addSample(render: Render, i: number, leaf: ApiLeaf, captures: RegExpExecArray | undefined): void {
  const e = render.entries[i];
  const value = substitute(render, e.value, leaf, captures);
  // Not a number (a text leaf, an empty variable): no sample, as Angie skips empty values.
  if (!PROM_FLOAT.test(value)) return;
  let name = '';
  for (const p of e.name) name += p.kind === 'text' ? p.text : escapeLabelValue(fromBytes(substitute(render, p, leaf, captures)));
  render.samples[i].add(`${name} ${value}\n`);
}

/** A substitution's bytes: the tree value, a capture of the path regex, or a request variable. */
function substitute(render: Render, s: Source, leaf: ApiLeaf, captures: RegExpExecArray | undefined): string {
  if (s.kind === 'value') return leafText(leaf);
  // A capture is path text: `\x2F` in it is a `/` of a name (label values are names as the API shows them).
  if (s.kind === 'capture') return unescapeSlashes(captures?.[s.index] ?? '');
  const def = s.ref.def;
  const r = render.r;
  if (def === undefined || r === undefined) return '';
  r.moduleCtx.p8sValue = leaf === null ? undefined : leafText(leaf);
  return def.get(r) ?? '';
}
