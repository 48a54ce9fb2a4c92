import { parseText } from '../../../src/config/parser';
import { VariableRegistry } from '../../../src/http/variables';
import { runNow, UNSLICED } from '../../../src/api/slices';
import type { ApiNode, ReadCtx } from '../../../src/api/tree';
import type { HttpContext } from '../../../src/http/context';
import { renderTemplateSliced } from '../../../src/prometheus/render';
import { parseTemplate, Template } from '../../../src/prometheus/template';

/** `prometheus_template NAME { BODY }` read from inline config text. */
export function templateOf(name: string, body: string, vars = new VariableRegistry()): Template {
  const [d] = parseText(`prometheus_template ${name} {\n${body}\n}`, 'test.conf', { baseDir: '/' });
  return parseTemplate(d.args[0], d.block ?? [], vars);
}

interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; count?: string; sum?: string }>;
}

/** The independent text-format parser (devDependency, untyped), to prove an exposition is valid. */
export const parseExposition = require('parse-prometheus-text-format') as (text: string) => ParsedFamily[];

/** A template rendered in one go, as text (the server renders it in slices). */
export function renderTemplate(tpl: Template, status: ApiNode, ctx: ReadCtx, r?: HttpContext): string {
  return Buffer.concat(runNow(renderTemplateSliced(tpl, status, ctx, r, UNSLICED))).toString('utf8');
}
