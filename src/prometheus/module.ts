import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import type { Scope } from '../config/registry';
import { locationOf } from '../http/conf';
import { ApiNode, readInSlices } from '../api/tree';
import type { Builder } from '../http/builder';
import type { ContentHandler, LocationConf } from '../http/conf';
import { sendResponse } from '../http/respond';
import { answer, noCacheHeaders } from '../http/answer';
import type { Module } from '../http/module';
import { renderTemplateSliced } from './render';
import { parseTemplate, Template } from './template';

/** What Angie's prometheus handler sends (no exposition-format version). */
const CONTENT_TYPE = 'text/plain';

/** Load-wide state: templates by name, and `prometheus NAME;` uses resolved once all templates are read. */
interface PrometheusState {
  templates: Map<string, Template>;
  uses: Array<{ loc: LocationConf; name: string; file: string; line: number }>;
}

function prometheusHandler(tpl: Template, status: ApiNode): ContentHandler {
  return async (r) => {
    const method = r.req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      answer(r, 405, undefined);
      return;
    }
    // In slices: a scrape of a large zone must not stall the worker's proxied requests.
    const pieces = await readInSlices(r, (ctx, slice) => renderTemplateSliced(tpl, status, ctx, r, slice));
    if (pieces !== undefined) sendResponse(r, 200, noCacheHeaders(CONTENT_TYPE), Buffer.concat(pieces));
  };
}

function defineTemplate(b: Builder, state: PrometheusState, d: Directive): void {
  const name = d.args[0];
  if (state.templates.has(name)) throw new ConfigError(`duplicate Prometheus template "${name}"`);
  state.templates.set(name, parseTemplate(name, d.block ?? [], b.variables));
}

function useTemplate(state: PrometheusState, d: Directive, scope: Scope): void {
  state.uses.push({ loc: locationOf(scope), name: d.args[0], file: d.file, line: d.line });
}

/**
 * `prometheus_template NAME { ... }` (http) and `prometheus NAME;`
 * (location): the status tree in the Prometheus text format (api.md).
 * A location may name a template defined further down the http block.
 */
export function prometheusModule(b: Builder): Module {
  const state = (): PrometheusState => b.moduleState('prometheus', () => ({ templates: new Map(), uses: [] }));
  return {
    name: 'prometheus',
    directives: [
      { name: 'prometheus_template', contexts: ['http'], args: '1', block: 'raw', set: (d) => defineTemplate(b, state(), d) },
      { name: 'prometheus', contexts: ['location'], args: '1', unique: true, set: (d, scope) => useTemplate(state(), d, scope) },
    ],
    preconfiguration() {
      // Angie defines `$p8s_value` as a variable: the tree value being rendered (a `map` over it
      // turns a peer's text `state` into a number); outside a template it is never found.
      b.variables.define('p8s_value', (r) => r.moduleCtx.p8sValue as string | undefined);
    },
    postconfiguration() {
      const s = state();
      for (const use of s.uses) {
        const tpl = s.templates.get(use.name);
        if (tpl === undefined) throw new ConfigError(`unknown Prometheus template "${use.name}"`, use.file, use.line);
        use.loc.content = prometheusHandler(tpl, b.api.root);
      }
    },
  };
}
