import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors';
import { loadConfig } from '../../../src/process/load';
import { parseText } from '../../../src/config/parser';

const FILE = '/etc/mp/proxy.conf';

/** Loads inline config text and returns the nginx-shaped error line, or 'ok'. */
function errorLine(text: string): string {
  try {
    loadConfig(FILE, { prefix: '/tmp', text });
    return 'ok';
  } catch (e) {
    if (e instanceof ConfigError) return e.render();
    throw e;
  }
}

const http = (body: string) => `http {\n${body}\n}\n`;
const server = (body: string) => http(`server {\nlisten 127.0.0.1:8080;\n${body}\n}`);

// Golden config → error line cases: the exact text an operator sees.
const ERRORS: Array<[string, string, string]> = [
  ['unknown directive', 'metrc x;', 'metricproxy: [emerg] unknown directive "metrc" in /etc/mp/proxy.conf:1'],
  ['directive not allowed in main', 'listen 80;', 'metricproxy: [emerg] "listen" directive is not allowed here in /etc/mp/proxy.conf:1'],
  ['location outside server', http('location / { }'), 'metricproxy: [emerg] "location" directive is not allowed here in /etc/mp/proxy.conf:2'],
  ['missing semicolon at eof', 'worker_processes 1', 'metricproxy: [emerg] unexpected end of file, expecting ";" or "}" in /etc/mp/proxy.conf:1'],
  ['unbalanced close', 'worker_processes 1;\n}', 'metricproxy: [emerg] unexpected "}" in /etc/mp/proxy.conf:2'],
  ['unclosed block', 'http {\nserver {\n', 'metricproxy: [emerg] unexpected end of file, expecting "}" in /etc/mp/proxy.conf:2'],
  ['block directive without block', 'http;', 'metricproxy: [emerg] directive "http" has no opening "{" in /etc/mp/proxy.conf:1'],
  ['simple directive with block', 'worker_processes 1 { }', 'metricproxy: [emerg] directive "worker_processes" has no closing ";" in /etc/mp/proxy.conf:1'],
  ['arity: too many', 'worker_processes 1 2;', 'metricproxy: [emerg] invalid number of arguments in "worker_processes" directive in /etc/mp/proxy.conf:1'],
  ['arity: none', 'pid;', 'metricproxy: [emerg] invalid number of arguments in "pid" directive in /etc/mp/proxy.conf:1'],
  ['duplicate http', 'http { }\nhttp { }', 'metricproxy: [emerg] "http" directive is duplicate in /etc/mp/proxy.conf:2'],
  ['bad worker_processes', 'worker_processes many;', 'metricproxy: [emerg] invalid value "many" in "worker_processes" directive in /etc/mp/proxy.conf:1'],
  ['bad worker_shutdown_timeout', 'worker_shutdown_timeout soon;', 'metricproxy: [emerg] "worker_shutdown_timeout" directive invalid value in /etc/mp/proxy.conf:1'],
  ['worker_shutdown_timeout in http', http('worker_shutdown_timeout 5s;'), 'metricproxy: [emerg] "worker_shutdown_timeout" directive is not allowed here in /etc/mp/proxy.conf:2'],
  ['bad daemon flag', 'daemon yes;', 'metricproxy: [emerg] invalid value "yes" in "daemon" directive, it must be "on" or "off" in /etc/mp/proxy.conf:1'],
  ['bad listen port', http('server {\nlisten 99999;\n}'), 'metricproxy: [emerg] invalid port in "99999" of the "listen" directive in /etc/mp/proxy.conf:3'],
  ['bad listen param', http('server {\nlisten 80 fast;\n}'), 'metricproxy: [emerg] invalid parameter "fast" in /etc/mp/proxy.conf:3'],
  ['bad return code', server('location / { return abc; }'), 'metricproxy: [emerg] invalid return code "abc" in /etc/mp/proxy.conf:4'],
  ['unknown variable', server('location / { return 200 $nope; }'), 'metricproxy: [emerg] unknown "nope" variable in /etc/mp/proxy.conf:4'],
  ['unclosed ${', server('location / { return 200 "${host"; }'), 'metricproxy: [emerg] the closing bracket in variable is missing in /etc/mp/proxy.conf:4'],
  ['set needs $', server('set foo bar;'), 'metricproxy: [emerg] invalid variable name "foo" in /etc/mp/proxy.conf:4'],
  ['set read-only variable', server('set $uri x;'), 'metricproxy: [emerg] the "uri" variable cannot be changed in /etc/mp/proxy.conf:4'],
  ['bad allow address', server('allow 10.0.0.300;'), 'metricproxy: [emerg] invalid parameter "10.0.0.300" in /etc/mp/proxy.conf:4'],
  ['bad cidr', server('deny 10.0.0.0/33;'), 'metricproxy: [emerg] invalid parameter "10.0.0.0/33" in /etc/mp/proxy.conf:4'],
  ['nested location outside parent', server('location /a {\nlocation /b { }\n}'), 'metricproxy: [emerg] location "/b" is outside location "/a" in /etc/mp/proxy.conf:5'],
  ['location inside exact', server('location = /a {\nlocation /a/b { }\n}'), 'metricproxy: [emerg] location "/a/b" cannot be inside the exact location "/a" in /etc/mp/proxy.conf:5'],
  ['duplicate location', server('location /a { }\nlocation /a { }'), 'metricproxy: [emerg] duplicate location "/a" in /etc/mp/proxy.conf:5'],
  ['bad location modifier', server('location !! /a { }'), 'metricproxy: [emerg] invalid location modifier "!!" in /etc/mp/proxy.conf:4'],
  ['bad regex', server('location ~ ^/(a { }'), 'metricproxy: [emerg] pcre2_compile() failed: Invalid regular expression: /^/(a/: Unterminated group in "^/(a" in /etc/mp/proxy.conf:4'],
  ['bad size', http('client_max_body_size 10q;'), 'metricproxy: [emerg] "client_max_body_size" directive invalid value in /etc/mp/proxy.conf:2'],
  ['bad time', http('keepalive_timeout soon;'), 'metricproxy: [emerg] "keepalive_timeout" directive invalid value in /etc/mp/proxy.conf:2'],
  ['unknown log format', http('access_log logs/a.log fancy;'), 'metricproxy: [emerg] unknown log format "fancy" in /etc/mp/proxy.conf:2'],
  ['duplicate log_format', http("log_format a '$uri';\nlog_format a '$uri';"), 'metricproxy: [emerg] duplicate "log_format" name "a" in /etc/mp/proxy.conf:3'],
  ['duplicate default server', http('server { listen 8080 default_server; }\nserver { listen 8080 default_server; }'), 'metricproxy: [emerg] a duplicate default server for *:8080 in /etc/mp/proxy.conf:3'],
  ['include missing file', 'include /nonexistent/mp.conf;', 'metricproxy: [emerg] open() "/nonexistent/mp.conf" failed (No such file or directory) in /etc/mp/proxy.conf:1'],
  ['quote glued to text', 'pid "a"b;', 'metricproxy: [emerg] unexpected "b" in /etc/mp/proxy.conf:1'],
  ['bad error_log level', 'error_log logs/e.log loud;', 'metricproxy: [emerg] invalid log level "loud" in /etc/mp/proxy.conf:1'],
];

