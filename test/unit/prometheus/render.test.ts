import { describe, expect, it } from 'vitest';
import { ApiNode, fromValue, isObjectNode, lazyObject, ReadCtx, StaticObject } from '../../../src/api/tree';
import type { HttpContext } from '../../../src/http/context';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseText } from '../../../src/config/parser';
import { VariableRegistry } from '../../../src/http/variables';
import { parseTemplate } from '../../../src/prometheus/template';
import { UPLOAD_EXPOSITION } from '../../helpers/upload-exposition';
import { parseExposition, renderTemplate, templateOf } from './helpers';

const ctx = new ReadCtx();

/** A `/status` node holding one metric zone's `metrics` object. */
function zoneTree(zone: string, metrics: unknown) {
  const zoneNode = new StaticObject().set('discarded', 0).set('metrics', isObjectNode(metrics as ApiNode) ? (metrics as ApiNode) : fromValue(metrics));
  return new StaticObject().set('connections', fromValue({ accepted: 1 })).set('http', new StaticObject().set('metric_zones', new StaticObject().set(zone, zoneNode)));
}

const UPLOAD_TEMPLATE = `
'stats{le="$1"}' $p8s_value
    path=~^/http/metric_zones/upload/metrics/angie/stats/(.+)$
    type=histogram;
'stats_sum' $p8s_value path=/http/metric_zones/upload/metrics/angie/sum;
'stats_count' $p8s_value path=/http/metric_zones/upload/metrics/angie/count;
'avg_size' $p8s_value path=/http/metric_zones/upload/metrics/angie/avg_size;
`;

