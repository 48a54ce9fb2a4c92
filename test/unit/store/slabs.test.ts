import { describe, expect, it } from 'vitest';
import { ReadCtx, type ApiObjectNode } from '../../../src/api/tree';
import { ConfigError } from '../../../src/config/errors';
import { SlabZones, unusedSlabView } from '../../../src/store/slabs';

const names = (node: ApiObjectNode) => [...node.keys(new ReadCtx())];

describe('SlabZones (nginx ngx_shared_memory_add rules)', () => {
  it('lists zones in declaration order; a name declared again is one zone, sized by whichever declaration gives a size', () => {
    const zones = new SlabZones();
    zones.declare('u', 'upstream', 0, unusedSlabView);
    zones.declare('m', 'metric', 65536, unusedSlabView);
    zones.declare('u', 'upstream', 65536, unusedSlabView);
    expect(names(zones.node())).toEqual(['u', 'm']);
    expect(() => zones.checkSized()).not.toThrow();
  });

  it('refuses two uses of one name, two sizes, and a zone never sized', () => {
    const zones = new SlabZones();
    zones.declare('z', 'metric', 65536, unusedSlabView);
    expect(() => zones.declare('z', 'upstream', 0, unusedSlabView)).toThrow(new ConfigError('the shared memory zone "z" is already declared for a different use'));
    expect(() => zones.declare('z', 'metric', 131072, unusedSlabView)).toThrow('the size 131072 of shared memory zone "z" conflicts with already declared size 65536');
    zones.declare('n', 'upstream', 0, unusedSlabView);
    expect(() => zones.checkSized()).toThrow('zero size shared memory zone "n"');
  });

  it('an upstream zone: every page free, no slot', () => {
    const zones = new SlabZones();
    zones.declare('u', 'upstream', 65536, unusedSlabView);
    const ctx = new ReadCtx();
    const u = zones.node().get('u', ctx) as ApiObjectNode;
    expect(names(u)).toEqual(['pages', 'slots']);
    const pages = u.get('pages', ctx) as ApiObjectNode;
    expect([pages.get('used', ctx), pages.get('free', ctx)]).toEqual([0, 15]);
    expect(names(u.get('slots', ctx) as ApiObjectNode)).toEqual([]);
  });
});
