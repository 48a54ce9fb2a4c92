import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import type { Scope } from '../config/registry';
import type { Module } from '../module';
import type { Builder } from './builder';
import type { HttpContext } from './context';
import { reasonPhrase, sendResponse } from './respond';
import { ComplexValue, VariableDef } from './variables';

/** One compiled rewrite-phase step; returns true when it answered the request. */
type Step = (r: HttpContext) => boolean;

interface RewriteConf {
  steps: Step[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** nginx's built-in error page body, so clients see what they would from nginx. */
export function errorPage(status: number): string {
  const title = `${status} ${reasonPhrase(status)}`.trim();
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>metricproxy</center>\r\n</body>\r\n</html>\r\n`;
}

/** Answers with a status and either text, a Location (redirects), or nginx's error page. */
export function answer(r: HttpContext, status: number, text: string | undefined): void {
  const headers: Record<string, string> = {};
  if (REDIRECTS.has(status) && text !== undefined) {
    headers.location = text;
    sendResponse(r, status, { ...headers, 'content-type': 'text/html' }, errorPage(status));
    return;
  }
  if (text !== undefined) {
    sendResponse(r, status, { 'content-type': 'text/plain' }, text);
    return;
  }
  if (status >= 400 || (status >= 300 && status < 400)) {
    sendResponse(r, status, { 'content-type': 'text/html' }, errorPage(status));
    return;
  }
  sendResponse(r, status, {}, '');
}

function compileReturn(d: Directive, b: Builder): Step {
  const [first, second] = d.args;
  let status: number;
  let text: ComplexValue | undefined;
  if (/^\d+$/.test(first)) {
    status = Number(first);
    if (status > 999) throw new ConfigError(`invalid return code "${first}"`);
    if (second !== undefined) text = ComplexValue.compile(second, b.variables, d.file, d.line);
  } else if (d.args.length === 1 && /^(https?:\/\/|\$scheme)/.test(first)) {
    status = 302;
    text = ComplexValue.compile(first, b.variables, d.file, d.line);
  } else {
    throw new ConfigError(`invalid return code "${first}"`);
  }
  return (r) => {
    if (status === 444) {
      r.status = 444;
      r.res.destroy();
      return true;
    }
    answer(r, status, text?.eval(r));
    return true;
  };
}

function compileSet(d: Directive, b: Builder): Step {
  const name = d.args[0];
  if (!name.startsWith('$') || name.length < 2) throw new ConfigError(`invalid variable name "${name}"`);
  const varName = name.slice(1);
  let def: VariableDef | undefined = b.variables.lookup(varName);
  if (def === undefined) def = b.variables.declareUser(varName);
  const setter = def.set;
  if (setter === undefined) throw new ConfigError(`the "${varName}" variable cannot be changed`);
  const value = ComplexValue.compile(d.args[1], b.variables, d.file, d.line);
  return (r) => {
    setter(r, value.eval(r));
    return false;
  };
}

function addStep(scope: Scope, step: Step): void {
  scope.conf<RewriteConf>('rewrite', () => ({ steps: [] })).steps.push(step);
}

/**
 * `set` and `return`, run in file order in the rewrite phase: server-level
 * steps before the location is chosen, then the location's own.
 */
export function rewriteModule(b: Builder): Module {
  const runSteps = (conf: RewriteConf | undefined, r: HttpContext): boolean => {
    if (conf === undefined) return false;
    for (const step of conf.steps) if (step(r)) return true;
    return false;
  };
  return {
    name: 'rewrite',
    directives: [
      { name: 'set', contexts: ['server', 'location'], args: '2', set: (d, scope) => addStep(scope, compileSet(d, b)) },
      { name: 'return', contexts: ['server', 'location'], args: '1..2', set: (d, scope) => addStep(scope, compileReturn(d, b)) },
    ],
    // Rewrite steps are not inherited: each level runs its own (as nginx's rewrite module).
    merge: (_parent, child) => child,
    postconfiguration(bb) {
      bb.phases.serverRewrite.push((r) => runSteps(r.server.root.conf.rewrite as RewriteConf | undefined, r));
      bb.phases.rewrite.push((r) => (r.loc === r.server.root ? false : runSteps(r.loc.conf.rewrite as RewriteConf | undefined, r)));
    },
  };
}
