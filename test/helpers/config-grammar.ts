import fc from 'fast-check';

/**
 * fast-check arbitraries for config text: a grammar that writes mostly
 * plausible nginx configs (every directive metricproxy knows, in and out
 * of place, with good and bad arguments), and a dictionary of tokens that
 * mutations splice into real configs.
 */

/** Words a mutation may insert: directive names, punctuation, edge-case values. */
export const TOKENS: readonly string[] = [
  // directives, known and harmless-ignored
  'http', 'server', 'location', 'listen', 'server_name', 'return', 'set', 'allow', 'deny', 'add_header',
  'keepalive_timeout', 'client_max_body_size', 'log_format', 'access_log', 'error_log', 'worker_processes',
  'events', 'worker_connections', 'pid', 'daemon', 'include', 'upstream', 'proxy_pass', 'proxy_set_header',
  'proxy_read_timeout', 'proxy_next_upstream', 'proxy_next_upstream_tries', 'metric_zone', 'metric_complex_zone',
  'metric', 'metric_store', 'api', 'prometheus', 'prometheus_template', 'status_zone', 'sendfile', 'types',
  'client_header_timeout', 'keepalive', 'zone', 'least_conn', 'hash', 'ip_hash', 'random',
  // punctuation and lexer edge cases
  '{', '}', ';', '"', "'", '\\', '#', '$', '${', '${uri}', '${nope', '$1', '$9', '$uri', '$nope', '$arg_x',
  '$metric_z', '$metric_z_key', '$metric_z_value', '$p8s_value', '=', '~', '~*', '^~', '@named', '(', ')', '[', '*',
  // values
  'on', 'off', 'auto', '0', '1', '-1', '65536', '99999999999999999999', '1k', '32k', '1m', '1g', '64g', '1e999',
  'nan', 'inf', '+Inf', '300ms', '1h30m', '1M', '127.0.0.1:0', '127.0.0.1:8080', '[::1]:80', '[::1', '0.0.0.0/33',
  '::/0', 'all', 'default_server', 'count', 'gauge', 'last', 'min', 'max', 'average', 'mean', 'exp', 'histogram',
  'count=0', 'count=3', 'count=99999999', 'count=9999999999', 'window=0', 'window=5s', 'factor=100', 'factor=50',
  'expire=on', 'expire=maybe', 'discard_key=', 'discard_key="old"', 'on=request', 'on=end', 'on=bogus', 'k=v',
  'path=/x', 'path=~(', 'path=~^/http/(.+)$', 'type=counter', 'type=nope', "'help=h'", 'weight=0', 'max_fails=2',
  'fail_timeout=1s', 'backup', 'down', 'http://127.0.0.1:1', 'http://up', 'http://', 'error', 'timeout', 'http_500',
  '/status/', '/', '/a', '^/(a', '(?P<n>x)', '\n', '\t', '\u0000', 'é', '😀', 'a'.repeat(300),
];

const word = fc.constantFrom(...TOKENS);

/** Mostly `good`, sometimes `bad`: enough valid configs reach the runtime, enough invalid ones hit each check. */
function mostly<T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: good, weight: 5 }, { arbitrary: bad, weight: 1 });
}

const size = mostly(fc.constantFrom('32k', '32768', '64k', '1m'), fc.constantFrom('0', '1k', '31k', 'x', '99999999999g'));
const key = fc.constantFrom('$uri', '$arg_k', '$http_x', '$request_method', 'const', '$status=$request_time', 'a=b=c', '$arg_k=$arg_v', '=1', '$1');
const metricName = fc.constantFrom('z', 'c', 'nope');

const mode = mostly(
  fc.constantFrom('count', 'gauge', 'last', 'min', 'max', 'average exp', 'average mean', 'histogram 1 2 inf', 'average mean window=5s count=3'),
  fc.tuple(fc.constantFrom('average exp', 'average mean', 'histogram'), fc.array(word, { maxLength: 3 })).map(([m, p]) => `${m} ${p.join(' ')}`),
);

