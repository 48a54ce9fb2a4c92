import type { HttpContext } from '../http/context';
import { failRequest, runFromAccess } from '../http/pipeline';

/** Continues a request the check suspended, unless `enforce` answered or suspended it again (or the client left). */
export function resume(r: HttpContext, enforce: () => boolean): void {
  if (r.logged) return;
  try {
    if (!enforce()) runFromAccess(r);
  } catch (err) {
    failRequest(r, err);
  }
}

/** Waits on a timer (the worker serves others meanwhile), then runs the rest of the phases. */
export function delayRequest(r: HttpContext, ms: number): void {
  const timer = setTimeout(() => resume(r, () => false), ms);
  r.res.once('close', () => clearTimeout(timer));
}

