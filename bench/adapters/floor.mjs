// The floor: every workload's loop with no allocator at all. What a workload costs here is what
// its loop, its trace reads and its writes cost on this machine, so that the gap between this
// column and an allocator's is the allocator's own work.
//
//   malloc(n)      hands out the next address of a bump pointer (8-byte aligned) over one shared
//                  buffer; when no block is live it starts again from the bottom, and it wraps
//                  to the bottom at the buffer's end (only the tree workloads write their blocks,
//                  and they free every tree before the next, so a wrap never overlaps a live node)
//   free(p)        counts the live blocks, nothing else
//   realloc(p, n)  returns p: as if every block could grow in place, no copy
//   calloc(1, n)   a malloc and the zeroing that calloc owes (8-byte stores over the shared buffer,
//                  unrolled by eight, as sabmalloc's zeroing is: the fastest way measured)
//
// no-allocator-touch (random replace only) is the same with one write into each freed block, its
// first word: what any allocator pays that keeps something in a freed block (a free-list link,
// thi.ng's and TLSF's headers, sabmalloc's free mark, which is how it tells a block written after
// its free). With a million live blocks that write misses the caches; jemalloc's free writes
// only its metadata.
const MiB = 1 << 20;

class NoAllocator {
  constructor(bytes) {
    // Virtual: pages are touched only as the bump pointer reaches them.
    const size = Math.min(1024, Math.max(64, Math.ceil((2 * bytes) / MiB))) * MiB;
    this.i32 = new Int32Array(new SharedArrayBuffer(size));
    this.u32 = new Uint32Array(this.i32.buffer);
    this.f64 = new Float64Array(this.i32.buffer);
    this.end = size;
    this.top = 8; // offset 0 stays unused so that 0 can mean "null"
    this.high = 8;
    this.live = 0;
  }
  malloc(n) {
    const need = (n + 7) & ~7;
    let t = this.top;
    if (t + need > this.end) t = 8;
    this.top = t + need;
    if (this.top > this.high) this.high = this.top;
    this.live++;
    return t;
  }
  free(p) {
    if (p !== 0 && --this.live === 0) this.top = 8;
  }
  realloc(p, n) {
    return p === 0 ? this.malloc(n) : p;
  }
  calloc(c, n) {
    const bytes = c * n;
    const p = this.malloc(bytes);
    const f = this.f64;
    let i = p >>> 3;
    const end = i + ((bytes + 7) >>> 3);
    for (; i + 8 <= end; i += 8) { f[i] = 0; f[i + 1] = 0; f[i + 2] = 0; f[i + 3] = 0; f[i + 4] = 0; f[i + 5] = 0; f[i + 6] = 0; f[i + 7] = 0; }
    for (; i < end; i++) f[i] = 0;
    return p;
  }
  slots(n) { return new Uint32Array(n); }
  reset() { this.top = 8; this.live = 0; return true; }
  usable() { return 0; }
  view() { return this.u32; }
}

class NoAllocatorTouch extends NoAllocator {
  free(p) {
    if (p === 0) return;
    this.i32[p >>> 2] = p;
    if (--this.live === 0) this.top = 8;
  }
}

// no-allocator-mark (batch only) is the floor of a free mark, as sabmalloc keeps one: each free
// writes a mark into the freed block's first word, and each malloc reads the first word of the
// block it hands out, as a fill checks that the mark is still there (a block written after its free
// is never handed out). A batch frees every block, so the bump pointer starts again from the bottom
// and each round hands out the blocks of the round before, marked: two touches of each block per
// malloc+free pair, and with 10^5 or 10^6 blocks both miss the caches. jemalloc, with no such
// check, touches neither. (Random replace never frees every block, so this model would hand out
// new memory there; no-allocator-touch is its floor.)
class NoAllocatorMark extends NoAllocator {
  constructor(bytes) {
    super(bytes);
    this.bad = 0; // marks not found where they should be: read, so that the reads are not dropped
  }
  malloc(n) {
    const p = super.malloc(n);
    const w = this.i32[p >>> 2];
    if (w !== 0 && w !== (p ^ FREE_MARK)) this.bad++;
    return p;
  }
  free(p) {
    if (p === 0) return;
    this.i32[p >>> 2] = p ^ FREE_MARK;
    if (--this.live === 0) this.top = 8;
  }
}
const FREE_MARK = 0x7ee1f4ee;

/** A floor's adapter: it holds no memory of its own to measure; `only` narrows its workloads. */
function floorPeer(id, label, Impl, only) {
  return {
    id, label, kind: "peer", memory: false, only,
    async load() { return { ok: true }; },
    create(sizing) { return new Impl(sizing.bytes ?? 0); },
  };
}

export const noAllocatorMark = floorPeer("no-allocator-mark",
  "no allocator, and a mark written into each freed block and read back from each block handed out (the floor of a free mark; batch only)",
  NoAllocatorMark, /^batch\//);

export const noAllocatorTouch = floorPeer("no-allocator-touch",
  "no allocator, and one write into each freed block (the floor of a free that marks or links the block; random replace only)",
  NoAllocatorTouch, /^replace\//);

export const noAllocator = floorPeer("no-allocator",
  "no allocator at all (the floor): malloc bumps a pointer, free counts, realloc returns its block, calloc zeroes",
  NoAllocator);
