import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Case, expectSameLoadError, goldenSuite, observe } from '../helpers/nginx-golden';
import { waitFor } from '../helpers/sys';

/** rewrite (every flag), if (every condition), break, return in if, the cycle limit. */
const BODY = `
server {
    listen 127.0.0.1:PORT;
    rewrite ^/srv/(.*)$ /show/srv-$1 last;
    if ($arg_srvdeny) { return 403; }

    location /show/ { return 200 "uri=$uri args=$args\\n"; }

    location /r/ {
        rewrite ^/r/last/(\\w+)$ /show/last-$1 last;
        rewrite ^/r/break/(\\w+)$ /show/break-$1 break;
        rewrite ^/r/perm/(.*)$ /show/$1 permanent;
        rewrite ^/r/temp/(.*)$ /show/$1 redirect;
        rewrite ^/r/ext/(.*)$ http://example.test/$1;
        rewrite ^/r/args/(\\w+)$ /show/a?x=$1;
        rewrite ^/r/noargs/(\\w+)$ /show/n? last;
        rewrite ^/r/chain/(\\w+)$ /r/chained/$1;
        rewrite ^/r/chained/(\\w+)$ /show/chained-$1;
        rewrite ^/r/(?<name>named)/(\\w+)$ /show/$name-$2 last;
        return 200 "r fallthrough uri=$uri\\n";
    }
    location /brk/ {
        rewrite ^ /show/after-break break;
        return 200 "break stopped here uri=$uri\\n";
    }
    location /logged/ { rewrite_log on; rewrite ^/logged/(.*)$ /show/logged-$1 last; }
    location /uninit/ {
        if ($arg_never) { set $never_set 1; }
        return 200 "[$never_set]\n";
    }
    location /loop/ { rewrite ^/loop/(.*)$ /loop/$1 last; }
    location /loop2/ { rewrite ^ /loop2/x; }
    location /if/ {
        set $r "";
        if ($arg_a) { set $r "\${r}a"; }
        if ($arg_b = yes) { set $r "\${r}b"; }
        if ($arg_c != no) { set $r "\${r}c"; }
        if ($http_x_ua ~ ^(Mozilla|Opera)/(\\d+)) { set $r "\${r}ua$1-$2"; }
        if ($http_x_ua ~* curl) { set $r "\${r}curl"; }
        if ($http_x_ua !~ ^Mozilla) { set $r "\${r}notmoz"; }
        if ($http_x_ua !~* CURL) { set $r "\${r}notcurl"; }
        if (-f PREFIX/docroot/file.txt) { set $r "\${r}f"; }
        if (!-f PREFIX/docroot/nope.txt) { set $r "\${r}nf"; }
        if (-d PREFIX/docroot) { set $r "\${r}d"; }
        if (!-d PREFIX/docroot/file.txt) { set $r "\${r}nd"; }
        if (-e PREFIX/docroot/link) { set $r "\${r}e"; }
        if (-x PREFIX/docroot/run.sh) { set $r "\${r}x"; }
        if (!-x PREFIX/docroot/file.txt) { set $r "\${r}nx"; }
        if ( $arg_sp ) { set $r "\${r}spaced"; }
        if ($arg_q = "quoted") { set $r "\${r}quoted"; }
        return 200 "r=$r\\n";
    }
    location /ifret/ {
        if ($arg_go) { return 302 /show/went; }
        if ($arg_code) { return 418 "teapot\\n"; }
        if ($arg_stop) { break; }
        if ($arg_rw) { rewrite ^ /show/from-if last; }
        set $later "ran";
        return 200 "later=$later\\n";
    }
    location /ifbrk/ {
        set $v one;
        if ($arg_stop) { set $v two; break; }
        set $v three;
        return 200 "v=$v\\n";
    }
    location /ret/ {
        location /ret/rel { return 301 /show/moved; }
        location /ret/abs { return 302 http://other.test/x; }
        location /ret/url { return https://secure.test/; }
        location /ret/none { return 404; }
    }
}
`;

