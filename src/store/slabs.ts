import { ApiNode, ApiObjectNode, fromValue, lazyObject, ReadCtx } from '../api/tree';
import { ConfigError } from '../config/errors';
import { slabPages } from './slab';

/** A zone's slab pool as `/status/slabs/NAME` shows it, given the zone's size. */
export type SlabView = (ctx: ReadCtx, size: number) => ApiNode | undefined;

interface SharedZone {
  /** Who declared it (nginx's shm zone tag): zones of different uses may not share a name. */
  use: string;
  /** Bytes; 0 while no declaration gave a size. */
  size: number;
  view: SlabView;
}

/**
 * The shared memory zones of a load — metric zones and upstream `zone`s —
 * in declaration order, as Angie lists its slab pools under `/status/slabs`
 * (present, as an empty object, when there is none).
 */
export class SlabZones {
  private readonly zones = new Map<string, SharedZone>();

  /** nginx's ngx_shared_memory_add: a name is one zone; a second declaration may repeat its size or omit it. */
  declare(name: string, use: string, size: number, view: SlabView): void {
    const known = this.zones.get(name);
    if (known === undefined) {
      this.zones.set(name, { use, size, view });
      return;
    }
    if (size !== 0 && known.size !== 0 && size !== known.size) {
      throw new ConfigError(`the size ${size} of shared memory zone "${name}" conflicts with already declared size ${known.size}`);
    }
    if (known.use !== use) throw new ConfigError(`the shared memory zone "${name}" is already declared for a different use`);
    if (size !== 0) known.size = size;
  }

  /** nginx refuses, at start, a zone no declaration gave a size. */
  checkSized(): void {
    for (const [name, z] of this.zones) if (z.size === 0) throw new ConfigError(`zero size shared memory zone "${name}"`);
  }

  node(): ApiObjectNode {
    return lazyObject(
      () => this.zones.keys(),
      (name, ctx) => {
        const z = this.zones.get(name);
        return z === undefined ? undefined : z.view(ctx, z.size);
      },
    );
  }
}

/**
 * An upstream zone: metricproxy keeps upstream state in each worker's
 * memory, not in the zone, so its pages are all free and no slot was used.
 */
export const unusedSlabView: SlabView = (_ctx, size) => fromValue({ pages: { used: 0, free: slabPages(size) }, slots: {} });
