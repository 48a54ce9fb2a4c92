import { describe, expect, it } from 'vitest';
import { regexLiteralPrefix } from '../../../src/prometheus/prefix';

describe('regexLiteralPrefix', () => {
  it('takes the literal run after ^', () => {
    expect(regexLiteralPrefix('^/http/metric_zones/z/metrics/([^/]+)/n$')).toBe('/http/metric_zones/z/metrics/');
    expect(regexLiteralPrefix('^/http/metric_zones/upload/metrics/angie/stats/(.+)$')).toBe('/http/metric_zones/upload/metrics/angie/stats/');
  });

  it('unescapes escaped punctuation and stops at classes', () => {
    expect(regexLiteralPrefix('^\\/http\\/a\\.b\\d')).toBe('/http/a.b');
  });

  it('drops a quantified last character, which may be absent', () => {
    expect(regexLiteralPrefix('^/https?/')).toBe('/http');
    expect(regexLiteralPrefix('^/ab*')).toBe('/a');
    expect(regexLiteralPrefix('^/ab{0,2}')).toBe('/a');
  });

  it('is empty for unanchored patterns and top-level alternation', () => {
    expect(regexLiteralPrefix('/http/(.+)$')).toBe('');
    expect(regexLiteralPrefix('^/http/a|^/b')).toBe('');
  });

  it('keeps the prefix when the alternation is inside a group or a class', () => {
    expect(regexLiteralPrefix('^/http/(a|b)')).toBe('/http/');
    expect(regexLiteralPrefix('^/http/[|]')).toBe('/http/');
  });
});
