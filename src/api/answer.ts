import { renderJson, renderJsonSliced } from './json';
import type { Slice, Sliced } from './slices';
import { ApiNode, fromValue, ReadCtx, StaticObject } from './tree';
import { ApiTarget, resolvePath } from './walk';

/**
 * The top of the API namespace: `/` holds `status`, so that `api /status/;`
 * and `api /;` address the same tree Angie's do.
 */
export function apiTop(status: ApiNode): StaticObject {
  return new StaticObject().set('status', status);
}

export interface ApiAnswer {
  status: number;
  /** JSON text, UTF-8, in pieces. */
  body: Buffer[];
}

/** What the `api` handler answers for one request, independent of HTTP plumbing; sliced (run it with runSliced). */
export function* answerApi(top: ApiNode, method: string, target: ApiTarget, ctx: ReadCtx, pretty: boolean, slice: Slice): Sliced<ApiAnswer> {
  if (method !== 'GET' && method !== 'HEAD') {
    const description = `The ${method} method is not allowed for the requested API entity "${target.display}".`;
    return apiError(405, 'MethodNotAllowed', description, ctx, pretty);
  }
  const node = resolvePath(top, target.segments, ctx);
  if (node === undefined) {
    return apiError(404, 'PathNotFound', `Requested API entity "${target.display}" doesn't exist.`, ctx, pretty);
  }
  return { status: 200, body: yield* renderJsonSliced(node, ctx, pretty, slice) };
}

export function apiError(status: number, error: string, description: string, ctx: ReadCtx, pretty: boolean): ApiAnswer {
  // Rendered like any node, so the path (request bytes) inside the description is made valid text.
  return { status, body: [Buffer.from(renderJson(fromValue({ error, description }), ctx, pretty), 'utf8')] };
}
