import * as fs from 'node:fs';
import type { HttpContext } from '../context';
import { internalRedirect, namedRedirect } from '../redirect';
import { answer } from '../answer';
import { mapPath } from './static-files';
import { staticConf } from './static';

/** Whether a try_files candidate exists: a name ending in `/` must be a directory, any other a file. */
function exists(file: string, wantDir: boolean): boolean {
  try {
    const st = fs.statSync(Buffer.from(wantDir ? file.slice(0, -1) || '/' : file, 'latin1'));
    return wantDir ? st.isDirectory() : !st.isDirectory();
  } catch {
    return false;
  }
}

/**
 * try_files (precontent phase): the first candidate that exists becomes
 * $uri and the location's content handler serves it; otherwise the last
 * argument decides: `=CODE`, `@named`, or an internal redirect to a URI.
 */
export function tryFiles(r: HttpContext): boolean {
  const list = staticConf(r)?.tryFiles;
  if (list === undefined) return false;
  const last = list.length - 1;
  for (let i = 0; i < last; i++) {
    const name = list[i].eval(r);
    if (name === '' || !exists(mapPath(r, name.startsWith('/') ? name : `/${name}`), name.endsWith('/'))) continue;
    const uri = name.startsWith('/') ? name : `/${name}`;
    // A directory match drops its `/` (nginx): the static handler then redirects to add it back.
    r.uri = uri.endsWith('/') && uri.length > 1 ? uri.slice(0, -1) : uri;
    return false;
  }
  const fallback = list[last].eval(r);
  const code = /^=(\d{3})$/.exec(fallback);
  if (code !== null) {
    answer(r, Number(code[1]), undefined);
    return true;
  }
  if (fallback.startsWith('@')) {
    const loc = r.server.named.get(fallback);
    if (loc === undefined) answer(r, 404, undefined);
    else namedRedirect(r, loc);
    return true;
  }
  const q = fallback.indexOf('?');
  internalRedirect(r, q < 0 ? fallback : fallback.slice(0, q), q < 0 ? '' : fallback.slice(q + 1));
  return true;
}
