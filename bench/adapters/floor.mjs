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
// no-allocator-touch and no-allocator-mark (below) are the floors of a free that keeps something in
// the freed block: a free list per size, whose links (and marks) live in the blocks.
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

// The floors of a free that keeps something in the freed block. A bump pointer would hand out new
// memory on every malloc of random replace (it never frees everything), and a write into a block
// that no one touched yet faults its page in: the floor would count page faults that no allocator
// takes. So these two reuse blocks as an allocator does: a LIFO free list per size (8-byte steps,
// up to MAX_SIZE), each size's blocks bumped out of its own area of the buffer (2^AREA_SHIFT bytes each,
// the first word written as a block is made, so its page is in), its size told by its address.
//
//   buffer:  | area 0 (unused) | area 1: 8-byte blocks | area 2: 16-byte blocks | ... | area 128 |
//            each area a bump pointer and a free list whose links live in the blocks' first word
const AREA_SHIFT = 23; // 8 MiB a size: log-uniform 8..1024 B puts ~1.7 MB of each size in a batch of 10^6
const MAX_SIZE = 1024;
const NSIZES = MAX_SIZE >>> 3;

class SizeLists {
  constructor() {
    this.i32 = new Int32Array(new SharedArrayBuffer((NSIZES + 1) * 2 ** AREA_SHIFT));
    this.u32 = new Uint32Array(this.i32.buffer);
    this.heads = new Int32Array(NSIZES + 1);
    this.tops = new Float64Array(NSIZES + 1);
    this.reset();
  }
  malloc(n) {
    const c = n === 0 ? 1 : (n + 7) >>> 3;
    if (c > NSIZES) throw new Error(`no-allocator floor: ${n} bytes, sizes stop at ${MAX_SIZE}`);
    const p = this.heads[c];
    if (p !== 0) {
      this.heads[c] = this.unlink(p);
      return p;
    }
    const t = this.tops[c];
    if (t + c * 8 > (c + 1) * 2 ** AREA_SHIFT) throw new Error(`no-allocator floor: the area of ${c * 8}-byte blocks is full`);
    this.tops[c] = t + c * 8;
    this.i32[t >>> 2] = 0; // make the block's page now, as an allocator carving it does
    return t;
  }
  free(p) {
    if (p === 0) return;
    const c = p >>> AREA_SHIFT;
    this.link(p, this.heads[c]);
    this.heads[c] = p;
  }
  /** The block after `p` on its list (malloc reads the freed block back). */
  unlink(p) { return this.i32[p >>> 2]; }
  /** Puts `p` on the list before `next` (free writes the block). */
  link(p, next) { this.i32[p >>> 2] = next; }
  realloc() { throw new Error("no-allocator floor: no realloc"); }
  calloc() { throw new Error("no-allocator floor: no calloc"); }
  slots(n) { return new Uint32Array(n); }
  reset() {
    // The areas' pages stay made: a new repetition reuses them, as an allocator reuses its memory.
    this.heads.fill(0);
    for (let c = 0; c <= NSIZES; c++) this.tops[c] = c * 2 ** AREA_SHIFT + (c === 0 ? 8 : 0);
    return true;
  }
  usable() { return 0; }
  view() { return this.u32; }
}

// no-allocator-touch (random replace only): free writes a link into the freed block, malloc reads
// it back. The floor of any allocator that keeps something in a freed block (a free-list link,
// thi.ng's and TLSF's headers) without reading it at free. jemalloc's free writes only metadata.
class NoAllocatorTouch extends SizeLists {}