const CASES: Case[] = [
  { name: 'server-level rewrite last', path: '/srv/abc?q=1' },
  { name: 'server-level if return', path: '/show/x?srvdeny=1' },
  { name: 'rewrite last', path: '/r/last/one' },
  { name: 'rewrite break', path: '/r/break/two' },
  { name: 'rewrite permanent', path: '/r/perm/p?k=v' },
  { name: 'rewrite redirect', path: '/r/temp/t' },
  { name: 'rewrite to http:// is a 302', path: '/r/ext/e?z=1' },
  { name: 'rewrite adds args before the old ones', path: '/r/args/v?old=1' },
  { name: 'rewrite with a trailing ? drops the args', path: '/r/noargs/v?old=1' },
  { name: 'flagless rewrites chain, then a new location search', path: '/r/chain/c' },
  { name: 'named captures in rewrite', path: '/r/named/n' },
  { name: 'no rewrite matched', path: '/r/other' },
  { name: 'rewrite_log does not change the answer', path: '/logged/x' },
  { name: 'an uninitialized variable is empty', path: '/uninit/' },
  { name: 'break flag stops the steps', path: '/brk/x' },
  { name: 'rewrite last loop: 500 after 10 cycles', path: '/loop/a' },
  { name: 'flagless rewrite loop: 500', path: '/loop2/a' },
  { name: 'if: nothing true', path: '/if/?c=no' },
  { name: 'if: bare variable, =, !=', path: '/if/?a=1&b=yes' },
  { name: 'if: "0" is false', path: '/if/?a=0&c=no' },
  { name: 'if: regex with captures', path: '/if/?c=no', headers: { 'x-ua': 'Mozilla/5 x' } },
  { name: 'if: caseless regex', path: '/if/?c=no', headers: { 'x-ua': 'CURL/8' } },
  { name: 'if: file tests', path: '/if/' },
  { name: 'if: spaced parentheses', path: '/if/?sp=1&c=no' },
  { name: 'if: a quoted operand touching the parenthesis', path: '/if/?q=quoted&c=no' },
  { name: 'if: return redirect', path: '/ifret/?go=1' },
  { name: 'if: return with text', path: '/ifret/?code=1' },
  { name: 'if: break leaves the location without content', path: '/ifret/?stop=1' },
  { name: 'if: rewrite last inside', path: '/ifret/?rw=1' },
  { name: 'if: nothing, later steps run', path: '/ifret/' },
  { name: 'if: break stops the outer steps too', path: '/ifbrk/?stop=1' },
  { name: 'if: false, outer steps go on', path: '/ifbrk/' },
  { name: 'return 301 with a path is made absolute', path: '/ret/rel' },
  { name: 'return 302 with a URL', path: '/ret/abs' },
  { name: 'return URL alone', path: '/ret/url' },
  { name: 'return 404', path: '/ret/none' },
  { name: 'HEAD of a rewritten request', path: '/r/last/h', method: 'HEAD' },
];

function docroot(prefix: string): void {
  const root = path.join(prefix, 'docroot');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'file.txt'), 'file\n');
  fs.writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  fs.symlinkSync(path.join(root, 'file.txt'), path.join(root, 'link'));
}

const servers = goldenSuite('rewrite and if: metricproxy answers as nginx does', BODY, CASES, docroot);

describe('rewrite: the error log says what nginx says', () => {
  it.each([
    ['a rewrite cycle', '/loop/b', 'rewrite or internal redirection cycle while processing "/loop/b"'],
    ['rewrite_log', '/logged/abc', '"^/logged/(.*)$" matches "/logged/abc"'],
    ['rewrite_log result', '/logged/abc', 'rewritten data: "/show/logged-abc", args: ""'],
    ['an uninitialized variable', '/uninit/', 'using uninitialized "never_set" variable'],
  ])('%s', async (_name, url, line) => {
    const { nginx, mp } = servers();
    await Promise.all([observe(nginx, { name: url, path: url }), observe(mp, { name: url, path: url })]);
    expect(nginx.errorLog()).toContain(line);
    await waitFor(() => (mp.errorLog().includes(line) ? true : undefined), 5000, `metricproxy logs ${line}`);
  });
});

describe('rewrite and if: bad directives fail the load as in nginx', () => {
  it.each([
    ['an unknown rewrite flag', 'server {\n rewrite ^ /x bogus;\n}'],
    ['a bad rewrite regex', 'server {\n location / {\n  rewrite ^(x /y;\n }\n}'],
    ['if without parentheses', 'server {\n if $x { }\n}'],
    ['if without the closing parenthesis', 'server {\n if ($x { }\n}'],
    ['if with an unknown operator', 'server {\n if ($x <> y) { }\n}'],
    ['if with two words', 'server {\n if ($x y) { }\n}'],
    ['if with a bad file test', 'server {\n if (-q /x) { }\n}'],
    ['if with a bad regex', 'server {\n if ($uri ~ "(") { }\n}'],
    ['nested if', 'server {\n location / {\n  if ($a) {\n   if ($b) { }\n  }\n }\n}'],
    ['location inside if', 'server {\n location / {\n  if ($a) {\n   location /x { }\n  }\n }\n}'],
    ['break with an argument', 'server {\n break now;\n}'],
    ['rewrite_log with a bad value', 'server {\n rewrite_log maybe;\n}'],
  ])('%s', (_name, body) => expectSameLoadError(body));
});
