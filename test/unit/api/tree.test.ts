import { describe, expect, it } from 'vitest';
import { withReadCtx } from '../../../src/api/tree';

describe('withReadCtx', () => {
  it('closes what the read opened, also when the read throws', () => {
    const closed: string[] = [];
    expect(withReadCtx((ctx) => ctx.use('txn', () => 'snapshot', (v) => closed.push(v)))).toBe('snapshot');
    expect(closed).toEqual(['snapshot']);
    expect(() =>
      withReadCtx((ctx) => {
        ctx.use('txn', () => 'second', (v) => closed.push(v));
        throw new Error('store failed');
      }),
    ).toThrow('store failed');
    expect(closed).toEqual(['snapshot', 'second']);
  });
});
