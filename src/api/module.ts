import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import type { Scope } from '../config/registry';
import type { Builder } from '../http/builder';
import { ContentHandler, LocationConf } from '../http/conf';
import type { HttpContext, OutHeaders } from '../http/context';
import { sendResponse } from '../http/respond';
import { splitTarget } from '../http/uri';
import { ComplexValue, VariableDef } from '../http/variables';
import type { Module } from '../module';
import { answerApi, apiTop } from './answer';
import { ApiNode, withReadCtx } from './tree';
import { apiTarget, rawRestAfter, UriRest } from './walk';

/** Headers Angie puts on every successful status answer (JSON and Prometheus), so nothing caches a snapshot. */
export function noCacheHeaders(contentType: string): OutHeaders {
  return { 'content-type': contentType, expires: 'Thu, 01 Jan 1970 00:00:01 GMT', 'cache-control': 'no-cache' };
}

/** The location a location-context directive stands in. */
export function locationOf(scope: Scope): LocationConf {
  if (!(scope.owner instanceof LocationConf)) throw new Error('location scope without its LocationConf');
  return scope.owner;
}

/** Angie's placement rules: the URI rest is joined to PATH, which needs a prefix ending in `/`. */
function checkApiLocation(loc: LocationConf): void {
  if (loc.modifier === '@') throw new ConfigError('"api" directive cannot be used inside named or combined locations');
  if ((loc.modifier === '' || loc.modifier === '^~') && !loc.name.endsWith('/')) {
    throw new ConfigError('"api" directive cannot be used inside prefix location without slash at the end');
  }
}

/**
 * The request URI after the location prefix. Taken from the raw request
 * target when it lines up with $uri, so that a `%2F` inside a key stays
 * inside its segment; from $uri otherwise (rewritten URI: all of it).
 */
function uriRest(r: HttpContext, loc: LocationConf): UriRest {
  const skip = r.uri.startsWith(loc.name) ? loc.name.length : 0;
  const rawPath = splitTarget(r.req.url ?? '/').path;
  return { raw: rawRestAfter(rawPath, r.uri, skip), decoded: r.uri.slice(skip) };
}

interface ApiLocation {
  loc: LocationConf;
  prefix: ComplexValue;
  top: ApiNode;
  /** `$arg_pretty`: `?pretty=off` asks for compact JSON, as in Angie. */
  prettyArg: VariableDef | undefined;
}

function apiHandler(a: ApiLocation): ContentHandler {
  return (r) => {
    // Regex locations have no prefix to cut from the URI: PATH alone is addressed.
    const rest = a.loc.regex === undefined ? uriRest(r, a.loc) : undefined;
    const target = apiTarget(a.prefix.eval(r), rest);
    const pretty = a.prettyArg?.get(r) !== 'off';
    const answer = withReadCtx((ctx) => answerApi(a.top, r.req.method ?? 'GET', target, ctx, pretty), r);
    const headers = answer.status === 200 ? noCacheHeaders('application/json') : { 'content-type': 'application/json' };
    sendResponse(r, answer.status, headers, Buffer.from(answer.body, 'utf8'));
  };
}

function setApi(b: Builder, d: Directive, scope: Scope): void {
  const loc = locationOf(scope);
  checkApiLocation(loc);
  const a: ApiLocation = {
    loc,
    prefix: ComplexValue.compile(d.args[0], b.variables, d.file, d.line),
    top: apiTop(b.api.root),
    prettyArg: undefined,
  };
  b.variables.require('arg_pretty', d.file, d.line, (def) => (a.prettyArg = def));
  loc.content = apiHandler(a);
  apiLocations(b).push({ loc, path: d.args[0] });
}

/** Every `api PATH;` location of the load, in config order (the console finds its default here). */
export function apiLocations(b: Builder): Array<{ loc: LocationConf; path: string }> {
  return b.moduleState('api', () => []);
}

/** `api PATH;` — serves the status tree from PATH as JSON (api.md). */
export function apiModule(b: Builder): Module {
  return {
    name: 'api',
    directives: [{ name: 'api', contexts: ['location'], args: '1', unique: true, set: (d, scope) => setApi(b, d, scope) }],
  };
}
