import { ConfigError } from '../../config/errors';
import type { Directive } from '../../config/parser';
import type { Scope } from '../../config/registry';
import type { Builder } from '../builder';
import { noCacheHeaders } from '../answer';
import { ContentHandler, LocationConf, locationOf } from '../conf';
import type { HttpContext } from '../context';
import { sendResponse } from '../respond';
import { splitTarget } from '../uri';
import { ComplexValue, VariableDef } from '../variables';
import type { Module } from '../module';
import { ApiAnswer, answerApi, apiTop } from '../../api/answer';
import type { Sliced } from '../../api/slices';
import { ApiNode, ReadCtx, readInSlices } from '../../api/tree';
import { ApiTarget, apiTarget, rawRestAfter, UriRest } from '../../api/walk';
import { answerDelete, parseWrite } from '../../api/write';

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
  /** `write=on`: DELETE resets (api/write.ts). */
  write: boolean;
}

/** A request path as one error log line: quotes, backslashes and bytes outside printable ASCII as `\xNN`. */
function logSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A DELETE (with write=on) resets at once; anything else is read in slices. */
function* answerRequest(a: ApiLocation, r: HttpContext, target: ApiTarget, pretty: boolean, ctx: ReadCtx, slice: Parameters<typeof answerApi>[5]): Sliced<ApiAnswer> {
  const method = r.req.method ?? 'GET';
  if (method !== 'DELETE' || !a.write) return yield* answerApi(a.top, method, target, ctx, pretty, slice);
  const answer = answerDelete(a.top, target, ctx, pretty);
  if (answer.reset !== undefined) {
    r.runtime.errorLog.log('notice', `api: "${logSafe(answer.reset)}" reset by client ${r.req.socket.remoteAddress ?? '-'}`);
  }
  return answer;
}

function apiHandler(a: ApiLocation): ContentHandler {
  return async (r) => {
    // Regex locations have no prefix to cut from the URI: PATH alone is addressed.
    const rest = a.loc.regex === undefined ? uriRest(r, a.loc) : undefined;
    const target = apiTarget(a.prefix.eval(r), rest);
    const pretty = a.prettyArg?.get(r) !== 'off';
    // In slices: the JSON of a large zone must not stall the worker's proxied requests.
    const answer = await readInSlices(r, (ctx, slice) => answerRequest(a, r, target, pretty, ctx, slice));
    if (answer === undefined) return;
    if (answer.status === 204) {
      sendResponse(r, 204, {}, Buffer.alloc(0));
      return;
    }
    const headers = answer.status === 200 ? noCacheHeaders('application/json') : { 'content-type': 'application/json' };
    sendResponse(r, answer.status, headers, Buffer.concat(answer.body));
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
    write: parseWrite(d.args[1]),
  };
  b.variables.require('arg_pretty', d.file, d.line, (def) => (a.prettyArg = def));
  loc.content = apiHandler(a);
  apiLocations(b).push({ loc, path: d.args[0] });
}

/** Every `api PATH;` location of the load, in config order (the console finds its default here). */
export function apiLocations(b: Builder): Array<{ loc: LocationConf; path: string }> {
  return b.moduleState('api', () => []);
}

/** `api PATH [write=on|off];` — serves the status tree from PATH as JSON (api.md); write=on allows DELETE. */
export function apiModule(b: Builder): Module {
  return {
    name: 'api',
    directives: [{ name: 'api', contexts: ['location'], args: '1..2', unique: true, set: (d, scope) => setApi(b, d, scope) }],
  };
}
