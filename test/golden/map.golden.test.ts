import { describe, expect, it } from 'vitest';
import { Case, expectSameLoadError, goldenSuite, observe, startMetricproxy, startNginx } from '../helpers/nginx-golden';

/** `map`: nginx's matching order, captures, hostnames, volatile, the default. */
const BODY = `
map $arg_k $exact {
    default      dflt;
    ""           empty;
    abc          lower;
    \\default    escaped;
    ~^re(\\d+)$   regex-$1;
    ~*^CI        caseless;
    ~^abc        never-after-exact;
}
map $arg_h $host_kind {
    hostnames;
    default               none;
    example.com           exact;
    *.example.com         star-head;
    .sub.example.com      dot-head;
    www.example.*         tail;
    ~^(?<first>[a-z]+)\\.test$  regex-$first;
}
map $uri $route {
    ~^/api/(?<svc>[a-z]+)/  $svc;
    /m/status               status-page;
}
map $arg_n $no_default {
    one 1;
}
map "$arg_a:$arg_b" $pair {
    default   other;
    x:y       both;
    x:        only-a;
}
map $arg_v $chained {
    default  "[$exact]";
    self     "[$route]";
}
server {
    listen 127.0.0.1:PORT;
    location /m/ { return 200 "exact=$exact host=$host_kind route=$route nd=[$no_default] pair=$pair chained=$chained\\n"; }
    location /api/ { return 200 "route=$route\\n"; }
}
`;

const query = (q: string): Case => ({ name: `map ?${q}`, path: `/m/x?${q}` });

const CASES: Case[] = [
  query('k=abc'),
  query('k=ABC'),
  query('k='),
  query(''),
  query('k=default'),
  query('k=re42'),
  query('k=re4x'),
  query('k=cIxyz'),
  query('k=abcd'),
  query('k=zzz'),
  query('h=example.com'),
  query('h=EXAMPLE.com.'),
  query('h=a.example.com'),
  query('h=sub.example.com'),
  query('h=deep.sub.example.com'),
  query('h=www.example.org'),
  query('h=foo.test'),
  query('h=foo.bar.test'),
  query('h=other.org'),
  query('n=one'),
  query('n=two'),
  query('a=x&b=y'),
  query('a=x'),
  query('b=y'),
  query('v=self'),
  query('v=x&k=abc'),
  { name: 'map regex capture in a second location', path: '/api/users/42' },
  { name: 'map exact uri key', path: '/m/status' },
];

goldenSuite('map: metricproxy answers as nginx does', BODY, CASES);

/** Results are cached per request (a later change of the source is not seen) unless `volatile`. */
const CACHE_BODY = `
map $src $cached { default "<$src>"; }
map $src $fresh { volatile; default "<$src>"; }
server {
    listen 127.0.0.1:PORT;
    location / {
        set $src a;
        set $first_cached $cached;
        set $first_fresh $fresh;
        set $src b;
        return 200 "$first_cached $cached $first_fresh $fresh\\n";
    }
}
`;

describe('map: cached per request, volatile re-evaluated', () => {
  it('as nginx', async () => {
    const [n, m] = await Promise.all([startNginx(CACHE_BODY), startMetricproxy(CACHE_BODY)]);
    try {
      const c: Case = { name: 'cache', path: '/' };
      const [want, got] = await Promise.all([observe(n, c), observe(m, c)]);
      expect(want.body).toBe('<a> <a> <a> <b>\n');
      expect(got).toEqual(want);
    } finally {
      await Promise.all([n.stop(), m.stop()]);
    }
  });
});

describe('map: bad blocks fail the load with the line nginx names', () => {
  it.each([
    ['a row with two values', 'map $uri $a { x y z; }'],
    ['a bad regex', 'map $uri $a {\n  ~^(x 1;\n}'],
    ['two defaults', 'map $uri $a {\n default 1;\n default 2;\n}'],
    ['a duplicate key', 'map $uri $a {\n x 1;\n X 2;\n}'],
    ['a bad wildcard', 'map $uri $a {\n hostnames;\n a.*.b 1;\n}'],
    ['a result that is not a variable', 'map $uri a { }'],
    ['an unknown variable in a value', 'map $uri $a {\n x $nope;\n}'],
  ])('%s', (_name, body) => expectSameLoadError(body));
});