describe('renderTemplate', () => {
  it('renders the seed upload example exactly', () => {
    const tree = zoneTree('upload', {
      angie: { stats: { '64': 2, '256': 2, '1024': 2, '4096': 4, '16384': 5, '+Inf': 6 }, sum: 82953, count: 6, avg_size: 108.69376 },
    });
    const text = renderTemplate(templateOf('upload_metric', UPLOAD_TEMPLATE), tree, ctx);
    expect(text).toBe(UPLOAD_EXPOSITION);
    const families = parseExposition(text);
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ['stats', 'HISTOGRAM'],
      ['avg_size', 'UNTYPED'],
    ]);
  });

  it('renders the api.md first/second/keys example: first claim wins, unmatched entries print nothing', () => {
    const tree = zoneTree('z', { a: { n: 2 }, b: { n: 1 } });
    const tpl = templateOf(
      't',
      `'first{k="$1"}'  $p8s_value path=~^/http/metric_zones/z/metrics/([^/]+)/n$ type=counter 'help=First entry';
       'second{k="$1"}' $p8s_value path=~^/http/metric_zones/z/metrics/([^/]+)/n$ type=counter;
       'keys'           $p8s_value path=/http/metric_zones/z/metrics/ type=gauge;`,
    );
    expect(renderTemplate(tpl, tree, ctx)).toBe(
      ['# Angie Prometheus template "t"', '# HELP first First entry', '# TYPE first counter', 'first{k="a"} 2', 'first{k="b"} 1', '# TYPE keys gauge', 'keys 2', ''].join(
        '\n',
      ),
    );
  });

  it('offers objects as PATH/ with their child count, after their children (tree order)', () => {
    const tree = fromValue({ a: { x: 1, y: { z: 2 } } });
    const tpl = templateOf('t', `'v{p="$1"}' $p8s_value path=~^(/a.*)$;`);
    expect(renderTemplate(tpl, tree, ctx).split('\n').slice(1, -1)).toEqual([
      'v{p="/a/x"} 1',
      'v{p="/a/y/z"} 2',
      'v{p="/a/y/"} 1',
      'v{p="/a/"} 2',
    ]);
  });

  it('escapes label values and turns key bytes into valid UTF-8 injectively, as the JSON names them', () => {
    const keys = ['say "hi"', 'back\\slash', 'two\nlines', 'caf\xc3\xa9', 'bad\xff', 'bad\xfe'];
    const metrics: Record<string, number> = {};
    keys.forEach((k, i) => (metrics[k] = i));
    const tpl = templateOf('t', `'hits{key="$1"}' $p8s_value path=~^/http/metric_zones/z/metrics/([^/]+)$;`);
    const text = renderTemplate(tpl, zoneTree('z', metrics), ctx);
    expect(text.split('\n').slice(1, -1)).toEqual([
      'hits{key="say \\"hi\\""} 0',
      'hits{key="back\\\\\\\\slash"} 1',
      'hits{key="two\\nlines"} 2',
      'hits{key="café"} 3',
      'hits{key="bad\\\\xFF"} 4',
      'hits{key="bad\\\\xFE"} 5',
    ]);
    const [family] = parseExposition(text);
    expect(family.metrics.map((m) => m.labels?.key)).toEqual(['say "hi"', 'back\\\\slash', 'two\nlines', 'café', 'bad\\xFF', 'bad\\xFE']);
  });

  it('spells non-finite values the text-format way, booleans as 1/0, and skips text leaves', () => {
    const tree = fromValue({ v: { inf: Infinity, ninf: -Infinity, nan: NaN, up: true, down: false, name: 'peer', num: '12.5', nil: null } });
    const tpl = templateOf('t', `'v{k="$1"}' $p8s_value path=~^/v/([^/]+)$;`);
    const text = renderTemplate(tpl, tree, ctx);
    expect(text.split('\n').slice(1, -1)).toEqual(['v{k="inf"} +Inf', 'v{k="ninf"} -Inf', 'v{k="nan"} NaN', 'v{k="up"} 1', 'v{k="down"} 0', 'v{k="num"} 12.5']);
    expect(() => parseExposition(text)).not.toThrow();
  });

  it('writes HELP and TYPE once per metric name, before its first samples', () => {
    const tree = fromValue({ a: { n: 1 }, b: { n: 2 } });
    const tpl = templateOf(
      't',
      `'n{z="a"}' $p8s_value path=/a/n type=gauge 'help=Per zone';
       'n{z="b"}' $p8s_value path=/b/n type=gauge 'help=Per zone';`,
    );
    expect(renderTemplate(tpl, tree, ctx)).toBe(['# Angie Prometheus template "t"', '# HELP n Per zone', '# TYPE n gauge', 'n{z="a"} 1', 'n{z="b"} 2', ''].join('\n'));
  });

  it('escapes backslashes and newlines in help text', () => {
    const tpl = templateOf('t', `m $p8s_value path=/a "help=two\\nlines \\\\ here";`);
    expect(renderTemplate(tpl, fromValue({ a: 1 }), ctx)).toContain('# HELP m two\\nlines \\\\ here\n');
  });

  it('prints only the header when nothing matches', () => {
    const tpl = templateOf('t', `m $p8s_value path=/nope type=gauge;`);
    expect(renderTemplate(tpl, fromValue({ a: 1 }), ctx)).toBe('# Angie Prometheus template "t"\n');
  });

  it('samples an entry without path= once from its request variable', () => {
    const vars = new VariableRegistry();
    vars.define('answer', () => '42');
    const tpl = templateOf('t', `'life{q="$answer"}' $answer;\nnever $p8s_value;`, vars);
    expect(renderTemplate(tpl, fromValue({}), ctx, { moduleCtx: {} } as unknown as HttpContext)).toBe('# Angie Prometheus template "t"\nlife{q="42"} 42\n');
  });

  it('a request variable sees the value being rendered as $p8s_value (a `map` over a text state)', () => {
    const vars = new VariableRegistry();
    vars.define('p8s_value', (r) => r.moduleCtx.p8sValue as string | undefined);
    vars.define('state_num', (r) => ({ up: '1', down: '2' })[vars.lookup('p8s_value')!.get(r) ?? ''] ?? '0');
    const tpl = templateOf('t', `'state{peer="$1"}' $state_num path=~^/peers/([^/]+)/state$;`, vars);
    const tree = fromValue({ peers: { a: { state: 'up' }, b: { state: 'down' }, c: { state: 'odd' } } });
    expect(renderTemplate(tpl, tree, ctx, { moduleCtx: {} } as unknown as HttpContext)).toBe(
      '# Angie Prometheus template "t"\nstate{peer="a"} 1\nstate{peer="b"} 2\nstate{peer="c"} 0\n',
    );
  });

  it('does not list or read branches no entry can match', () => {
    const untouchable = lazyObject(
      () => {
        throw new Error('listed an unrelated branch');
      },
      () => {
        throw new Error('read an unrelated branch');
      },
    );
    const hugeZone = lazyObject(
      () => {
        throw new Error('listed every key to find one');
      },
      (name) => (name === 'angie' ? fromValue({ stats: { '64': 1 }, sum: 3, count: 1, avg_size: 3 }) : undefined),
    );
    const zones = new StaticObject().set('other', untouchable).set('upload', new StaticObject().set('metrics', hugeZone));
    const status = new StaticObject().set('connections', untouchable).set('http', new StaticObject().set('metric_zones', zones));
    const text = renderTemplate(templateOf('u', UPLOAD_TEMPLATE), status, ctx);
    expect(text).toContain('stats{le="64"} 1\nstats_sum 3\nstats_count 1\navg_size 3\n');
  });

  it('renders any number of samples (300,000 keys: no spread of the sample list onto the call stack)', () => {
    const keys = Array.from({ length: 300_000 }, (_, i) => `k${i}`);
    const metrics = lazyObject(
      () => keys,
      (name) => Number(name.slice(1)),
    );
    const tpl = templateOf('t', `'hits{key="$1"}' $p8s_value path=~^/http/metric_zones/z/metrics/([^/]+)$ type=counter;`);
    const text = renderTemplate(tpl, zoneTree('z', metrics), ctx);
    const lines = text.split('\n');
    expect(lines).toHaveLength(300_000 + 3);
    expect(lines[2]).toBe('hits{key="k0"} 0');
    expect(lines[300_001]).toBe('hits{key="k299999"} 299999');
  });

  it('keeps a key holding "/" one key label in the stock template, so no key forges labels or buckets', () => {
    const [block] = parseText(fs.readFileSync(path.join(__dirname, '../../../conf/prometheus_all.conf'), 'utf8'), 'all.conf', { baseDir: '/' });
    const tpl = parseTemplate('all', block.block ?? [], new VariableRegistry());
    const tree = fromValue({
      http: {
        metric_zones: {
          tenants: { discarded: 0, metrics: { 'a/b': 1, 'victim/0.1': 7, 'dup\xff': 2, 'dup\xfe': 3 } },
          sizes: { discarded: 0, metrics: { 'x/y': { '0.1': 1, inf: 2 } } },
        },
      },
    });
    const samples = renderTemplate(tpl, tree, ctx)
      .split('\n')
      .filter((l) => l.startsWith('angie_http_metric_zones_metrics'));
    expect(samples).toEqual([
      'angie_http_metric_zones_metrics{zone="tenants",key="a/b"} 1',
      'angie_http_metric_zones_metrics{zone="tenants",key="victim/0.1"} 7',
      'angie_http_metric_zones_metrics{zone="tenants",key="dup\\\\xFF"} 2',
      'angie_http_metric_zones_metrics{zone="tenants",key="dup\\\\xFE"} 3',
      'angie_http_metric_zones_metrics_bucket{zone="sizes",key="x/y",le="0.1"} 1',
      'angie_http_metric_zones_metrics_bucket{zone="sizes",key="x/y",le="inf"} 2',
    ]);
  });

  it('names a key holding "/" in a template path as \\x2F, exactly and by regex', () => {
    const tree = zoneTree('z', { 'a/b': { n: 4 }, a: { b: { n: 5 } } });
    const tpl = templateOf(
      't',
      `'one' $p8s_value 'path=/http/metric_zones/z/metrics/a\\x2Fb/n';
       'all{k="$1"}' $p8s_value path=~^/http/metric_zones/z/metrics/([^/]+)/n$;`,
    );
    expect(renderTemplate(tpl, tree, ctx).split('\n').slice(1, -1)).toEqual(['one 4']);
  });
});
