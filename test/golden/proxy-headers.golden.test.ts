import * as http from 'node:http';
import { afterAll, beforeAll } from 'vitest';
import { Case, goldenSuite } from '../helpers/nginx-golden';
import { startBackend } from '../helpers/proc';

/** proxy_redirect (default, off, text, regex; Location and Refresh), proxy_hide_header, proxy_pass_header. */
let backend: { port: number; close(): Promise<void> };
beforeAll(async () => {
  backend = await startBackend((req: http.IncomingMessage, res: http.ServerResponse) => {
    const kind = /kind=(\w+)/.exec(req.url ?? '')?.[1];
    const self = `http://127.0.0.1:${backend.port}`;
    const headers: Record<string, string> = { 'content-type': 'text/plain', 'x-secret': 's', server: 'backend/1', 'x-pad': 'pad' };
    if (kind === 'abs') headers.location = `${self}/two/x`;
    if (kind === 'root') headers.location = `${self}/r`;
    if (kind === 'rel') headers.location = '/relative/path';
    if (kind === 'other') headers.location = 'http://other.test/deep/p';
    if (kind === 'refresh') headers.refresh = `5; url=${self}/two/r`;
    res.writeHead(kind === undefined ? 200 : 302, headers);
    res.end(`backend ${req.url}\n`);
  });
});
afterAll(async () => backend?.close());

const body = () => {
  const b = `http://127.0.0.1:${backend.port}`;
  return `
server {
    listen 127.0.0.1:PORT;
    location /two/ { proxy_pass ${b}/two/; }
    location /one/ { proxy_pass ${b}/two/; }
    location /nouri/ { proxy_pass ${b}; }
    location /off/ { proxy_pass ${b}/two/; proxy_redirect off; }
    location /custom/ { proxy_pass ${b}/two/; proxy_redirect http://other.test/ http://$host/other/; }
    location /re/ { proxy_pass ${b}/two/; proxy_redirect ~^http://other\\.test/(\\w+)/ /caught/$1/; }
    location /both/ { proxy_pass ${b}/two/; proxy_redirect default; proxy_redirect http://other.test/ /o/; }
    location /hide/ { proxy_pass ${b}/two/; proxy_hide_header X-Secret; proxy_pass_header Server; proxy_pass_header X-Pad; }
}
`;
};

const loc = ['location', 'refresh'];
const CASES: Case[] = [
  { name: 'default: the proxy_pass URL back to the location', path: '/two/a?kind=abs', compare: loc },
  { name: 'default: a different location name', path: '/one/a?kind=abs', compare: loc },
  { name: 'default without a URI part', path: '/nouri/a?kind=root', compare: loc },
  { name: 'default leaves other hosts alone', path: '/one/a?kind=other', compare: loc },
  { name: 'an upstream path Location passes as sent', path: '/one/a?kind=rel', compare: loc },
  { name: 'default rewrites Refresh', path: '/one/a?kind=refresh', compare: loc },
  { name: 'off', path: '/off/a?kind=abs', compare: loc },
  { name: 'off: an upstream path Location passes as sent', path: '/off/a?kind=rel', compare: loc },
  { name: 'a text rule with a variable', path: '/custom/a?kind=other', compare: loc },
  { name: 'a text rule replaces default', path: '/custom/a?kind=abs', compare: loc },
  { name: 'a regex rule with a capture', path: '/re/a?kind=other', compare: loc },
  { name: 'default and a rule together (default part)', path: '/both/a?kind=abs', compare: loc },
  { name: 'default and a rule together (rule part)', path: '/both/a?kind=other', compare: loc },
  { name: 'headers hidden by default', path: '/two/a', compare: ['x-secret', 'x-pad'] },
  { name: 'proxy_hide_header and proxy_pass_header', path: '/hide/a', compare: ['x-secret', 'server', 'x-pad'] },
];

goldenSuite('proxy_redirect, proxy_hide_header, proxy_pass_header: as nginx', body, CASES);