// no-allocator-mark (batch, random replace, malloc+free of 16 and 32 B: the cache-hit pair's floor
// with the mark, and the trees up to depth 16: its 8 MiB area of 16-byte blocks holds no more):
// as sabmalloc's free mark is kept. Each free reads
// the freed block's first word and checks it for the mark before it writes the mark (a free that
// tells a live block from a freed one by what the block holds: DOUBLE_FREE while the first free sits
// in a thread cache), and each malloc reads it back (a free list's pop reads its link; sabmalloc's
// fill from a run checks the mark, so that a block written after its free is not handed out again
// from its run). The read at free is the costly one: a load whose value decides what happens next,
// where a write only goes to the store buffer. With 10^5 blocks and more, each touch misses the
// caches. jemalloc, with neither check, touches no block.
class NoAllocatorMark extends SizeLists {
  constructor() {
    super();
    this.bad = 0; // marks not found where they should be: counted, so that the reads are not dropped
  }
  unlink(p) {
    const w = this.i32[p >>> 2];
    if ((w & 1) === 0) this.bad++; // the mark is gone: written after its free
    this.i32[p >>> 2] = 0; // cleared as the block is handed out, as sabmalloc's malloc does
    return w ^ p ^ FREE_MARK;
  }
  link(p, next) {
    if ((this.i32[p >>> 2] & 1) !== 0) this.bad++; // marked already: a double free
    this.i32[p >>> 2] = next ^ p ^ FREE_MARK;
  }
}
const FREE_MARK = 0x7ee1f4ef; // odd: link ^ address ^ FREE_MARK has bit 0 set (links and addresses are multiples of 8)

// no-allocator-checked (malloc+free of 16 and 32 B, random replace, the trees up to depth 16): the
// mark floor, and before it trusts a pointer
// its free makes the checks sabmalloc's free fast path makes (the contract's INVALID_POINTER: a
// pointer that is no block's start is reported, not freed): a uint32 in a chunk of the heap, that
// chunk's entry in the chunk table, its page's info in the page map (a small run, its class, where
// the page sits in it), and a region boundary told by one multiply (sizeclass.ts: isRegionStart).
// The tables live at the bottom of the same buffer (area 0), read through the one view, as
// sabmalloc's metadata is. What it leaves out of sabmalloc's fast paths is the thread cache: a
// stack per class, its limit, and remote frees. jemalloc checks none of this.
//
//   area 0:  | chunk table: a word a 1 MiB chunk | page map: a word a 4 KiB page | (unused) |
//   page info: bits 0-7 state (1: a small run), 8-15 size in 8-byte steps, 16-31 the page's
//              start minus its area's, modulo the size (so the boundary check's offset stays small)
const CK_SHIFT = 20, PG_SHIFT = 12;
const CT_AT = 0, PM_AT = 2048; // word indices in area 0
const NCHUNKS = ((NSIZES + 1) * 2 ** AREA_SHIFT) / 2 ** CK_SHIFT;
class NoAllocatorChecked extends NoAllocatorMark {
  constructor() {
    super();
    const m = this.i32;
    this.div = new Int32Array(NSIZES + 1); // ceil(2^32 / size): sizeclass.ts's region divisor
    for (let c = 1; c <= NSIZES; c++) this.div[c] = Math.ceil(2 ** 32 / (c * 8)) | 0;
    for (let k = 2 ** AREA_SHIFT >>> CK_SHIFT; k < NCHUNKS; k++) m[CT_AT + k] = 1; // area 0 is no heap
    for (let g = 2 ** AREA_SHIFT >>> PG_SHIFT; g < NCHUNKS << (CK_SHIFT - PG_SHIFT); g++) {
      const c = g >>> (AREA_SHIFT - PG_SHIFT);
      m[PM_AT + g] = 1 | (c << 8) | ((((g << PG_SHIFT) - c * 2 ** AREA_SHIFT) % (c * 8)) << 16);
    }
  }
  free(p) {
    const m = this.i32;
    const c = p >>> CK_SHIFT;
    if ((p >>> 0) === p && c < NCHUNKS && m[CT_AT + c] === 1) {
      const info = m[PM_AT + (p >>> PG_SHIFT)];
      if ((info & 255) === 1) {
        const size = (info >>> 8) & 255;
        const div = this.div[size];
        const q = Math.imul(((p & ((1 << PG_SHIFT) - 1)) + (info >>> 16)) | 0, div); // as uint32 below div: a boundary
        if (q >= 0 && q < div) {
          super.free(p);
          return;
        }
      }
    }
    if (p !== 0) throw new Error(`no-allocator-checked: ${p} is no block's start`);
  }
}

