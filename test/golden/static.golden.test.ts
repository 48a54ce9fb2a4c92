import * as fs from 'node:fs';
import * as path from 'node:path';
import { Case, goldenSuite } from '../helpers/nginx-golden';
import { ROOT } from '../helpers/proc';

/** root, alias, index, try_files, types/default_type, conditional GET, HEAD, 403/404, paths that try to leave the root. */
const BODY = `
include ${path.join(ROOT, 'conf/mime.types')};
default_type application/octet-stream;
server {
    listen 127.0.0.1:PORT;
    root PREFIX/www;
    error_page 418 /show/418;
    location /show/ { return 200 "show uri=$uri args=$args\\n"; }
    location /img/ { alias PREFIX/pictures/; }
    location ~ ^/re-alias/(.+)$ { alias PREFIX/pictures/$1; }
    location /noindex/ { index missing.html; }
    location /multi/ { index none.html second.html; }
    location /absindex/ { index none.html /show/fallback; }
    location /tf/ { try_files $uri $uri/ /show/fallback?from=$uri; }
    location /tf-code/ { try_files $uri =418; }
    location /tf-404/ { try_files $uri =404; }
    location /tf-named/ { try_files /nope @named; }
    location @named { return 200 "named uri=$uri\\n"; }
    location /tf-noargs/ { try_files /nope /show/plain; }
    location /typed/ { types { text/x-custom cst; } default_type text/x-default; }
    location /post/ { }
}
`;

const MTIME = new Date('2024-01-02T03:04:05Z');

function tree(prefix: string): void {
  const put = (rel: string, text: string) => {
    const file = path.join(prefix, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    fs.utimesSync(file, MTIME, MTIME);
  };
  put('www/index.html', '<p>home</p>\n');
  put('www/page.html', '<p>page</p>\n');
  put('www/style.css', 'body{}\n');
  put('www/data.json', '{"a":1}\n');
  put('www/blob.unknownext', 'blob\n');
  put('www/noext', 'noext\n');
  put('www/UPPER.HTML', 'upper\n');
  put('www/sub/index.html', 'sub index\n');
  put('www/nodir/file.txt', 'file in a dir without index\n');
  put('www/multi/second.html', 'second\n');
  put('www/noindex/a.txt', 'a\n');
  put('www/tf/real.txt', 'real\n');
  put('www/tf/dir/index.html', 'tf dir index\n');
  put('www/tf-code/here.txt', 'here\n');
  put('www/typed/a.cst', 'custom\n');
  put('www/typed/a.zzz', 'default\n');
  put('www/post/p.txt', 'post target\n');
  put('www/space name.txt', 'space\n');
  put('pictures/cat.gif', 'GIF89a');
  put('outside.txt', 'never served\n');
  fs.symlinkSync(path.join(prefix, 'pictures'), path.join(prefix, 'www/linked'));
}

const ims = MTIME.toUTCString();
const CASES: Case[] = [
  { name: 'index of /', path: '/', compare: ['content-type', 'content-length', 'last-modified', 'etag'] },
  { name: 'an html file', path: '/page.html', compare: ['content-type', 'content-length', 'last-modified', 'etag'] },
  { name: 'css type', path: '/style.css' },
  { name: 'json type', path: '/data.json' },
  { name: 'unknown extension: default_type', path: '/blob.unknownext' },
  { name: 'no extension: default_type', path: '/noext' },
  { name: 'extension case-insensitive', path: '/UPPER.HTML' },
  { name: 'directory without slash: 301', path: '/sub', compare: ['location', 'content-type'] },
  { name: 'directory without slash keeps args', path: '/sub?x=1', compare: ['location'] },
  { name: 'directory index', path: '/sub/' },
  { name: 'directory without index: 403', path: '/nodir/' },
  { name: 'missing directory: 404', path: '/nothere/' },
  { name: 'missing file: 404', path: '/nothere.html' },
  { name: 'second index file', path: '/multi/' },
  { name: 'index missing: 403', path: '/noindex/' },
  { name: 'absolute index fallback', path: '/absindex/' },
  { name: 'alias', path: '/img/cat.gif' },
  { name: 'alias missing', path: '/img/dog.gif' },
  { name: 'regex alias with capture', path: '/re-alias/cat.gif' },
  { name: 'HEAD', path: '/page.html', method: 'HEAD', compare: ['content-type', 'content-length'] },
  { name: 'If-Modified-Since equal: 304', path: '/page.html', headers: { 'if-modified-since': ims }, compare: ['content-type', 'content-length', 'etag'] },
  { name: 'If-Modified-Since other: 200', path: '/page.html', headers: { 'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' } },
  { name: 'If-None-Match: 304', path: '/page.html', headers: { 'if-none-match': `"${(MTIME.getTime() / 1000).toString(16)}-c"` } },
  { name: 'If-None-Match other: 200', path: '/page.html', headers: { 'if-none-match': '"nope"' } },
  { name: 'POST to a file: 405', path: '/post/p.txt', method: 'POST' },
  { name: 'DELETE: 405', path: '/post/p.txt', method: 'DELETE' },
  { name: 'POST to a directory index: 405', path: '/sub/', method: 'POST' },
  { name: '.. above the root: 400', path: '/../outside.txt' },
  { name: '.. inside the root', path: '/sub/../page.html' },
  { name: '%2e%2e above the root', path: '/%2e%2e/outside.txt' },
  { name: '%2e%2e inside', path: '/sub/%2e%2e/page.html' },
  { name: 'encoded slash and dots', path: '/sub%2f..%2f..%2foutside.txt' },
  { name: 'a percent-encoded space', path: '/space%20name.txt' },
  { name: 'a symlinked directory is followed', path: '/linked/cat.gif' },
  { name: 'try_files: the file', path: '/tf/real.txt' },
  { name: 'try_files: the directory', path: '/tf/dir' },
  { name: 'try_files: the fallback URI with args', path: '/tf/none?q=1' },
  { name: 'try_files: =CODE through error_page', path: '/tf-code/none' },
  { name: 'try_files: existing before =CODE', path: '/tf-code/here.txt' },
  { name: 'try_files: =404', path: '/tf-404/none' },
  { name: 'try_files: @named', path: '/tf-named/x' },
  { name: 'try_files: a fallback URI drops the args', path: '/tf-noargs/x?a=1' },
  { name: 'location types and default_type', path: '/typed/a.cst' },
  { name: 'location default_type', path: '/typed/a.zzz' },
  { name: 'a location types block replaces the inherited one', path: '/typed/../page.html' },
];

goldenSuite('static files: metricproxy answers as nginx does', BODY, CASES, tree);
