/**
 * `api PATH write=on;`: DELETE resets what a node lets its children reset
 * (NGINX Plus's convention). Without write=on, DELETE is refused with 405
 * like every other method but GET and HEAD.
 */
import { ConfigError } from '../config/errors';
import { apiError, ApiAnswer } from './answer';
import { ApiNode, isObjectNode, ReadCtx } from './tree';
import { ApiTarget, resolvePath } from './walk';

/** The `write=on|off` parameter of `api`; off when absent. */
export function parseWrite(arg: string | undefined): boolean {
  if (arg === undefined || arg === 'write=off') return false;
  if (arg === 'write=on') return true;
  throw new ConfigError(`invalid parameter "${arg}"`);
}

/** What a DELETE did, for the error log: undefined when nothing was reset. */
export interface DeleteAnswer extends ApiAnswer {
  reset?: string;
}

/** DELETE of the node at `target`: 204 once reset, 404 when absent, 405 where it cannot be reset. */
export function answerDelete(top: ApiNode, target: ApiTarget, ctx: ReadCtx, pretty: boolean): DeleteAnswer {
  const notFound = () => apiError(404, 'PathNotFound', `Requested API entity "${target.display}" doesn't exist.`, ctx, pretty);
  const segments = target.segments;
  const parent = segments.length === 0 ? undefined : resolvePath(top, segments.slice(0, -1), ctx);
  const name = segments[segments.length - 1];
  if (segments.length > 0 && (!isObjectNode(parent) || parent.get(name, ctx) === undefined)) return notFound();
  if (!isObjectNode(parent) || parent.resetChild === undefined) {
    const description = `The DELETE method is not allowed for the requested API entity "${target.display}".`;
    return apiError(405, 'MethodNotAllowed', description, ctx, pretty);
  }
  if (!parent.resetChild(name, ctx)) return notFound();
  return { status: 204, body: [], reset: target.display };
}
