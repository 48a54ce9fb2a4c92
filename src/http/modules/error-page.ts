import { ConfigError } from '../../config/errors';
import type { Directive } from '../../config/parser';
import type { Scope } from '../../config/registry';
import type { Module } from '../module';
import type { Builder } from '../builder';
import type { HttpContext, OutHeaders } from '../context';
import { ERROR_PAGE, type ErrorPage, type ErrorPageConf } from '../conf';
import { ComplexValue } from '../variables';

function parseCode(text: string): number {
  const code = Number(text);
  if (!/^\d+$/.test(text)) throw new ConfigError(`invalid value "${text}"`);
  if (code < 300 || code > 599) throw new ConfigError(`value "${text}" must be between 300 and 599`);
  return code;
}

function compileErrorPage(d: Directive, b: Builder): ErrorPage {
  const args = [...d.args];
  const target = ComplexValue.compile(args.pop()!, b.variables, d.file, d.line);
  let overwrite: ErrorPage['overwrite'];
  const last = args[args.length - 1];
  if (last.startsWith('=')) {
    args.pop();
    if (last === '=') overwrite = 'response';
    else if (/^=\d+$/.test(last)) overwrite = Number(last.slice(1));
    else throw new ConfigError(`invalid value "${last}"`);
  }
  if (args.length === 0) throw new ConfigError('invalid number of arguments in "error_page" directive');
  return { codes: new Set(args.map(parseCode)), overwrite, target };
}

function confOf(scope: Scope): ErrorPageConf {
  return ERROR_PAGE.at(scope, () => ({}));
}

function onOff(d: Directive): boolean {
  const v = d.args[0];
  if (v !== 'on' && v !== 'off') throw new ConfigError(`invalid value "${v}" in "${d.name}" directive, it must be "on" or "off"`);
  return v === 'on';
}

/** The status an error page answers with (nginx's err_status), set before the header filters run. */
function applyErrStatus(r: HttpContext, _headers: OutHeaders): void {
  const s = r.moduleCtx.errStatus as number | undefined;
  if (s !== undefined) r.status = s;
}

/** `error_page`, `recursive_error_pages`, `proxy_intercept_errors` (http, server, location). */
export function errorPageModule(b: Builder): Module {
  const levels = ['http', 'server', 'location'] as const;
  return {
    name: 'error_page',
    directives: [
      { name: 'error_page', contexts: levels, args: '2+', set: (d, scope) => void (confOf(scope).pages ??= []).push(compileErrorPage(d, b)) },
      { name: 'recursive_error_pages', contexts: levels, args: '1', unique: true, set: (d, scope) => void (confOf(scope).recursive = onOff(d)) },
      { name: 'proxy_intercept_errors', contexts: levels, args: '1', unique: true, set: (d, scope) => void (confOf(scope).intercept = onOff(d)) },
    ],
    // A level with any error_page of its own replaces the inherited list (nginx).
    merge: (parent, child): ErrorPageConf => {
      const p = (parent as ErrorPageConf | undefined) ?? {};
      const c = (child as ErrorPageConf | undefined) ?? {};
      return { pages: c.pages ?? p.pages, recursive: c.recursive ?? p.recursive, intercept: c.intercept ?? p.intercept };
    },
    postconfiguration(bb) {
      bb.phases.header.unshift(applyErrStatus);
    },
  };
}
