import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import { compileRegex } from '../config/regex';
import { VariableDef, VariableRegistry } from '../http/variables';
import { toBytes } from '../config/bytes';
import { regexLiteralPrefix } from './prefix';

/** A request variable referenced by a template, bound when the config is fully read. */
export interface VariableRef {
  def?: VariableDef;
}

/** Where a substituted value comes from: `$p8s_value` (the tree value), `$1`..`$9`, or a request variable. */
export type Source = { kind: 'value' } | { kind: 'capture'; index: number } | { kind: 'variable'; ref: VariableRef };

/** The metric text is literal Unicode text from the config, or a value substituted into a label. */
export type NamePart = { kind: 'text'; text: string } | Source;

/**
 * Which status-tree paths an entry claims: one exact path, or every path a
 * regex matches. `prefix` is what all claimed paths start with (byte string).
 */
export type PathMatch = { kind: 'exact'; path: string; prefix: string } | { kind: 'regex'; regex: RegExp; prefix: string };

export const METRIC_TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

export interface TemplateEntry {
  /** The metric name before `{`: `# HELP` and `# TYPE` are written once per family. */
  family: string;
  name: NamePart[];
  value: Exclude<Source, { kind: 'capture' }>;
  /** Undefined: not bound to the tree; sampled once from its request variable. */
  match: PathMatch | undefined;
  type?: string;
  help?: string;
}

export interface Template {
  name: string;
  entries: TemplateEntry[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** `{name="value",...}` with the text format's escapes allowed inside values. */
const LABELS = /^\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*,?)?\}$/;

/** Reads the raw block of `prometheus_template NAME { ... }`; errors name the entry's line. */
export function parseTemplate(name: string, block: readonly Directive[], vars: VariableRegistry): Template {
  return { name, entries: block.map((e) => parseEntryAt(e, vars)) };
}

function parseEntryAt(e: Directive, vars: VariableRegistry): TemplateEntry {
  try {
    return parseEntry(e, vars);
  } catch (err) {
    if (err instanceof ConfigError) throw err.at(e.file, e.line);
    throw err;
  }
}

function parseEntry(e: Directive, vars: VariableRegistry): TemplateEntry {
  if (e.block !== undefined) throw new ConfigError('unexpected "{"');
  if (e.args.length < 1) throw new ConfigError('invalid number of metric parameters');
  const entry: TemplateEntry = {
    family: metricFamily(e.name),
    name: compileName(e.name, e, vars),
    value: compileValue(e.args[0], e, vars),
    match: undefined,
  };
  for (const param of e.args.slice(1)) applyParam(entry, param);
  return entry;
}

/** The name before `{`, checked against the text format's metric-name grammar. */
function metricFamily(text: string): string {
  const brace = text.indexOf('{');
  const family = brace < 0 ? text : text.slice(0, brace);
  if (family.includes('$')) throw new ConfigError(`invalid metric name: "${family}" - only labels can contain variables`);
  if (!METRIC_NAME.test(family)) throw new ConfigError(`invalid metric name "${family}"`);
  if (brace >= 0 && !LABELS.test(text.slice(brace))) throw new ConfigError(`invalid metric labels in "${text}"`);
  return family;
}

function compileValue(arg: string, e: Directive, vars: VariableRegistry): TemplateEntry['value'] {
  if (!arg.startsWith('$')) throw new ConfigError(`metric value "${arg}" isn't a variable`);
  const source = variableSource(arg.slice(1), e, vars);
  if (source.kind === 'capture') throw new ConfigError(`metric value "${arg}" isn't a variable`);
  return source;
}

function variableSource(name: string, e: Directive, vars: VariableRegistry): Source {
  if (name === 'p8s_value') return { kind: 'value' };
  if (/^[1-9]$/.test(name)) return { kind: 'capture', index: Number(name) };
  const ref: VariableRef = {};
  vars.require(name, e.file, e.line, (def) => (ref.def = def));
  return { kind: 'variable', ref };
}

/** Splits the metric text into literal text and `$name` / `${name}` / `$1` substitutions. */
function compileName(text: string, e: Directive, vars: VariableRegistry): NamePart[] {
  const parts: NamePart[] = [];
  const re = /\$(?:\{([A-Za-z0-9_]+)\}|([1-9])|([A-Za-z0-9_]+))/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) parts.push({ kind: 'text', text: text.slice(last, m.index) });
    parts.push(variableSource(m[1] ?? m[2] ?? m[3], e, vars));
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

function applyParam(entry: TemplateEntry, param: string): void {
  if (param.startsWith('path=')) {
    entry.match = compileMatch(param.slice(5));
  } else if (param.startsWith('type=')) {
    const type = param.slice(5);
    if (type === '') throw new ConfigError('empty metric type');
    if (!METRIC_TYPES.includes(type)) throw new ConfigError(`invalid metric type "${type}"`);
    entry.type = type;
  } else if (param.startsWith('help=')) {
    if (param.length === 5) throw new ConfigError('empty metric help');
    entry.help = param.slice(5);
  } else {
    throw new ConfigError(`invalid metric parameter "${param}"`);
  }
}

function compileMatch(spec: string): PathMatch {
  if (spec === '') throw new ConfigError('empty metric matching path');
  if (!spec.startsWith('~')) {
    const path = toBytes(spec);
    return { kind: 'exact', path, prefix: path };
  }
  const source = spec.slice(1);
  if (source === '') throw new ConfigError('empty regex in metric matching path');
  return { kind: 'regex', regex: compileRegex(source, false), prefix: toBytes(regexLiteralPrefix(source)) };
}
