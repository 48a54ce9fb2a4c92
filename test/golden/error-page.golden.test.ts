import * as http from 'node:http';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Case, expectSameLoadError, goldenSuite } from '../helpers/nginx-golden';
import { freePorts, startBackend } from '../helpers/proc';

/** error_page (codes, =CODE, =, URL, @named, args), recursive_error_pages, proxy_intercept_errors. */
let backend: { port: number; close(): Promise<void> };
let deadPort = 0;
beforeAll(async () => {
  backend = await startBackend((req: http.IncomingMessage, res: http.ServerResponse) => {
    const code = Number(/code=(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(`backend ${code} ${req.method} ${req.url}\n`);
  });
  [deadPort] = await freePorts(1);
});
afterAll(async () => backend?.close());

const body = () => `
server {
    listen 127.0.0.1:PORT;
    error_page 404 /err/404;
    error_page 500 502 503 504 /err/50x;
    location /err/ { return 200 "error page $uri args=$args method=$request_method\\n"; }
    location /a/ { return 404; }
    location /a-text/ { return 404 "own text\\n"; }
    location /b/ { error_page 404 =200 /err/ok; return 404; }
    location /c/ { error_page 403 = @named; return 403; }
    location /c2/ { error_page 403 =202 @named; return 403; }
    location @named { return 201 "named $uri\\n"; }
    location /nonamed/ { error_page 404 @nowhere; return 404; }
    location /d/ { error_page 404 http://example.test/nf; return 404; }
    location /e/ { error_page 404 =301 http://example.test/nf; return 404; }
    location /f/ { error_page 404 /f-missing/; return 404; }
    location /f-missing/ { return 404; }
    location /g/ { recursive_error_pages on; error_page 404 /g2/; return 404; }
    location /g2/ { error_page 404 /err/from-g2; return 404; }
    location /h/ { error_page 404 /err/404?x=1; return 404; }
    location /v/ { error_page 404 /err/$arg_page; return 404; }
    location /loop/ { recursive_error_pages on; error_page 404 /loop/again; return 404; }
    location /i/ { error_page 404 /err/404; location /i/inner/ { return 404; } }
    location /j/ { error_page 410 /err/gone; location /j/inner/ { error_page 404 /err/inner; return 410; } }
    location /proxy/ { proxy_pass http://127.0.0.1:${backend.port}; proxy_intercept_errors on; error_page 418 /err/teapot; }
    location /proxy-plain/ { proxy_pass http://127.0.0.1:${backend.port}; error_page 418 /err/teapot; }
    location /proxy-uncovered/ { proxy_pass http://127.0.0.1:${backend.port}; proxy_intercept_errors on; }
    location /down/ { proxy_pass http://127.0.0.1:${deadPort}; }
    location /deny/ { deny all; error_page 403 /err/denied; }
    location /missing-content/ { }
}
`;

const CASES: Case[] = [
  { name: 'error_page 404 answers with the page, status 404', path: '/a/x' },
  { name: 'return with text is not an error page', path: '/a-text/' },
  { name: '=200 overrides the status', path: '/b/' },
  { name: '= @named keeps the named response status', path: '/c/' },
  { name: '=202 @named', path: '/c2/' },
  { name: 'an unknown named location is a 500', path: '/nonamed/' },
  { name: 'a URL target redirects with 302', path: '/d/' },
  { name: 'a URL target with =301', path: '/e/' },
  { name: 'an error in the error page: the default page, not recursive', path: '/f/' },
  { name: 'recursive_error_pages on follows the second error_page', path: '/g/' },
  { name: 'args in the target', path: '/h/?orig=1' },
  { name: 'variables in the target', path: '/v/?page=custom' },
  { name: 'recursive error pages loop: 500', path: '/loop/' },
  { name: 'inherited from the enclosing location', path: '/i/inner/' },
  { name: 'an inner error_page replaces the inherited list', path: '/j/inner/' },
  { name: 'proxy_intercept_errors on with a page for the status', path: '/proxy/?code=418' },
  { name: 'proxy_intercept_errors on, a status without a page passes', path: '/proxy/?code=404' },
  { name: 'proxy_intercept_errors on, 200 passes', path: '/proxy/?code=200' },
  { name: 'without proxy_intercept_errors the upstream answer passes', path: '/proxy-plain/?code=418' },
  { name: 'server-level 404 page for an upstream 404 with intercept on', path: '/proxy-uncovered/?code=404' },
  { name: 'a dead upstream: 502 through the server-level page', path: '/down/' },
  { name: 'POST turns into GET for the error page', path: '/a/post', method: 'POST' },
  { name: 'HEAD stays HEAD', path: '/a/head', method: 'HEAD' },
  { name: 'access denied: 403 page', path: '/deny/' },
  { name: 'no content handler: 404 page', path: '/missing-content/' },
  { name: 'no location at all: 404 page', path: '/nowhere' },
];

goldenSuite('error_page: metricproxy answers as nginx does', body, CASES);

describe('error_page: bad directives fail the load as in nginx', () => {
  it.each([
    ['a code below 300', 'server {\n error_page 200 /x;\n}'],
    ['a code above 599', 'server {\n error_page 600 /x;\n}'],
    ['a word for a code', 'server {\n error_page abc /x;\n}'],
    ['a bad =response', 'server {\n error_page 404 =abc /x;\n}'],
    ['a target alone', 'server {\n error_page /x;\n}'],
    ['recursive_error_pages with a bad value', 'server {\n recursive_error_pages yes;\n}'],
  ])('%s', (_name, text) => expectSameLoadError(text));
});
