import { describe, expect, it } from 'vitest';
import { VariableRegistry } from '../../../src/http/variables';
import { configError } from '../api/harness';
import { templateOf } from './helpers';

/** The block of `prometheus_template t { ... }` written inline. */
function parse(body: string, vars = new VariableRegistry()) {
  vars.define('host', () => 'h');
  return templateOf('t', body, vars);
}

const errorOf = (body: string) => configError(() => parse(body));

describe('parseTemplate', () => {
  it('reads name, value, path, type and help', () => {
    const t = parse(`'stats{le="$1"}' $p8s_value path=~^/a/(.+)$ type=histogram 'help=Upload sizes';\nsum $p8s_value path=/a/sum;`);
    expect(t.name).toBe('t');
    const [stats, sum] = t.entries;
    expect(stats.family).toBe('stats');
    expect(stats.name).toEqual([{ kind: 'text', text: 'stats{le="' }, { kind: 'capture', index: 1 }, { kind: 'text', text: '"}' }]);
    expect(stats.value).toEqual({ kind: 'value' });
    expect(stats.match).toMatchObject({ kind: 'regex', prefix: '/a/' });
    expect(stats.type).toBe('histogram');
    expect(stats.help).toBe('Upload sizes');
    expect(sum.match).toEqual({ kind: 'exact', path: '/a/sum', prefix: '/a/sum' });
  });

  it('binds request variables used in labels or as the value', () => {
    const [e] = parse(`'up{host="\${host}"}' $host;`).entries;
    expect(e.match).toBeUndefined();
    expect(e.value).toMatchObject({ kind: 'variable', ref: { def: { name: 'host' } } });
    expect(e.name[1]).toMatchObject({ kind: 'variable', ref: { def: { name: 'host' } } });
  });

  it.each([
    ['m;', 'invalid number of metric parameters'],
    ['m value;', 'metric value "value" isn\'t a variable'],
    ['m $1;', 'metric value "$1" isn\'t a variable'],
    ['m_$1 $p8s_value;', 'invalid metric name: "m_$1" - only labels can contain variables'],
    ['1m $p8s_value;', 'invalid metric name "1m"'],
    ['"m-x" $p8s_value;', 'invalid metric name "m-x"'],
    [`'m{le=$1}' $p8s_value;`, 'invalid metric labels in "m{le=$1}"'],
    [`'m{le="a"' $p8s_value;`, 'invalid metric labels in "m{le="a""'],
    ['m $p8s_value path=;', 'empty metric matching path'],
    ['m $p8s_value path=~;', 'empty regex in metric matching path'],
    ['m $p8s_value path=~(;', 'pcre2_compile() failed'],
    ['m $p8s_value type=;', 'empty metric type'],
    ['m $p8s_value type=meter;', 'invalid metric type "meter"'],
    ['m $p8s_value help=;', 'empty metric help'],
    ['m $p8s_value size=1;', 'invalid metric parameter "size=1"'],
  ])('rejects %s', (body, message) => {
    const line = errorOf(body);
    expect(line).toContain(`metricproxy: [emerg] ${message}`);
    expect(line).toMatch(/ in test\.conf:2$/);
  });

  it('leaves unknown variables to the end of the load, as nginx resolves them last', () => {
    const vars = new VariableRegistry();
    parse('m $nope;', vars);
    expect(() => vars.finish()).toThrow('unknown "nope" variable');
  });
});
