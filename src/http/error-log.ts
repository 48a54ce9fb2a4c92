import type { HttpContext } from './context';

/** Writes one error-log line at a level; the worker points it at its error log. */
export type ErrorLogSink = (level: string, text: string) => void;

let sink: ErrorLogSink = (_level, text) => process.emitWarning(text);

export function setRequestErrorLog(s: ErrorLogSink): void {
  sink = s;
}

/** An error-log line about a request, with nginx's trailer naming the client, server and request. */
export function logRequest(r: HttpContext, level: string, text: string): void {
  const req = r.req;
  const host = req.headers.host === undefined ? '' : `, host: "${req.headers.host}"`;
  sink(level, `${text}, client: ${req.socket.remoteAddress ?? '-'}, server: ${r.server.primaryName}, request: "${req.method} ${req.url} HTTP/${req.httpVersion}"${host}`);
}
