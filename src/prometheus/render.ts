import { formatNumber } from '../api/json';
import { ApiLeaf, ApiNode, ApiObjectNode, isObjectNode, ReadCtx } from '../api/tree';
import type { HttpContext } from '../http/context';
import { fromBytes } from '../http/variables';
import type { PathMatch, Source, Template, TemplateEntry } from './template';

/** A value as the text format spells it: `+Inf`, `-Inf` and `NaN` for the non-finite. */
function formatSampleNumber(x: number): string {
  if (Number.isFinite(x)) return formatNumber(x);
  if (Number.isNaN(x)) return 'NaN';
  return x > 0 ? '+Inf' : '-Inf';
}

/** The text format's float grammar: a sample whose value is not a number would break the whole scrape. */
const PROM_FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

/** Escapes a label value (and the header's template name) per the text format. */
function escapeLabelValue(text: string): string {
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
}

/** One template rendering: the read context, the request (for request variables), samples per entry. */
interface Render {
  entries: readonly TemplateEntry[];
  ctx: ReadCtx;
  r: HttpContext | undefined;
  samples: string[][];
}

/**
 * Renders a template over the status tree (`status` is the `/status` node;
 * template paths are written without that prefix). Every leaf, and every
 * object as `PATH/` with its number of children, is offered to the entries
 * in template order and claimed by the first that matches. Output is grouped
 * by entry, samples in tree order. Returns Unicode text; send it as UTF-8.
 */
export function renderTemplate(tpl: Template, status: ApiNode, ctx: ReadCtx, r?: HttpContext): string {
  const render: Render = { entries: tpl.entries, ctx, r, samples: tpl.entries.map(() => []) };
  const bound: Candidate[] = [];
  tpl.entries.forEach((e, index) => (e.match === undefined ? sampleUnbound(render, index) : bound.push({ index, match: e.match })));
  if (bound.length > 0) visit(render, status, '', bound);
  return assemble(tpl, render.samples);
}

function assemble(tpl: Template, samples: string[][]): string {
  const lines = [`# Angie Prometheus template "${escapeLabelValue(tpl.name)}"`];
  const helped = new Set<string>();
  const typed = new Set<string>();
  tpl.entries.forEach((e, i) => {
    if (samples[i].length === 0) return;
    if (e.help !== undefined && !helped.has(e.family)) {
      helped.add(e.family);
      lines.push(`# HELP ${e.family} ${escapeHelp(e.help)}`);
    }
    if (e.type !== undefined && !typed.has(e.family)) {
      typed.add(e.family);
      lines.push(`# TYPE ${e.family} ${e.type}`);
    }
    lines.push(...samples[i]);
  });
  return lines.join('\n') + '\n';
}

/** `node` sits at `path`; `candidates` are the entries (in template order) that may claim in its subtree. */
function visit(render: Render, node: ApiNode, path: string, candidates: Candidate[]): void {
  if (!isObjectNode(node)) {
    claim(render, path, node, candidates);
    return;
  }
  const pinned = pinnedChildren(path, candidates);
  if (pinned !== undefined) {
    for (const key of pinned) visitChild(render, node, path, key, candidates);
    return;
  }
  let count = 0;
  for (const key of node.keys(render.ctx)) {
    count++;
    visitChild(render, node, path, key, candidates);
  }
  claim(render, path + '/', count, candidates);
}

function visitChild(render: Render, node: ApiObjectNode, path: string, key: string, candidates: Candidate[]): void {
  const childPath = path + '/' + key;
  const sub = candidates.filter((c) => mayClaimUnder(c.match, childPath));
  if (sub.length === 0) return;
  const child = node.get(key, render.ctx);
  if (child !== undefined) visit(render, child, childPath, sub);
}

/** Whether some path in the subtree at `childPath` (itself, `childPath/...`) can be claimed by `m`. */
function mayClaimUnder(m: PathMatch, childPath: string): boolean {
  if (m.kind === 'exact') return m.path === childPath || m.path.startsWith(childPath + '/');
  return childPath.startsWith(m.prefix) || m.prefix.startsWith(childPath + '/');
}

/**
 * When every candidate's literal prefix names the next segment below
 * `path` outright, the children to visit: read by name, without listing
 * the object (a zone of 100,000 keys is not enumerated to find one).
 * Undefined when some candidate needs the listing (or the child count).
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
  return [...keys];
}

/** Offers one path to the candidates: the first that matches takes it. */
function claim(render: Render, path: string, value: ApiLeaf, candidates: Candidate[]): void {
  for (const { index, match: m } of candidates) {
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
  render.samples[i].push(`${name} ${value}`);
}

/** A substitution's bytes: the tree value, a capture of the path regex, or a request variable. */
function substitute(render: Render, s: Source, leaf: ApiLeaf, captures: RegExpExecArray | undefined): string {
  if (s.kind === 'value') return leafText(leaf);
  if (s.kind === 'capture') return captures?.[s.index] ?? '';
  const def = s.ref.def;
  const r = render.r;
  if (def === undefined || r === undefined) return '';
  r.moduleCtx.p8sValue = leaf === null ? undefined : leafText(leaf);
  return def.get(r) ?? '';
}
