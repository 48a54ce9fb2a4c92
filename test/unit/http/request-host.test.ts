import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { requestHost, validateHost } from '../../../src/http/request-host';

describe('validateHost (nginx ngx_http_validate_host)', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['[::1]:80', '[::1]'],
    ['a\\b', 'a\\b'],
  ])('%s → %s', (raw, host) => {
    expect(validateHost(raw)).toBe(host);
  });

  it.each(['', 'a/b', 'a b', 'a\tb', 'a..b', 'a\0b', '[::1', '[::1]x', ':80'])('%j is refused', (raw) => {
    expect(validateHost(raw)).toBeUndefined();
  });
});

const req = (url: string, host?: string) => ({ url, headers: host === undefined ? {} : { host } }) as unknown as IncomingMessage;

describe('requestHost', () => {
  it('an absolute-form target wins over Host (RFC 9112 3.2.2)', () => {
    expect(requestHost(req('http://X.test:81/p', 'admin.local'))).toBe('x.test');
    expect(requestHost(req('HTTPS://y.test', 'admin.local'))).toBe('y.test');
  });

  it('origin-form goes by Host; none at all is the empty host', () => {
    expect(requestHost(req('/p', 'Admin.Local'))).toBe('admin.local');
    expect(requestHost(req('/p'))).toBe('');
  });

  it('userinfo or an invalid host in the target is refused', () => {
    expect(requestHost(req('http://user@x/', 'x'))).toBeUndefined();
    expect(requestHost(req('http://a..b/', 'x'))).toBeUndefined();
  });
});
