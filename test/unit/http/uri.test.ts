import { describe, expect, it } from 'vitest';
import { escapeUri, normalizeUri } from '../../../src/http/uri';

describe('$uri normalisation as nginx', () => {
  it.each([
    ['/', '/'],
    ['/a//b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/b/../c', '/a/c'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/%41%62', '/Ab'],
    ['/caf%C3%A9', '/caf\u00c3\u00a9'],
    ['/..', undefined],
    ['/a/../../b', undefined],
    ['/%zz', undefined],
    ['/%00', undefined],
    ['relative', undefined],
  ])('%s → %s', (raw, expected) => expect(normalizeUri(raw)).toBe(expected));

  it('escapes bytes that cannot stand raw when proxying a decoded URI', () => {
    expect(escapeUri('/a b/caf\u00c3\u00a9?%')).toBe('/a%20b/caf%C3%A9%3F%25');
  });
});