describe('config errors (golden)', () => {
  it.each(ERRORS)('%s', (_name, text, expected) => {
    expect(errorLine(text)).toBe(expected);
  });

  it('has at least 25 golden cases', () => {
    expect(ERRORS.length).toBeGreaterThanOrEqual(25);
  });
});

/** name + args per directive, nested blocks indented: the parse result as text. */
function dump(text: string): string {
  const out: string[] = [];
  const walk = (ds: ReturnType<typeof parseText>, depth: number) => {
    for (const d of ds) {
      out.push(`${'  '.repeat(depth)}${d.line}:${[d.name, ...d.args].map((a) => JSON.stringify(a)).join(' ')}${d.block ? ' {' : ''}`);
      if (d.block) walk(d.block, depth + 1);
    }
  };
  walk(parseText(text, FILE, { baseDir: '/tmp' }), 0);
  return out.join('\n');
}

describe('parse results (golden)', () => {
  it('quotes, escapes, comments and ${var}', () => {
    expect(dump('a "x y" \'q\\\'z\' "\\t\\n\\\\" b\\"c; # comment\nb ${host}x "$1"{ c; }')).toBe(
      ['1:"a" "x y" "q\'z" "\\t\\n\\\\" "b\\"c"', '2:"b" "${host}x" "$1" {', '  2:"c"'].join('\n'),
    );
  });

  it('multi-line quoted strings keep their line breaks and starting line', () => {
    expect(dump('a "1\n2";\nb;')).toBe(['1:"a" "1\\n2"', '3:"b"'].join('\n'));
  });

  it('an unquoted { opens a block, as in nginx (regexes with braces need quotes)', () => {
    expect(dump('location ~ ^/a{ b; }')).toBe(['1:"location" "~" "^/a" {', '  1:"b"'].join('\n'));
  });

  it('quoted regex with braces is preserved', () => {
    expect(dump('location ~ "^/a{2}$" { }')).toBe('1:"location" "~" "^/a{2}$" {');
  });
});
