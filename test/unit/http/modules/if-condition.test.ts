import { describe, expect, it } from 'vitest';
import type { Directive } from '../../../../src/config/parser';
import type { HttpContext } from '../../../../src/http/context';
import { compileCondition } from '../../../../src/http/modules/if-condition';
import { typeFor } from '../../../../src/http/mime';
import { VariableRegistry } from '../../../../src/http/variables';

const vars = new VariableRegistry();
vars.define('v', (r) => (r as unknown as { v: string }).v);
const ifOf = (...args: string[]): Directive => ({ name: 'if', args, quoted: args.map(() => false), file: 'f', line: 1 });
const request = (v: string) => ({ v, captures: null, namedCaptures: null }) as unknown as HttpContext;

describe('if conditions', () => {
  it.each([
    [['($v)'], 'x', true],
    [['($v)'], '0', false],
    [['($v)'], '', false],
    [['(', '$v', ')'], '1', true],
    [['($v', '=', 'a)'], 'a', true],
    [['($v', '!=', 'a)'], 'a', false],
    [['($v', '~', '^A)'], 'abc', false],
    [['($v', '~*', '^A)'], 'abc', true],
    [['($v', '!~', '^a)'], 'abc', false],
    [['($v', '!~*', '^B)'], 'abc', true],
    [['(-d', '/)'], '', true],
    [['(!-f', '/)'], '', true],
    [['(-e', '/nonexistent-path-for-if)'], '', false],
  ])('%j with $v=%j → %s', (args, v, want) => {
    expect(compileCondition(ifOf(...args), vars)(request(v))).toBe(want);
  });

  it('a regex match sets the captures', () => {
    const r = request('ab12');
    expect(compileCondition(ifOf('($v', '~', '([a-z]+)(\\d+))'), vars)(r)).toBe(true);
    expect(r.captures).toEqual(['ab12', 'ab', '12']);
  });

  it.each([
    [['$v'], 'invalid condition "$v"'],
    [['($v'], 'invalid condition "$v"'],
    [['($v', 'x)'], 'invalid condition "$v"'],
    [['($v', '<>', 'x)'], 'unexpected "<>" in condition'],
    [['(-q', 'x)'], 'invalid condition "-q"'],
    [['(x)'], 'invalid condition "x"'],
  ])('%j is refused: %s', (args, message) => {
    expect(() => compileCondition(ifOf(...args), vars)).toThrow(message);
  });
});

describe('types', () => {
  const types = new Map([['html', 'text/html'], ['gz', 'application/gzip']]);
  it.each([
    ['/a.html', 'text/html'],
    ['/a.HTML', 'text/html'],
    ['/a.tar.gz', 'application/gzip'],
    ['/dir.html/file', 'fallback'],
    ['/noext', 'fallback'],
    ['/.html', 'text/html'],
  ])('%s → %s', (p, want) => expect(typeFor(types, 'fallback', p)).toBe(want));
});
