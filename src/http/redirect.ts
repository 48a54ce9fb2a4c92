import type { LocationConf } from './conf';
import type { HttpContext } from './context';
import { logRequest } from './error-log';
import { runFromFindLocation, runFromRewrite, runFromServerRewrite } from './pipeline';
import { answer } from './answer';

/** nginx's NGX_HTTP_MAX_URI_CHANGES: ten URI changes, the eleventh is a 500. */
const MAX_URI_CHANGES = 10;

/**
 * Counts one URI change (a rewrite that changed it, an internal redirect).
 * Past nginx's limit answers 500 with nginx's error-log line and returns false.
 */
function countUriChange(r: HttpContext, what: string): boolean {
  const left = ((r.moduleCtx.uriChangesLeft as number | undefined) ?? MAX_URI_CHANGES + 1) - 1;
  r.moduleCtx.uriChangesLeft = left;
  if (left > 0) return true;
  logRequest(r, 'error', `rewrite or internal redirection cycle ${what} "${r.uri}"`);
  answer(r, 500, undefined);
  return false;
}

/** A location's rewrite changed the URI: search the locations again (nginx's post-rewrite phase). */
export function researchLocation(r: HttpContext): void {
  if (countUriChange(r, 'while processing')) runFromFindLocation(r);
}

/** An internal redirect to a URI (error_page, try_files, index): back to the server's rewrite phase. */
export function internalRedirect(r: HttpContext, uri: string, args: string): void {
  r.uri = uri;
  r.args = args;
  if (countUriChange(r, 'while internally redirecting to')) runFromServerRewrite(r);
}

/** A jump to a named location (`@name`): its rewrite phase and on, the URI unchanged. */
export function namedRedirect(r: HttpContext, loc: LocationConf): void {
  if (!countUriChange(r, 'while redirect to named location')) return;
  r.loc = loc;
  runFromRewrite(r);
}

