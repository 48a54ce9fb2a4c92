import { describe, expect, it } from 'vitest';
import { accessAllowed } from '../../../../src/http/modules/access';
import { parseCidr } from '../../../../src/http/ip';

const rules = (spec: Array<[boolean, string]>) =>
  spec.map(([allow, text]) => ({ allow, cidr: text === 'all' ? undefined : parseCidr(text) }));

describe('allow/deny: first match wins', () => {
  const r = rules([
    [false, '192.168.1.1'],
    [true, '192.168.1.0/24'],
    [true, '10.1.1.0/16'],
    [true, '2001:db8::/32'],
    [false, 'all'],
  ]);
  it.each([
    ['192.168.1.1', false],
    ['192.168.1.2', true],
    ['::ffff:192.168.1.7', true],
    ['10.1.200.3', true],
    ['10.2.0.1', false],
    ['2001:db8:1::5', true],
    ['2001:db9::1', false],
    ['127.0.0.1', false],
  ])('%s → %s', (addr, ok) => expect(accessAllowed(r, addr)).toBe(ok));

  it('no matching rule allows', () => {
    expect(accessAllowed(rules([[false, '10.0.0.1']]), '127.0.0.1')).toBe(true);
  });

  it('rejects malformed CIDRs', () => {
    for (const bad of ['10.0.0.0/33', '::/129', '1.2.3', '10.0.0.0/x', 'host']) expect(parseCidr(bad)).toBeUndefined();
  });

  it('IPv6 with embedded IPv4 and zero compression', () => {
    expect(accessAllowed(rules([[true, '::1'], [false, 'all']]), '0:0:0:0:0:0:0:1')).toBe(true);
    expect(accessAllowed(rules([[true, '::ffff:0:0/96'], [false, 'all']]), '::ffff:1.2.3.4')).toBe(false);
  });
});
