import { describe, expect, it } from 'vitest';
import { Slice, Sliced } from '../../../src/api/slices';
import { ApiTree, readInSlices, ReadCtx, StaticObject } from '../../../src/api/tree';
import type { HttpContext } from '../../../src/http/context';

/** A request whose client is gone once `gone.value` is set. */
function requestOf(gone: { value: boolean }): HttpContext {
  return { res: { get destroyed() { return gone.value; } }, req: { socket: { destroyed: false } } } as unknown as HttpContext;
}

/** A read of `steps` slices, each pausing once; records the turns it ran in. */
function* pausingRead(ctx: ReadCtx, closed: string[], steps: number, turns: number[]): Sliced<string> {
  ctx.use('txn', () => 'snapshot', (v) => closed.push(v));
  for (let i = 0; i < steps; i++) {
    turns.push(i);
    yield;
  }
  return 'done';
}

describe('readInSlices', () => {
  it('holds one ReadCtx across its slices and closes it afterwards, also when the read throws', async () => {
    const closed: string[] = [];
    const turns: number[] = [];
    expect(await readInSlices(requestOf({ value: false }), (ctx) => pausingRead(ctx, closed, 3, turns))).toBe('done');
    expect(turns).toEqual([0, 1, 2]);
    expect(closed).toEqual(['snapshot']);
    const failing = readInSlices(requestOf({ value: false }), function* (ctx): Sliced<never> {
      ctx.use('txn', () => 'second', (v) => closed.push(v));
      yield;
      throw new Error('store failed');
    });
    await expect(failing).rejects.toThrow('store failed');
    expect(closed).toEqual(['snapshot', 'second']);
  });

  it('lets other work run between slices, and stops when the client is gone', async () => {
    const gone = { value: false };
    const closed: string[] = [];
    const turns: number[] = [];
    const reading = readInSlices(requestOf(gone), (ctx) => pausingRead(ctx, closed, 1000, turns));
    // This loop runs between the read's slices: it sees the read part done.
    while (turns.length < 5) await new Promise((resolve) => setImmediate(resolve));
    gone.value = true;
    expect(await reading).toBeUndefined();
    expect(turns.length).toBeLessThan(1000);
    expect(closed).toEqual(['snapshot']);
  });

  it('pauses a walk only once its slice is used up', () => {
    const slice = new Slice(1000);
    slice.start();
    let due = 0;
    for (let i = 0; i < 10_000; i++) if (slice.due()) due++;
    expect(due).toBe(0);
    const spent = new Slice(0);
    spent.start();
    let first = -1;
    for (let i = 0; i < 1000 && first < 0; i++) if (spent.due()) first = i;
    expect(first).toBeGreaterThanOrEqual(0);
  });
});

describe('ApiTree.mount', () => {
  it('mounts nodes beside each other and refuses a path that is already mounted, as Angie does', () => {
    const tree = new ApiTree();
    tree.mount('/status/http/a', new StaticObject().set('x', 1));
    tree.mount('/status/http/b', 2);
    expect([...tree.root.keys()]).toEqual(['http']);
    expect([...(tree.root.get('http', new ReadCtx()) as StaticObject).keys()]).toEqual(['a', 'b']);
    expect(() => tree.mount('/status/http/a', 3)).toThrow('api path "/status/http/a" already exists');
    expect(() => tree.mount('/status/http/b/c', 3)).toThrow('api path "/status/http/b/c" already exists');
    expect(() => tree.mount('/status/http', 3)).toThrow('api path "/status/http" already exists');
  });
});