const zoneOpts = fc.array(fc.constantFrom('expire=on', 'expire=off', 'discard_key=old', 'discard_key=', 'ttl=30s', 'ttl=0', 'ttl=abc'), { maxLength: 2 }).map((o) => o.join(' '));

const zone = fc.oneof(
  fc.tuple(metricName, size, zoneOpts, mode).map(([n, s, o, m]) => `metric_zone ${n}:${s} ${o} ${m};`),
  fc
    .tuple(metricName, size, zoneOpts, fc.array(fc.tuple(fc.constantFrom('a', 'b', '1', 'a'), mode), { maxLength: 4 }))
    .map(([n, s, o, subs]) => `metric_complex_zone ${n}:${s} ${o} { ${subs.map(([sn, m]) => `${sn} ${m};`).join(' ')} }`),
);

const quoted = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;

/** Directives that stand in a location (and mostly in a server too). */
const locationDirective = fc.oneof(
  fc.tuple(fc.constantFrom('200', '204', '301', '444', '999', '1000', 'abc'), fc.constantFrom('', 'ok', '$uri', 'http://x/')).map(([c, t]) => `return ${c} ${t};`),
  fc.tuple(fc.constantFrom('$v', '$uri', 'v', '$metric_z', '$metric_z_key', '$metric_z_value'), word).map(([n, v]) => `set ${n} ${quoted(v)};`),
  fc.tuple(fc.constantFrom('allow', 'deny'), fc.constantFrom('127.0.0.1', '::1', '10.0.0.0/8', 'fe80::/10', 'all', '1.2.3.4/40', 'x')).map(([d, a]) => `${d} ${a};`),
  fc.tuple(metricName, key, fc.constantFrom('', 'on=request', 'on=response', 'on=end', 'on=x')).map(([z, k, s]) => `metric ${z} ${k} ${s};`),
  fc.tuple(fc.constantFrom('/status/', '/status/http/metric_zones/$1', 'x'), fc.constantFrom('', ' write=on', ' write=bogus')).map(([p, w]) => `api ${p}${w};`),
  fc.constantFrom('all', 't', 'nope').map((t) => `prometheus ${t};`),
  fc.constantFrom('http://127.0.0.1:1', 'http://up', 'http://up/x', 'http://127.0.0.1:99999', 'ftp://x').map((u) => `proxy_pass ${u};`),
  fc.tuple(fc.constantFrom('proxy_read_timeout', 'proxy_connect_timeout', 'keepalive_timeout', 'client_header_timeout'), fc.constantFrom('1s', '300ms', '0', 'x')).map(([d, v]) => `${d} ${v};`),
  fc.constantFrom('error timeout', 'http_500 http_404', 'off', 'bogus').map((v) => `proxy_next_upstream ${v};`),
  fc.tuple(word, word).map(([n, v]) => `add_header ${quoted(n)} ${quoted(v)};`),
);

/** Any word as a directive, with any words as arguments. */
const anyDirective = fc.tuple(word, fc.array(word, { maxLength: 3 })).map(([n, a]) => `${n} ${a.map(quoted).join(' ')};`);
const bodyDirective = mostly(locationDirective, anyDirective);

const location: fc.Arbitrary<string> = fc.letrec<{ loc: string }>((tie) => ({
  loc: fc
    .tuple(
      mostly(fc.constantFrom('/', '/a', '/a/b', '= /x', '~ ^/(\\d+)$', '~* (?P<n>x)', '^~ /s'), fc.constantFrom('@named', '~ ^/(a', '!! /')),
      fc.array(fc.oneof({ depthSize: 'small', withCrossShrink: true }, bodyDirective, tie('loc')), { maxLength: 4 }),
    )
    .map(([m, body]) => `location ${m} { ${body.join(' ')} }`),
})).loc;

