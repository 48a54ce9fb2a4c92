import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HttpContext, OutHeaders } from '../context';
import { logRequest } from '../error-log';
import { internalRedirect } from '../redirect';
import { endResponse, sendHeader } from '../respond';
import { answer, contentTypeOf } from '../answer';
import { staticConf } from './static';

/**
 * The file a URI names: root + URI, or with `alias` the alias in place of
 * the location's prefix (all of the URI for a regex location). The URI is
 * already decoded and free of `..`, so the result never leaves the root
 * (symlinks inside it are followed, as nginx's `disable_symlinks off`).
 */
export function mapPath(r: HttpContext, uri: string): string {
  const conf = staticConf(r);
  const prefixed = (p: string) => (p.startsWith('/') ? p : path.join(r.runtime.prefix, p));
  if (conf.alias !== undefined) {
    const alias = prefixed(conf.alias.path.eval(r));
    return conf.alias.strip === 'all' ? alias : alias + uri.slice(conf.alias.strip);
  }
  return prefixed(conf.root.eval(r)) + uri;
}

/** Node's fs takes paths as UTF-8 text; request paths are byte strings. */
function fsPath(p: string): Buffer {
  return Buffer.from(p, 'latin1');
}

export async function statOf(file: string): Promise<fs.Stats | NodeJS.ErrnoException> {
  try {
    return await fs.promises.stat(fsPath(file));
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
}

/** nginx's answer to a failed open(): 404 for missing, 403 for forbidden, 500 otherwise; logged as nginx does. */
function openFailed(r: HttpContext, file: string, err: NodeJS.ErrnoException): void {
  const missing = err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'ENAMETOOLONG';
  const status = missing ? 404 : err.code === 'EACCES' ? 403 : 500;
  const errno = missing ? '2: No such file or directory' : err.code === 'EACCES' ? '13: Permission denied' : String(err.code);
  logRequest(r, 'error', `open() "${file}" failed (${errno})`);
  answer(r, status, undefined);
}

/** The content handler of locations with no other: a file, a directory's index, or nginx's errors. */
export async function staticHandler(r: HttpContext): Promise<void> {
  const method = r.req.method;
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') return answer(r, 405, undefined);
  if (r.uri.endsWith('/')) return serveIndex(r);
  const file = mapPath(r, r.uri);
  const st = await statOf(file);
  if (st instanceof Error) return openFailed(r, file, st);
  if (st.isDirectory()) return answer(r, 301, r.args === '' ? `${r.uri}/` : `${r.uri}/?${r.args}`);
  if (method === 'POST') return answer(r, 405, undefined);
  if (!st.isFile()) return openFailed(r, file, Object.assign(new Error('not a file'), { code: 'ENOENT' }));
  sendFile(r, file, st);
}

/** A URI ending in `/`: the first `index` file that exists (internal redirect), else 403 for a directory, 404. */
async function serveIndex(r: HttpContext): Promise<void> {
  const names = staticConf(r).index;
  const dir = mapPath(r, r.uri);
  let dirTested = false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i].eval(r);
    const uri = name.startsWith('/') ? name : r.uri + name;
    // The last entry, when absolute, is a fallback taken without a look (nginx).
    const st = i === names.length - 1 && name.startsWith('/') ? undefined : await statOf(mapPath(r, uri));
    if (st instanceof Error) {
      // A missing candidate: nginx checks the directory once, and a missing directory is a 404.
      if (!dirTested && (await statOf(dir)) instanceof Error) {
        logRequest(r, 'error', `"${mapPath(r, uri)}" is not found (2: No such file or directory)`);
        return answer(r, 404, undefined);
      }
      dirTested = true;
      continue;
    }
    return internalRedirect(r, uri, r.args);
  }
  logRequest(r, 'error', `directory index of "${dir}" is forbidden`);
  answer(r, 403, undefined);
}

/** nginx's not-modified test: If-Modified-Since equal to the file's time, If-None-Match naming its ETag. */
function notModified(r: HttpContext, mtimeSec: number, etag: string): boolean {
  const ims = r.req.headers['if-modified-since'];
  const inm = r.req.headers['if-none-match'];
  if (ims === undefined && inm === undefined) return false;
  if (ims !== undefined && Math.floor(Date.parse(ims) / 1000) !== mtimeSec) return false;
  if (inm !== undefined && inm.trim() !== '*' && !inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) return false;
  return true;
}

/** Streams a file with flat memory: one read buffer at a time, paused while the client is full. */
function sendFile(r: HttpContext, file: string, st: fs.Stats): void {
  const mtimeSec = Math.floor(st.mtimeMs / 1000);
  const etag = `"${mtimeSec.toString(16)}-${st.size.toString(16)}"`;
  const headers: OutHeaders = { 'last-modified': new Date(mtimeSec * 1000).toUTCString(), etag };
  if (notModified(r, mtimeSec, etag)) {
    sendHeader(r, 304, headers);
    return endResponse(r);
  }
  headers['content-type'] = contentTypeOf(r);
  headers['content-length'] = String(st.size);
  sendHeader(r, 200, headers);
  if (r.req.method === 'HEAD' || st.size === 0) return endResponse(r);
  const stream = fs.createReadStream(fsPath(file), { start: 0, end: st.size - 1, highWaterMark: 64 * 1024 });
  const res = r.res;
  stream.on('data', (chunk) => {
    r.bodyBytesSent += chunk.length;
    if (!res.write(chunk)) {
      stream.pause();
      res.once('drain', () => stream.resume());
    }
  });
  stream.once('end', () => endResponse(r));
  stream.once('error', () => res.destroy());
  res.once('close', () => stream.destroy());
}
