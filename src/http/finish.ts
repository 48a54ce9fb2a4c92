import type { HttpContext } from './context';
import { http2HeadBytes } from './http2-request';

/**
 * The log phase: runs once per request, for completed, failed and aborted
 * requests alike (nginx logs 499 when the client went away first).
 * `completed` is passed by endResponse, which runs this phase just before
 * the last bytes leave, so a reader on any worker that has seen the
 * response also sees the request's on=end updates.
 */
export function finishRequest(r: HttpContext, completed = false): void {
  if (r.logged) return;
  r.logged = true;
  r.endMs = Date.now();
  r.finished = completed || r.res.writableFinished || r.upgrade !== null;
  r.aborted = !r.finished;
  if (!r.headerSent && r.upgrade === null) r.status = 499;
  const header = (r.res as unknown as { _header?: string | null })._header;
  r.headerBytesSent = typeof header === 'string' ? header.length : http2HeadBytes(r.res);
  if (r.loc === undefined) return;
  for (const h of r.runtime.phases.log) {
    try {
      h(r);
    } catch (err) {
      process.emitWarning(`log phase failed: ${(err as Error)?.stack ?? String(err)}`);
    }
  }
}