const server = fc
  .tuple(
    mostly(fc.constantFrom('127.0.0.1:8080', '8080', '[::1]:8080', '*:8081'), fc.constantFrom('127.0.0.1:0', 'localhost', '127.0.0.1:8080 default_server', ':')),
    fc.array(fc.constantFrom('example.com', '*.example.com', 'www.example.*', '.example.org', '~^(?<sub>.+)\\.x$', '_', '~('), { maxLength: 2 }),
    fc.array(fc.oneof(bodyDirective, location), { maxLength: 5 }),
  )
  .map(([l, names, body]) => `server { listen ${l}; ${names.length ? `server_name ${names.join(' ')};` : ''} ${body.join(' ')} }`);

const upstream = fc
  .array(fc.constantFrom('server 127.0.0.1:1;', 'server 127.0.0.1:2 weight=2 max_fails=1 fail_timeout=1s;', 'server x backup;', 'keepalive 4;', 'server 127.0.0.1:0;', 'server [::1]:3 down;', 'zone u 64k;', 'least_conn;', 'hash $arg_u consistent;', 'ip_hash;', 'random two least_conn;', 'random one;'), { maxLength: 3 })
  .map((s) => `upstream up { ${s.join(' ')} }`);

const template = fc
  .array(fc.constantFrom(`'a{k="$1"}' $p8s_value path=~^/http/metric_zones/z/metrics/(.+)$ type=counter;`, `'b' $p8s_value path=/connections/;`, `'c d' $p8s_value;`, `'e' $uri path=~(;`, `'f' x;`), { maxLength: 3 })
  .map((e) => `prometheus_template t { ${e.join(' ')} }`);

const httpDirective = fc.oneof(zone, upstream, template, bodyDirective, server);

/** A whole config: a few main-level directives and one http block built from the grammar. */
export const grammarConfig: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(fc.constantFrom('worker_processes 2;', 'worker_processes 0;', 'events { worker_connections 64; }', 'pid logs/p.pid;', 'daemon maybe;', 'error_log logs/e.log loud;'), { maxLength: 2 }),
    fc.array(httpDirective, { minLength: 1, maxLength: 8 }),
  )
  .map(([main, http]) => `${main.join('\n')}\nhttp {\n${http.join('\n')}\n}\n`);

/** Splits config text into tokens and the separators around them, so a mutation can work on either. */
export function pieces(text: string): string[] {
  return text.split(/(\s+|[{};])/).filter((p) => p !== '');
}

export type Mutation =
  | { op: 'delete'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'swap'; at: number; with: number }
  | { op: 'insert'; at: number; token: string }
  | { op: 'replace'; at: number; token: string }
  | { op: 'char'; at: number; char: string }
  | { op: 'truncate'; at: number };

/** Positions are fractions of the length, so one mutation list fits any corpus entry. */
const at = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }).map((x) => x);

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  at.map((a) => ({ op: 'delete' as const, at: a })),
  at.map((a) => ({ op: 'duplicate' as const, at: a })),
  fc.tuple(at, at).map(([a, b]) => ({ op: 'swap' as const, at: a, with: b })),
  fc.tuple(at, word).map(([a, t]) => ({ op: 'insert' as const, at: a, token: ` ${t} ` })),
  fc.tuple(at, word).map(([a, t]) => ({ op: 'replace' as const, at: a, token: t })),
  fc.tuple(at, fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })).map(([a, c]) => ({ op: 'char' as const, at: a, char: c })),
  at.map((a) => ({ op: 'truncate' as const, at: a })),
);

/** Applies mutations in order to the token list of `text`. */
export function mutate(text: string, mutations: readonly Mutation[]): string {
  let p = pieces(text);
  for (const m of mutations) {
    if (p.length === 0) break;
    const i = Math.floor(m.at * p.length);
    switch (m.op) {
      case 'delete': p.splice(i, 1); break;
      case 'duplicate': p.splice(i, 0, p[i]); break;
      case 'swap': {
        const j = Math.floor(m.with * p.length);
        [p[i], p[j]] = [p[j], p[i]];
        break;
      }
      case 'insert': p.splice(i, 0, m.token); break;
      case 'replace': p[i] = m.token; break;
      case 'char': p[i] = p[i].slice(0, 1) + m.char + p[i].slice(1); break;
      case 'truncate': p = p.slice(0, Math.max(1, i)); break;
    }
  }
  return p.join('');
}
