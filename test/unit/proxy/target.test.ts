import { describe, expect, it } from 'vitest';
import { parsePassUrl, upstreamUri } from '../../../src/proxy/target';

describe('parsePassUrl', () => {
  it('splits host, port and URI part', () => {
    expect(parsePassUrl('http://127.0.0.1:8081')).toEqual({
      host: '127.0.0.1', port: 8081, uri: undefined, proxyHost: '127.0.0.1:8081', proxyPort: '8081', tls: false,
    });
    expect(parsePassUrl('http://backend/api/')).toEqual({
      host: 'backend', port: undefined, uri: '/api/', proxyHost: 'backend', proxyPort: '80', tls: false,
    });
    expect(parsePassUrl('http://b:80/').proxyHost).toBe('b');
    expect(parsePassUrl('HTTP://[::1]:81').proxyHost).toBe('[::1]:81');
    expect(parsePassUrl('http://[::1]').proxyHost).toBe('[::1]');
  });

  it('https: TLS to the upstream, port 443 unless named (and then left out of $proxy_host only when 443)', () => {
    expect(parsePassUrl('https://backend/x')).toEqual({
      host: 'backend', port: undefined, uri: '/x', proxyHost: 'backend', proxyPort: '443', tls: true,
    });
    expect(parsePassUrl('HTTPS://b:443').proxyHost).toBe('b');
    expect(parsePassUrl('https://b:80').proxyHost).toBe('b:80');
    expect(parsePassUrl('https://unix:/run/b.sock:/x/')).toMatchObject({ host: 'unix:/run/b.sock', uri: '/x/', tls: true });
  });

  it('rejects what nginx rejects', () => {
    expect(() => parsePassUrl('ftp://x')).toThrow('invalid URL prefix in "ftp://x"');
    expect(() => parsePassUrl('http://$host')).toThrow('variables in "proxy_pass" are not supported');
    expect(() => parsePassUrl('http://:80/')).toThrow('no host in upstream ":80/"');
    expect(() => parsePassUrl('http://a:0')).toThrow('invalid port in upstream "a:0"');
  });
});

describe('upstreamUri (nginx URI replacement)', () => {
  // [proxy_pass URI part, location, client target, $uri after rewrite (default: as sent), expected]
  const table: Array<[string | undefined, string, string, string | undefined, string]> = [
    [undefined, '/', '/a/b?x=1', undefined, '/a/b?x=1'],
    [undefined, '/name/', '/name/%7Euser//x?q', undefined, '/name/%7Euser//x?q'],
    ['/', '/name/', '/name/x?q=1', undefined, '/x?q=1'],
    ['/remote/', '/name/', '/name/a/b', undefined, '/remote/a/b'],
    ['/remote', '/name/', '/name/a', undefined, '/remotea'],
    ['/remote/', '/name', '/name', undefined, '/remote/'],
    ['/x/', '/name/', '/name/a%20b', undefined, '/x/a%20b'],
    ['/x/', '/name/', '/name//a/./b', undefined, '/x/a/b'],
    ['/exact', '/e', '/e?k', undefined, '/exact?k'],
    // the URI was rewritten: without a URI part the new $uri (escaped) is sent
    [undefined, '/', '/old?a=1', '/new path', '/new%20path?a=1'],
    // rewritten outside the location prefix: nginx passes the full changed URI
    ['/x/', '/name/', '/name/a', '/other', '/other'],
    // absolute-form targets are sent in origin form
    [undefined, '/', 'http://h/p?q', '/p', '/p?q'],
  ];
  it.each(table)('proxy_pass %s in location %s, request %s', (passUri, loc, raw, rewritten, expected) => {
    const q = raw.indexOf('?');
    const args = q < 0 ? '' : raw.slice(q + 1);
    const path = q < 0 ? raw : raw.slice(0, q);
    const uri = rewritten ?? decodeURIComponent(path).replace(/\/+/g, '/').replace(/\/\.\//g, '/');
    expect(upstreamUri({ passUri, locationPrefix: loc, uri, args, rawTarget: raw })).toBe(expected);
  });
});
