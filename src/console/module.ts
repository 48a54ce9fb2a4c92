import { apiLocations } from '../http/modules/api';
import { locationOf } from '../http/conf';
import { ConfigError } from '../config/errors';
import type { Directive } from '../config/parser';
import type { Scope } from '../config/registry';
import type { Builder } from '../http/builder';
import type { ContentHandler, LocationConf } from '../http/conf';
import { sendResponse } from '../http/respond';
import { answer, noCacheHeaders } from '../http/answer';
import type { Module } from '../http/module';
import { consoleAssets, consoleHtml } from './assets';

interface ConsoleUse {
  loc: LocationConf;
  /** `api=` as written; undefined: the first whole-tree api location of the same server. */
  api: string | undefined;
  file: string;
  line: number;
}

function parseUse(d: Directive, scope: Scope): ConsoleUse {
  const loc = locationOf(scope);
  if (loc.modifier === '@' || loc.modifier === '~' || loc.modifier === '~*') throw new ConfigError('"console" directive needs a prefix location');
  let api: string | undefined;
  for (const arg of d.args) {
    if (!arg.startsWith('api=')) throw new ConfigError(`invalid parameter "${arg}"`);
    api = arg.slice(4);
    if (!api.startsWith('/')) throw new ConfigError(`invalid "api" value "${api}": a URI path starting with "/" is expected`);
  }
  return { loc, api, file: d.file, line: d.line };
}

/** The URL of the first `api /status/;` prefix location of the console's server: the whole tree. */
function defaultApi(b: Builder, use: ConsoleUse): string {
  const found = apiLocations(b).find(
    (a) => a.loc.server === use.loc.server && a.path.replace(/\/?$/, '/') === '/status/' && !a.loc.modifier.startsWith('~'),
  );
  if (found === undefined) {
    throw new ConfigError('"console" directive found no "api /status/;" location in its server: set api=', use.file, use.line);
  }
  return found.loc.name;
}

/** The throttle zones whose `throttle_api` the console's server serves: zone → location (release buttons). */
function throttleApis(b: Builder, use: ConsoleUse): Record<string, string> {
  const same = b.operatorApis.filter((a) => a.kind === 'throttle' && a.loc.server === use.loc.server);
  return Object.fromEntries(same.map((a) => [a.name, a.loc.name]));
}

function consoleHandler(base: string, api: string, throttles: Record<string, string>): ContentHandler {
  const html = consoleHtml(base, api, throttles);
  const assets = consoleAssets();
  return (r) => {
    if (r.req.method !== 'GET' && r.req.method !== 'HEAD') {
      answer(r, 405, undefined);
      return;
    }
    const rest = r.uri.startsWith(base) ? r.uri.slice(base.length) : '';
    if (rest === '' || rest === 'index.html') {
      sendResponse(r, 200, noCacheHeaders('text/html; charset=utf-8'), html);
      return;
    }
    const asset = assets.get(rest);
    if (asset === undefined) answer(r, 404, undefined);
    else sendResponse(r, 200, { 'content-type': asset.type, 'cache-control': 'no-cache' }, asset.body);
  };
}

/**
 * `console [api=URI];` (location): the built-in live console, a single
 * page reading the status tree from URI once a second (README "Console").
 */
export function consoleModule(b: Builder): Module {
  const uses = (): ConsoleUse[] => b.moduleState('console', () => []);
  return {
    name: 'console',
    directives: [{ name: 'console', contexts: ['location'], args: '0..1', unique: true, set: (d, scope) => void uses().push(parseUse(d, scope)) }],
    postconfiguration() {
      for (const use of uses()) {
        const base = use.loc.name.endsWith('/') ? use.loc.name : `${use.loc.name}/`;
        use.loc.content = consoleHandler(base, use.api ?? defaultApi(b, use), throttleApis(b, use));
      }
    },
  };
}
