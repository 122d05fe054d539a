// Peer: @thi.ng/malloc MemPool over a plain ArrayBuffer (single-threaded only).
//
// Quirks the suite has to live with (see bench/README.md):
// - the pool cannot grow: its buffer is sized up front from the workload's estimate;
// - free() walks the list of used blocks from the most recently allocated one, and every free
//   walks the free list again to merge neighbours: O(live blocks) per operation, so FIFO frees and
//   random frees with many live blocks are quadratic (the runner's per-case time limit catches it);
// - malloc(0) returns 0 (so the suite never asks for 0 bytes);
// - realloc() that has to move a block "frees" the old block with the wrong address, which is not
//   found, so the old block leaks. The realloc workloads only grow the topmost block, which grows
//   in place, so they do not trip over it.
import { MemPool } from "@thi.ng/malloc";

const MAX_POOL = 2 ** 32 - 65536; // block addresses are stored in Uint32 words

class ThingInstance {
  constructor(bytes) {
    this.bytes = bytes;
    this.pool = new MemPool({ size: bytes, align: 8 });
  }
  malloc(n) { return this.pool.malloc(n); }
  free(p) { this.pool.free(p); }
  realloc(p, n) { return p === 0 ? this.pool.malloc(n) : this.pool.realloc(p, n); }
  calloc(c, n) { return this.pool.calloc(c * n); }
  slots(n) { return new Uint32Array(n); }
  /** forget every block (also the leaked ones) */
  reset() { this.pool.freeAll(); return true; }
  usable(p) { return this.pool.u32[(p - 8) >>> 2] - 8; }
  view() { return this.pool.u32; } // block size word precedes the data
  memStats(liveBlocks, liveUsable) {
    // O(free blocks), not O(used blocks): pool.stats() walks both lists, and with a million live
    // blocks one walk of the used list is ~0.1 s of cache misses
    const pool = this.pool;
    let freeBlocks = 0;
    for (let b = pool._free; b; b = pool.blockNext(b)) freeBlocks++;
    return {
      active: liveUsable != null ? liveUsable + 8 * liveBlocks : null, // used blocks, headers included
      mapped: pool.top,                         // high-water mark of the pool (never below live data)
      metadata: liveBlocks != null ? 28 + 8 * (liveBlocks + freeBlocks) : null,
      capacity: pool.buf.byteLength,
    };
  }
}

export default {
  id: "thi.ng",
  label: "@thi.ng/malloc MemPool",
  kind: "peer",
  async load() { return { ok: true }; },
  create(sizing) {
    const want = Math.ceil((sizing.bytes * 1.5 + (1 << 20)) / 65536) * 65536;
    return new ThingInstance(Math.min(MAX_POOL, Math.max(1 << 20, want)));
  },
};
