import { describe, expect, it } from 'vitest';
import { compileRegex, foldCase, takeUnboundedRegexes } from '../../../src/config/regex';

describe('foldCase spells a caseless regex without the i flag', () => {
  it.each([
    ['^/api', '^/[aA][pP][iI]'],
    ['[a-f0-9]+x', '[a-fA-F0-9]+[xX]'],
    ['[^q]', '[^qQ]'],
    ['\\w\\d\\x4a\\u00e9\\u{61}\\p{L}\\cJ', '\\w\\d\\x4a\\u00e9\\u{61}\\p{L}\\cJ'],
    ['(?<name>ab)\\k<name>', '(?<name>[aA][bB])\\k<name>'],
    ['(?<=z)', '(?<=[zZ])'],
    ['a{2,3}', '[aA]{2,3}'],
  ])('%s → %s', (source, folded) => {
    expect(foldCase(source)).toBe(folded);
  });

  it('matches exactly what the i flag matches, for ASCII', () => {
    const subjects = ['/API/x', '/api/X', '/Apix', 'ABCDEF', '/Ab-c', 'É'];
    for (const source of ['^/api/[a-z]$', '^/ap[i-k]', '[A-C]+', '^/a[^B]-C$']) {
      const folded = compileRegex(source, true);
      const flagged = new RegExp(source, 'i');
      expect(folded.flags).toBe('');
      for (const s of subjects) expect(folded.test(s)).toBe(flagged.test(s));
    }
  });
});

describe('compileRegex', () => {
  it('keeps regexes V8 cannot run in linear time and reports them', () => {
    takeUnboundedRegexes();
    expect(compileRegex('^/(a+)\\1$', true).test('/aAaA')).toBe(true);
    expect(compileRegex('^/(?!static)', false).test('/x')).toBe(true);
    compileRegex('^/(a+)+$', true);
    expect(takeUnboundedRegexes()).toEqual(['^/(a+)\\1$', '^/(?!static)']);
  });
});
