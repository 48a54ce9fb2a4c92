/**
 * The status tree that modules mount entries into. `api` walks it to answer
 * JSON and `prometheus` walks it to render templates: one source of truth.
 *
 * A node is a leaf value or an object node that lists its children lazily,
 * so reading one key of a 100,000-key zone never materialises the zone.
 */
import { runSliced, Slice, Sliced } from './slices';

export type ApiLeaf = number | string | boolean | null;
export type ApiNode = ApiLeaf | ApiObjectNode;

/**
 * What the tree sees of the request it answers: its query (`?updated=on`)
 * and whether its client is still there. The HTTP request satisfies it; the
 * tree knows nothing else of HTTP.
 */
export interface ApiRequest {
  readonly args: string;
  readonly res: { readonly destroyed: boolean };
  readonly req: { readonly socket: { readonly destroyed: boolean } };
}

/** Per-response read state: a consistent snapshot (one LMDB read txn), closed after the response. */
export class ReadCtx {
  private readonly resources = new Map<string, { value: unknown; close: (v: unknown) => void }>();
  readonly now = Date.now();

  /** The request being answered, for nodes that show something of it (`/status/angie/address`). */
  constructor(readonly request?: ApiRequest) {}

  use<T>(key: string, open: () => T, close: (v: T) => void): T {
    const r = this.resources.get(key);
    if (r !== undefined) return r.value as T;
    const value = open();
    this.resources.set(key, { value, close: close as (v: unknown) => void });
    return value;
  }

  close(): void {
    for (const r of this.resources.values()) r.close(r.value);
    this.resources.clear();
  }
}

/** Render time per slice before the worker's other connections get the event loop back. */
const SLICE_MS = 4;

/**
 * Runs a sliced read (see slices.ts) for the request `r` with a fresh
 * ReadCtx held across its slices (one snapshot for the whole answer) and
 * closed afterwards whatever happens. Undefined when the client went away
 * before it was done: the work stops at the next slice.
 */
export async function readInSlices<T>(r: ApiRequest, read: (ctx: ReadCtx, slice: Slice) => Sliced<T>): Promise<T | undefined> {
  const ctx = new ReadCtx(r);
  const slice = new Slice(SLICE_MS);
  try {
    return await runSliced(read(ctx, slice), slice, () => r.res.destroyed || r.req.socket.destroyed);
  } finally {
    ctx.close();
  }
}

export interface ApiObjectNode {
  readonly type: 'object';
  /** Child names in display order. */
  keys(ctx: ReadCtx): Iterable<string>;
  /** One child by name, or undefined when it does not exist. */
  get(name: string, ctx: ReadCtx): ApiNode | undefined;
  /**
   * `api ... write=on` DELETE of a child: empties or resets it; false when
   * there is no such child. Absent: the children cannot be reset (405).
   */
  resetChild?(name: string, ctx: ReadCtx): boolean;
}

/** `node` whose children DELETE resets with `reset`. */
export function resettable(node: ApiObjectNode, reset: (name: string, ctx: ReadCtx) => boolean): ApiObjectNode {
  return { type: 'object', keys: (ctx) => node.keys(ctx), get: (name, ctx) => node.get(name, ctx), resetChild: reset };
}

/**
 * The children of an object node in display order, as [name, node] pairs;
 * listed names whose `get` declines (undefined) are left out, as in Angie.
 * A plain iterator, not a generator: renders step it once per child.
 */
export function childIterator(node: ApiObjectNode, ctx: ReadCtx): Iterator<[string, ApiNode]> {
  const names = node.keys(ctx)[Symbol.iterator]();
  return {
    next(): IteratorResult<[string, ApiNode]> {
      for (;;) {
        const name = names.next();
        if (name.done === true) return { done: true, value: undefined };
        const child = node.get(name.value, ctx);
        if (child !== undefined) return { done: false, value: [name.value, child] };
      }
    },
  };
}

export function isObjectNode(n: ApiNode | undefined): n is ApiObjectNode {
  return typeof n === 'object' && n !== null && (n as ApiObjectNode).type === 'object';
}

/** An object node over a fixed set of children (each may itself be lazy). */
export class StaticObject implements ApiObjectNode {
  readonly type = 'object' as const;
  private readonly children = new Map<string, ApiNode | ((ctx: ReadCtx) => ApiNode)>();

  set(name: string, node: ApiNode | ((ctx: ReadCtx) => ApiNode)): this {
    this.children.set(name, node);
    return this;
  }

  has(name: string): boolean {
    return this.children.has(name);
  }

  keys(): Iterable<string> {
    return this.children.keys();
  }

  get(name: string, ctx: ReadCtx): ApiNode | undefined {
    const c = this.children.get(name);
    return typeof c === 'function' ? c(ctx) : c;
  }
}

/** An object node whose children come from functions (a zone's keys, a map's entries). */
export function lazyObject(
  keys: (ctx: ReadCtx) => Iterable<string>,
  get: (name: string, ctx: ReadCtx) => ApiNode | undefined,
): ApiObjectNode {
  return { type: 'object', keys, get };
}

/** Wraps a plain JS value (object/array-free records of leaves and records) as a node. */
export function fromValue(v: unknown): ApiNode {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'object') {
    const rec = v as Record<string, unknown>;
    return lazyObject(
      () => Object.keys(rec),
      (name) => (Object.prototype.hasOwnProperty.call(rec, name) ? fromValue(rec[name]) : undefined),
    );
  }
  return null;
}

/** The root `/status/` with mount points; modules mount at paths like `/status/http/metric_zones`. */
export class ApiTree {
  readonly root = new StaticObject();

  /**
   * Mounts a node at PATH (under /status/), making the objects on the way.
   * A path that is already there is refused, as Angie refuses it: two
   * modules must not answer one path (nor one hide the other's subtree).
   */
  mount(path: string, node: ApiNode | ((ctx: ReadCtx) => ApiNode)): void {
    const segs = path.split('/').filter((s) => s !== '');
    if (segs[0] !== 'status') throw new Error(`API mount outside /status: ${path}`);
    const taken = (): Error => new Error(`api path "${path}" already exists`);
    let cur = this.root;
    for (const seg of segs.slice(1, -1)) {
      const existing = cur.get(seg, new ReadCtx());
      if (existing instanceof StaticObject) {
        cur = existing;
        continue;
      }
      if (existing !== undefined) throw taken();
      const next = new StaticObject();
      cur.set(seg, next);
      cur = next;
    }
    const last = segs[segs.length - 1];
    if (cur.has(last)) throw taken();
    cur.set(last, node);
  }
}
