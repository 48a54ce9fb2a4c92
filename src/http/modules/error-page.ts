import { ConfigError } from '../../config/errors';
import type { Directive } from '../../config/parser';
import type { Scope } from '../../config/registry';
import type { Module } from '../module';
import type { Builder } from '../builder';
import type { HttpContext, OutHeaders } from '../context';
import { logRequest } from '../error-log';
import { internalRedirect, namedRedirect } from '../redirect';
import { answer } from './rewrite';
import { ComplexValue } from '../variables';

/** One `error_page CODE... [=[RESPONSE]] TARGET`. */
interface ErrorPage {
  codes: Set<number>;
  /** `=CODE`: that status; `=`: the redirected response's own; undefined: the original error's. */
  overwrite: number | 'response' | undefined;
  target: ComplexValue;
}

interface ErrorPageConf {
  pages?: ErrorPage[];
  recursive?: boolean;
  /** proxy_intercept_errors: upstream answers >= 300 with an error_page go through it. */
  intercept?: boolean;
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

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
  return scope.conf<ErrorPageConf>('error_page', () => ({}));
}

function onOff(d: Directive): boolean {
  const v = d.args[0];
  if (v !== 'on' && v !== 'off') throw new ConfigError(`invalid value "${v}" in "${d.name}" directive, it must be "on" or "off"`);
  return v === 'on';
}

function pageFor(r: HttpContext, status: number): ErrorPage | undefined {
  const conf = r.loc?.conf.error_page as ErrorPageConf | undefined;
  if (conf?.pages === undefined || r.moduleCtx.errorPageDone === true) return undefined;
  return conf.pages.find((p) => p.codes.has(status));
}

/** Whether an upstream answer with this status is to be replaced by an error page (proxy_intercept_errors). */
export function interceptsUpstream(r: HttpContext, status: number): boolean {
  return status >= 300 && (r.loc.conf.error_page as ErrorPageConf | undefined)?.intercept === true && pageFor(r, status) !== undefined;
}

/**
 * Answers an error through the location's error_page, if one covers it:
 * a URL is a redirect, `@name` a named location, a path an internal
 * redirect (as GET, unless HEAD). Returns false when none applies.
 */
export function tryErrorPage(r: HttpContext, status: number): boolean {
  if (r.headerSent) return false;
  // A generated error answers with its own code, whatever an earlier error page set (nginx's err_status).
  r.moduleCtx.errStatus = undefined;
  const page = pageFor(r, status);
  if (page === undefined) return false;
  // As nginx: the location that takes the first error page decides whether a later error may take another.
  r.moduleCtx.errorPageDone = (r.loc.conf.error_page as ErrorPageConf).recursive !== true;
  const target = page.target.eval(r);
  if (!target.startsWith('/') && !target.startsWith('@')) {
    const code = typeof page.overwrite === 'number' && REDIRECT_CODES.has(page.overwrite) ? page.overwrite : 302;
    answer(r, code, target);
    return true;
  }
  r.moduleCtx.errStatus = page.overwrite === 'response' ? undefined : (page.overwrite ?? status);
  if (r.req.method !== 'HEAD') r.req.method = 'GET';
  if (target.startsWith('@')) {
    const loc = r.server.named.get(target);
    if (loc === undefined) {
      logRequest(r, 'error', `could not find named location "${target}"`);
      answer(r, 500, undefined);
    } else namedRedirect(r, loc);
    return true;
  }
  const q = target.indexOf('?');
  internalRedirect(r, q < 0 ? target : target.slice(0, q), q < 0 ? '' : target.slice(q + 1));
  return true;
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