// no-allocator-move (realloc only): the floor of growing a block under the contract's size
// classes. A request up to SMALL_MAX bytes gets the smallest of the seed's classes that holds it
// (8, 16, 32, 48, 64, then four classes a doubling), so a small block that grows into another class
// must move: a new block, the old one's bytes copied (as sabmalloc copies, 8 bytes at a time, or
// copyWithin past 256 bytes), the old one freed. Larger blocks grow in place (whole pages, as if the
// pages after them were free, as TLSF's block at the top of its heap does). The block's usable
// size sits in the 8 bytes before it.
const SMALL_MAX = 14336;
const CLASS_OF = (() => {
  const sizes = [8, 16, 32, 48, 64];
  for (let group = 64; sizes[sizes.length - 1] < SMALL_MAX; group *= 2) {
    for (let k = 1; k <= 4; k++) sizes.push(group + (k * group) / 4);
  }
  const t = new Int32Array((SMALL_MAX >>> 3) + 1);
  for (let i = 0, c = 0; i < t.length; i++) {
    while (sizes[c] < i * 8) c++;
    t[i] = sizes[c];
  }
  return t;
})();
const usableOf = (n) => (n <= SMALL_MAX ? CLASS_OF[(n + 7) >>> 3] : Math.ceil(n / 4096) * 4096);

class NoAllocatorMove extends NoAllocator {
  malloc(n) {
    const p = super.malloc(n + 8) + 8;
    this.f64[(p >>> 3) - 1] = usableOf(n);
    return p;
  }
  free(p) {
    if (p !== 0) super.free(p - 8);
  }
  realloc(p, n) {
    if (p === 0) return this.malloc(n);
    const f = this.f64;
    const have = f[(p >>> 3) - 1];
    const want = usableOf(n);
    if (want === have || (have > SMALL_MAX && want > SMALL_MAX)) {
      f[(p >>> 3) - 1] = want;
      if (p + want > this.top) this.top = p + want; // grown in place at the top
      return p;
    }
    const q = this.malloc(n);
    const words = (Math.min(have, want) + 7) >>> 3;
    if (words > 32) f.copyWithin(q >>> 3, p >>> 3, (p >>> 3) + words);
    else for (let i = 0, d = q >>> 2, s = p >>> 2; i < 2 * words; i++) this.i32[d + i] = this.i32[s + i];
    this.free(p);
    return q;
  }
}

/** A floor's adapter: it holds no memory of its own to measure; `only` narrows its workloads. */
function floorPeer(id, label, Impl, only) {
  return {
    id, label, kind: "peer", memory: false, only,
    async load() { return { ok: true }; },
    create(sizing) { return new Impl(sizing.bytes ?? 0); },
  };
}

export const noAllocatorMark = floorPeer("no-allocator-mark",
  "no allocator but a free list per size whose free reads each freed block's mark before it writes it, and whose malloc reads it back (the floor of a free mark; batch, random replace, the cache-hit pairs and the trees up to 65,535 nodes)",
  NoAllocatorMark, /^(batch|replace)\/|^malloc-free\/(16|32)$|^tree\/(4|10|16)$/);

export const noAllocatorChecked = floorPeer("no-allocator-checked",
  "no allocator but the free mark's free lists, and free checks the pointer as sabmalloc's fast path does (chunk table, page map, region boundary) before it trusts it (the floor of the cache-hit pair with the contract's checks; malloc+free of 16 and 32 B, random replace, the trees up to 65,535 nodes)",
  NoAllocatorChecked, /^replace\/1[kM]$|^malloc-free\/(16|32)$|^tree\/(4|10|16)$/);

export const noAllocatorTouch = floorPeer("no-allocator-touch",
  "no allocator but a free list per size: free writes a link into each freed block, malloc reads it back (the floor of a free that links or marks the block; random replace only)",
  NoAllocatorTouch, /^replace\//);

export const noAllocator = floorPeer("no-allocator",
  "no allocator at all (the floor): malloc bumps a pointer, free counts, realloc returns its block, calloc zeroes",
  NoAllocator);

export const noAllocatorMove = floorPeer("no-allocator-move",
  "no allocator, and a copy wherever a size class makes a growing block move (the floor of realloc under the seed's size classes; realloc only)",
  NoAllocatorMove, /^realloc\//);
