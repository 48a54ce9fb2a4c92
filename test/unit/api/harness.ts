import { ConfigError } from '../../../src/config/errors';
import { loadConfig } from '../../../src/process/load';
import { HttpContext, OutHeaders } from '../../../src/http/context';
import { findLocation } from '../../../src/http/locations';
import type { Runtime } from '../../../src/http/runtime';
import { normalizeUri, splitTarget } from '../../../src/http/uri';


/** Loads `http { server { BODY } }` plus optional http-level text; throws ConfigError. */
export function loadServer(serverBody: string, httpBody = ''): Runtime {
  const text = `http {\n${httpBody}\nserver {\nlisten 127.0.0.1:8080;\n${serverBody}\n}\n}\n`;
  return loadConfig('/etc/mp/test.conf', { prefix: '/tmp', text }).runtime;
}

/** The nginx-shaped error line a load reports, or 'ok'. */
export function configError(load: () => unknown): string {
  try {
    load();
    return 'ok';
  } catch (e) {
    if (e instanceof ConfigError) return e.render();
    throw e;
  }
}

/** `configError` of `loadServer(serverBody, httpBody)`. */
export function errorLine(serverBody: string, httpBody = ''): string {
  return configError(() => loadServer(serverBody, httpBody));
}

export interface Captured {
  status: number;
  headers: OutHeaders;
  body: Buffer;
}

/**
 * Runs one request through location selection and the location's content
 * handler, with the response captured instead of written to a socket.
 */
export async function request(rt: Runtime, method: string, url: string): Promise<Captured> {
  const out: Captured = { status: 0, headers: {}, body: Buffer.alloc(0) };
  const res = {
    writeHead(status: number, headers: OutHeaders) {
      out.status = status;
      // Lower-case names, as a client's IncomingMessage shows them (the wire spelling is nginx's).
      out.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    },
    end(body?: Buffer) {
      if (body !== undefined) out.body = body;
    },
  };
  const req = { method, url, headers: {}, socket: { destroyed: false } };
  const r = new HttpContext(req as never, res as never, rt, 1);
  r.server = rt.servers[0];
  const { path, args } = splitTarget(url);
  r.uri = normalizeUri(path) ?? '/';
  r.args = args;
  r.loc = findLocation(r, r.server.locations, r.uri) ?? r.server.root;
  const content = r.loc.content;
  if (content === undefined) throw new Error(`no content handler for ${url}`);
  await content(r);
  return out;
}
