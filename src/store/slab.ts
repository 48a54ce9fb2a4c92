/**
 * Angie's byte accounting for a metric zone, so a zone of a given size holds
 * the same number of keys as in Angie.
 *
 * Angie takes every piece of a zone from nginx's slab allocator in 128-byte
 * chunks: 120 data bytes and an 8-byte pointer to the next chunk. A key's
 * node starts with an rbtree/queue header, so its key bytes begin at offset
 * 65 of the first chunk and flow over as many chunks as needed; then comes
 * an 8-byte "last data" word (on a fresh chunk if fewer than 16 bytes are
 * left) and the data items of every metric, each item on one chunk.
 */

const CHUNK_BYTES = 128;
const CHUNK_DATA = 120;
const WORD = 8;
const KEY_OFFSET = 65;
const PAGE = 4096;
const CHUNKS_PER_PAGE = PAGE / CHUNK_BYTES;

/**
 * sizeof(ngx_slab_pool_t) plus, for each of the 9 slot sizes (8..2048),
 * an ngx_slab_page_t (24 bytes) and an ngx_slab_stat_t (32 bytes).
 */
const SLAB_HEADER = 200 + 9 * 24 + 9 * 32;
const PAGE_DESCRIPTOR = 24;

/** The 4 KiB pages nginx's ngx_slab_init carves out of a zone of `size` bytes. */
export function slabPages(size: number): number {
  let pages = Math.floor((size - SLAB_HEADER) / (PAGE + PAGE_DESCRIPTOR));
  const start = Math.ceil((SLAB_HEADER + pages * PAGE_DESCRIPTOR) / PAGE) * PAGE;
  pages = Math.min(pages, Math.floor((size - start) / PAGE));
  return Math.max(pages, 0);
}

export function slabChunks(size: number): number {
  return slabPages(size) * CHUNKS_PER_PAGE;
}

/** The zone's shared context and its log context take one chunk each. */
const ZONE_CONTEXT_CHUNKS = 2;

const align8 = (n: number): number => Math.ceil(n / WORD) * WORD;

/**
 * Chunk counts for the nodes of one zone, given its metrics' data items
 * (ModeRow.items, concatenated in declaration order).
 */
export class NodeLayout {
  /** Extra chunks the data needs when its "last data" word sits at offset 8·i. */
  private readonly extraFrom: number[];

  constructor(private readonly items: readonly number[]) {
    this.extraFrom = [];
    for (let pos = 0; pos < CHUNK_DATA; pos += WORD) this.extraFrom.push(this.dataOverflow(pos));
  }

  /** Chunks taken by the node of a key of `keyBytes` bytes. */
  keyNodeChunks(keyBytes: number): number {
    let chunks = 1;
    let pos = KEY_OFFSET + keyBytes;
    if (pos > CHUNK_DATA) {
      const overflow = pos - CHUNK_DATA;
      const more = Math.ceil(overflow / CHUNK_DATA);
      chunks += more;
      pos = overflow - (more - 1) * CHUNK_DATA;
    }
    pos = align8(pos);
    if (CHUNK_DATA - pos < 2 * WORD) {
      chunks++;
      pos = 0;
    }
    return chunks + this.extraFrom[pos / WORD];
  }

  /** The discard key's node has an empty key: its data starts at align8(65). */
  discardNodeChunks(): number {
    return 1 + this.extraFrom[align8(KEY_OFFSET) / WORD];
  }

  /** Chunks a zone holds before its first key. */
  baseChunks(hasDiscardKey: boolean): number {
    return ZONE_CONTEXT_CHUNKS + (hasDiscardKey ? this.discardNodeChunks() : 0);
  }

  private dataOverflow(lastDataPos: number): number {
    let extra = 0;
    let pos = lastDataPos + WORD;
    for (const size of this.items) {
      if (CHUNK_DATA - pos < size) {
        extra++;
        pos = 0;
      }
      pos += size;
    }
    return extra;
  }
}
