// realloc: in place when the class, the page run or the chunks allow; otherwise moved with its
// contents; realloc(p, 0) frees, realloc(0, n) allocates, and a failure leaves p as it was.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapOptions, SMALL_MAX } from "../src/index.js";
import { BIN_SIZE, NBINS } from "../src/sizeclass.js";
import { L } from "../src/layout.js";
import { addrPage, mapIdx } from "../src/space.js";
import { allocFilled, assertBlocks, assertHeapError, assertPattern, fillChunk0, fillPattern, freeAllAssertEmpty, internals, MiB, seedOf } from "./helpers.js";

const PAGE = 4096;
const CONFIGS: HeapOptions[] = [{ threadCache: true }, { threadCache: false }, { debug: true }];
const name = (o: HeapOptions): string => JSON.stringify(o);

function heapOf(o: HeapOptions, maxBytes = 256 * MiB): Heap {
  return Heap.create({ initialBytes: 1 << 20, maxBytes, arenas: 1, ...o });
}

/** Fills the block at p with the pattern of (p, n), returns the seed. */
function fill(heap: Heap, p: number, n: number): number {
  const seed = seedOf(p, n);
  fillPattern(heap, p, n, seed);
  return seed;
}


/**
 * Grows the block `p` of `size` bytes by doubling to 1 MiB, checking its bytes and the heap at
 * every step. Returns where it ended, the sizes at which it moved, and where it was after each step.
 */
function growByDoubling(heap: Heap, p: number, size: number): { p: number; moves: number[]; at: number[] } {
  let seed = fill(heap, p, size);
  const moves: number[] = [];
  const at: number[] = [];
  while (size < MiB) {
    const next = size * 2;
    const q = heap.realloc(p, next);
    assertPattern(heap, q, size, seed, `${size} -> ${next}`);
    if (q !== p) moves.push(next);
    at.push(q);
    p = q;
    size = next;
    seed = fill(heap, p, size);
    heap.check();
  }
  return { p, moves, at };
}
for (const o of CONFIGS) {
  test(`realloc within a size class returns the same pointer with the same bytes (${name(o)})`, () => {
    const heap = heapOf(o);
    for (let b = 0; b < NBINS; b++) {
      const lo = b === 0 ? 0 : BIN_SIZE[b - 1] + 1;
      const hi = BIN_SIZE[b];
      const p = heap.malloc(hi);
      const seed = fill(heap, p, hi);
      for (const n of new Set([lo, Math.max(lo, 1), (lo + hi) >>> 1, hi])) {
        if (n === 0) continue; // realloc(p, 0) frees
        assert.equal(heap.realloc(p, n), p, `class ${hi}: realloc to ${n} stays`);
        assert.equal(heap.usableSize(p), hi);
      }
      assertPattern(heap, p, hi, seed);
      heap.free(p);
    }
    heap.check();
  });

  test(`realloc to another small class moves the block and keeps min(old, new) bytes (${name(o)})`, () => {
    const heap = heapOf(o);
    const keepers = [heap.malloc(8), heap.malloc(100)]; // something else live around them
    for (const [from, to] of [[8, 9], [16, 8], [100, 1000], [1000, 100], [14336, 8], [24, 14336], [3000, 3073]]) {
      const p = heap.malloc(from);
      const seed = fill(heap, p, from);
      const q = heap.realloc(p, to);
      assert.notEqual(q, 0);
      assert.notEqual(q, p, `${from} -> ${to} changes class, so it moves`);
      assertPattern(heap, q, Math.min(from, to), seed, `${from} -> ${to}`);
      assert.equal(heap.usableSize(q), BIN_SIZE.find((s) => s >= to));
      assertHeapError(() => heap.usableSize(p), "INVALID_POINTER", "the old pointer is freed");
      heap.free(q);
    }
    for (const p of keepers) heap.free(p);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });

  test(`a large block shrinks in place and its tail pages go back (${name(o)})`, () => {
    const heap = heapOf(o);
    const p = heap.malloc(40 * PAGE);
    const seed = fill(heap, p, 40 * PAGE);
    const active = heap.stats().active;
    for (const pages of [30, 17, 5]) {
      assert.equal(heap.realloc(p, pages * PAGE - 100), p, `shrink to ${pages} pages`);
      assert.equal(heap.usableSize(p), pages * PAGE);
      assertPattern(heap, p, pages * PAGE - 100, seed);
      heap.check();
    }
    assert.equal(heap.stats().active, active - 35 * PAGE, "35 pages went back to the arena");
    // The tail is free again: a 35-page run fits right after the block.
    const q = heap.malloc(35 * PAGE);
    assert.equal(q, p + 5 * PAGE, "the freed tail is reused, lowest address first");
    heap.free(q);
    heap.free(p);
    heap.check();
  });

  test(`a large block grows in place into the free pages after it (${name(o)})`, () => {
    const heap = heapOf(o);
    const p = heap.malloc(5 * PAGE);
    const next = heap.malloc(5 * PAGE);
    const after = heap.malloc(5 * PAGE);
    assert.equal(next, p + 5 * PAGE, "runs are laid out one after another");
    const seed = fill(heap, p, 5 * PAGE);
    heap.free(next);
    heap.flush(); // a thread cache may hold the freed run; flushed, its pages are free
    assert.equal(heap.realloc(p, 7 * PAGE), p, "grows into the freed neighbour");
    assert.equal(heap.realloc(p, 10 * PAGE), p, "up to the whole neighbour");
    assert.equal(heap.usableSize(p), 10 * PAGE);
    assertPattern(heap, p, 5 * PAGE, seed);
    heap.check();
    // No room: the next run is live, so it moves.
    const seed2 = fill(heap, p, 10 * PAGE);
    const q = heap.realloc(p, 11 * PAGE);
    assert.notEqual(q, p, "the live neighbour blocks growth in place");
    assertPattern(heap, q, 10 * PAGE, seed2);
    assertHeapError(() => heap.usableSize(p), "INVALID_POINTER");
    heap.free(q);
    heap.free(after);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().active, 0);
  });

  test(`a large block grows in place up to the end of its chunk; past it, one behind another run moves (${name(o)})`, () => {
    const heap = heapOf(o);
    const fillers = fillChunk0(heap);
    const before = heap.malloc(20 * PAGE); // in the chunk, before p: p cannot become huge in place
    const p = heap.malloc(100 * PAGE); // nothing after it in its chunk
    assert.ok(p - before === 20 * PAGE && p % MiB !== 5 * PAGE, "p lies behind the other run");
    const toEnd = (Math.floor(p / MiB) * MiB + MiB - p) / PAGE;
    assert.ok(toEnd >= 100 && toEnd <= 251);
    const seed = fill(heap, p, 100 * PAGE);
    assert.equal(heap.realloc(p, toEnd * PAGE), p, `grows to the chunk's last page (${toEnd} pages)`);
    assert.equal(heap.usableSize(p), toEnd * PAGE);
    assertPattern(heap, p, 100 * PAGE, seed);
    heap.check();
    const q = heap.realloc(p, (toEnd + 1) * PAGE); // a run never crosses its chunk's end
    assert.notEqual(q, p);
    assertPattern(heap, q, 100 * PAGE, seed);
    heap.free(q);
    heap.free(before);
    for (const f of fillers) heap.free(f);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().active, 0);
  });

  test(`a large run with its chunk to itself becomes huge in place, and then grows and shrinks as one (${name(o)})`, () => {
    const heap = heapOf(o);
    const fillers = fillChunk0(heap);
    const p = heap.malloc(200 * PAGE); // at the first data page of an empty chunk
    assert.equal(p % MiB, 5 * PAGE);
    const seed = fill(heap, p, 200 * PAGE);
    const large0 = heap.stats().arenas[0].large;
    const huge0 = heap.stats().huge;
    const mapped0 = heap.stats().mapped;
    assert.equal(heap.realloc(p, 251 * PAGE), p, "the whole chunk: still a large run");
    assert.equal(heap.realloc(p, MiB), p, "past the largest large run: huge, in place");
    assert.equal(heap.usableSize(p), MiB);
    assertPattern(heap, p, 200 * PAGE, seed);
    heap.check();
    let st = heap.stats();
    assert.equal(st.huge.allocated, huge0.allocated + MiB);
    assert.equal(st.huge.nmalloc, huge0.nmalloc + 1, "counted as a huge block made");
    assert.equal(st.arenas[0].large.allocated, large0.allocated - 200 * PAGE, "and no longer a large run");
    assert.equal(st.arenas[0].large.nfree, large0.nfree + 1);
    assert.equal(st.mapped, mapped0 + MiB, "its chunk and the next one");
    // Its chunk's header pages stay unused: a pointer there, or inside the block, is not a block.
    assertHeapError(() => heap.free(p - PAGE), "INVALID_POINTER", "in the header pages before it");
    assertHeapError(() => heap.free(p + PAGE), "INVALID_POINTER", "inside it");
    assertHeapError(() => heap.usableSize(p - 5 * PAGE), "INVALID_POINTER", "its chunk's first byte");
    // Huge now, it grows over the chunks after it and shrinks in place, keeping its start.
    const seed2 = fill(heap, p, MiB);
    assert.equal(heap.realloc(p, 3 * MiB + 3), p);
    assert.equal(heap.usableSize(p), 3 * MiB + PAGE);
    assertPattern(heap, p, MiB, seed2);
    heap.check();
    assert.equal(heap.realloc(p, MiB + 7 * PAGE), p);
    assert.equal(heap.usableSize(p), MiB + 7 * PAGE);
    assertPattern(heap, p, MiB, seed2);
    heap.check();
    // Freed, its first chunk is the arena's again, empty (arena.ts: insetToSpare): a large run
    // lands where the block was. The chunks after it went to the pool, where a huge block finds them.
    heap.free(p);
    heap.check();
    st = heap.stats();
    assert.equal(st.huge.allocated, huge0.allocated);
    assert.equal(st.huge.nfree, huge0.nfree + 1);
    assert.equal(st.mapped, mapped0, "its first chunk stays mapped, as the arena's; the next one is the pool's");
    assertHeapError(() => heap.free(p), "INVALID_POINTER", "freed twice: its pages are free space of the arena");
    const r = heap.malloc(200 * PAGE);
    assert.equal(r, p, "the arena's empty chunk, from its first data page");
    const q = heap.malloc(2 * MiB);
    assert.equal(q, p - 5 * PAGE + MiB, "the chunks after it, from the pool");
    heap.check();
    heap.free(r);
    heap.free(q);
    for (const f of fillers) heap.free(f);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });

  test(`a large run that shares its chunk moves to become huge (${name(o)})`, () => {
    const heap = heapOf(o);
    const fillers = fillChunk0(heap);
    const p = heap.malloc(200 * PAGE);
    const other = heap.malloc(30 * PAGE); // after p, in p's chunk
    assert.equal(Math.floor(other / MiB), Math.floor(p / MiB));
    const seed = fill(heap, p, 200 * PAGE);
    const q = heap.realloc(p, MiB);
    assert.notEqual(q, p);
    assert.equal(q % MiB, 0, "a huge block of its own");
    assertPattern(heap, q, 200 * PAGE, seed);
    heap.check();
    for (const b of [q, other, ...fillers]) heap.free(b);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });

  test(`a run of chunk 0 that grows past ${16} pages moves to an empty chunk's start, then grows to 1 MiB without moving again (${name(o)})`, () => {
    const heap = heapOf(o);
    const keep = heap.malloc(8); // chunk 0 is in use
    const start = heap.malloc(16 * 1024); // a large run from the start: malloc places it in chunk 0
    assert.ok(start < MiB, "in chunk 0");
    const { p, moves } = growByDoubling(heap, start, 16 * 1024);
    assert.equal(p % MiB, 5 * PAGE, "it ends at its chunk's first data page");
    assert.ok(p >= MiB, "outside chunk 0");
    // Up to 64 KiB it moves or grows as it may; at 128 KiB (past 16 pages) it leaves chunk 0, and
    // then it grows in place: 256 and 512 KiB as a large run, 1 MiB as a huge block.
    assert.deepEqual(moves.filter((n) => n > 16 * PAGE), [131072], `moves at ${moves.join(", ")}`);
    assert.equal(heap.usableSize(p), MiB);
    heap.free(p);
    heap.free(keep);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });

  test(`a small block growing into a large run moves to an empty chunk's start at once, then grows to 1 MiB without moving again (${name(o)})`, () => {
    const heap = heapOf(o);
    const keep = heap.malloc(8); // chunk 0 is in use
    const { p, moves, at } = growByDoubling(heap, heap.malloc(8), 8);
    // 16 KiB is the first large size: the block leaves its small run for a chunk's first data
    // page there, and grows in place from then on (as a large run, then as a huge block).
    const first = at[10]; // the realloc to 16 KiB (16 << 10)
    assert.ok(moves.includes(16384), `moves at ${moves.join(", ")}`);
    assert.deepEqual(moves.filter((n) => n > 16384), [], `moves at ${moves.join(", ")}`);
    assert.equal(first % MiB, 5 * PAGE, "at its chunk's first data page");
    assert.ok(first >= MiB, "outside chunk 0");
    assert.equal(p, first);
    assert.equal(heap.usableSize(p), MiB);
    assert.equal(heap.stats().huge.allocated, MiB);
    heap.free(p);
    heap.free(keep);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });

  test(`blocks of chunk 0 grown one after another do not take a chunk each (${name(o)})`, () => {
    const heap = heapOf(o);
    const blocks: number[] = [];
    for (let i = 0; i < 24; i++) {
      let p = heap.malloc(8);
      for (let n = 16; n <= 100_000; n *= 2) p = heap.realloc(p, n);
      p = heap.realloc(p, 100_000);
      blocks.push(p);
    }
    const st = heap.stats();
    // 24 x 100 KB (25 pages each) fill about 2.4 chunks; runs moved to chunk starts leave at most
    // two chunks' worth of free pages behind them
    assert.ok(st.mapped <= 6 * MiB, `mapped ${st.mapped / MiB} MiB for ${(24 * 25 * PAGE) / MiB} MiB of blocks`);
    for (const p of blocks) heap.free(p);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });

  test(`a huge block grows and shrinks in place when the chunks after it allow (${name(o)})`, () => {
    const heap = heapOf(o);
    const p = heap.malloc(3 * MiB);
    const seed = fill(heap, p, 3 * MiB);
    assert.equal(heap.realloc(p, 5 * MiB + 1), p, "grows over unused chunks (the buffer grows)");
    assert.equal(heap.usableSize(p), 5 * MiB + PAGE);
    assert.equal(heap.stats().huge.allocated, 5 * MiB + PAGE);
    assertPattern(heap, p, 3 * MiB, seed);
    heap.check();
    assert.equal(heap.realloc(p, 2 * MiB - 5), p, "shrinks, giving its last chunks back");
    assert.equal(heap.usableSize(p), 2 * MiB);
    assertPattern(heap, p, 2 * MiB - 5, seed);
    heap.check();
    // The chunks given back are reused: a 3-chunk block lands right after.
    const q = heap.malloc(3 * MiB);
    assert.equal(q, p + 2 * MiB, "the freed chunks are reused, lowest first");
    // Now p cannot grow in place: it moves, keeping its bytes.
    const r = heap.realloc(p, 4 * MiB);
    assert.notEqual(r, p);
    assertPattern(heap, r, 2 * MiB - 5, seed);
    // Same chunk count, a different page count: in place.
    assert.equal(heap.realloc(r, 4 * MiB - 3 * PAGE), r);
    assert.equal(heap.usableSize(r), 4 * MiB - 3 * PAGE);
    heap.free(q);
    heap.free(r);
    heap.check();
    assert.equal(heap.stats().huge.allocated, 0);
  });

  test(`realloc across kinds (small, large, huge) moves the block with its bytes (${name(o)})`, () => {
    const heap = heapOf(o);
    const path = [10, SMALL_MAX, SMALL_MAX + 1, 100 * PAGE, 251 * PAGE, 251 * PAGE + 1, 3 * MiB, 200 * PAGE, 5000, 8, 2 * MiB, 1];
    let n = path[0];
    let p = heap.malloc(n);
    let seed = fill(heap, p, n);
    for (const m of path.slice(1)) {
      const q = heap.realloc(p, m);
      assert.notEqual(q, 0, `${n} -> ${m}`);
      assertPattern(heap, q, Math.min(n, m), seed, `${n} -> ${m}`);
      assert.ok(heap.usableSize(q) >= m);
      heap.check();
      p = q;
      n = m;
      seed = fill(heap, p, n);
    }
    heap.free(p);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });

  test(`realloc(p, 0) frees p and returns 0; realloc(0, n) is malloc(n) (${name(o)})`, () => {
    const heap = heapOf(o);
    for (const n of [1, 100, 14336, 20000, 2 * MiB]) {
      const p = heap.realloc(0, n);
      assert.notEqual(p, 0);
      assert.ok(heap.usableSize(p) >= n);
      fill(heap, p, n);
      assert.equal(heap.realloc(p, 0), 0);
      assert.throws(() => heap.usableSize(p), "p was freed");
    }
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });

  test(`a realloc that cannot be met returns 0 and leaves the block as it was (${name(o)})`, () => {
    const heap = heapOf(o, 16 * MiB);
    for (const n of [100, 20000, 2 * MiB]) {
      const p = heap.malloc(n);
      const seed = fill(heap, p, n);
      const usable = heap.usableSize(p);
      // Chunk 0 is taken: 15 MiB + 1 would need 16 more chunks.
      for (const m of [16 * MiB + 1, 15 * MiB + 1, 2 ** 32]) {
        assert.equal(heap.realloc(p, m), 0, `realloc(${n}-byte block, ${m})`);
        assert.equal(heap.usableSize(p), usable);
        assertPattern(heap, p, n, seed);
        heap.check();
      }
      heap.free(p);
    }
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });
}

// With thread caches (the small steps' runs stay in the cache, so no chunk empties on the way); without
// them, the runs of the small steps leave an empty spare behind, and the chunk goes to the pool.
for (const o of [{ threadCache: true }, { debug: true }] as HeapOptions[]) {
  test(`a freed inset huge block's first chunk becomes its arena's spare, unless the arena has an empty one (${name(o)})`, () => {
    const heap = heapOf(o);
    const fillers = fillChunk0(heap);
    fillers.push(heap.malloc(251 * PAGE)); // a whole chunk: the arena's empty one, if it has one
    // Two blocks grown by doubling to 1 MiB: inset huge blocks, each at its chunk's first data page.
    const a = growByDoubling(heap, heap.malloc(8), 8).p;
    const b = growByDoubling(heap, heap.malloc(8), 8).p;
    assert.equal(a % MiB, 5 * PAGE);
    assert.equal(b % MiB, 5 * PAGE);
    const mapped0 = heap.stats().mapped;
    heap.free(a); // its first chunk: the arena's spare; the next one: the pool's
    assert.equal(heap.stats().mapped, mapped0 - MiB);
    heap.check();
    heap.free(b); // the arena has an empty spare: both chunks go to the pool
    assert.equal(heap.stats().mapped, mapped0 - 3 * MiB);
    heap.check();
    // The next block grown by doubling turns large in the spare, and stays there to 1 MiB.
    const c = growByDoubling(heap, heap.malloc(8), 8);
    assert.equal(c.at[10], a, "its 16 KiB step lands in the spare");
    assert.equal(c.p, a);
    assert.equal(heap.stats().mapped, mapped0 - 2 * MiB, "the spare and one chunk more, from the pool");
    heap.free(c.p);
    for (const f of fillers) heap.free(f);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });
}

test("large runs whose inside pages say PS_LARGE, as heaps before layout 5 wrote them, grow, shrink, split and free with check() passing", () => {
  // Heaps of layout 4 (which restore as this layout) marked every page of a large run PS_LARGE;
  // this layout leaves the pages inside a run PS_FREE and writes only the pages that change.
  const heap = Heap.create({ arenas: 1, threadCache: false, maxBytes: 64 * MiB });
  const fillers = fillChunk0(heap);
  const s = internals(heap);
  const olden = (p: number, pages: number): void => {
    const g = addrPage(s, p);
    for (let i = 1; i < pages - 1; i++) s.i32[mapIdx(s, g + i) + L.MAP_INFO] = L.PS_LARGE;
    heap.check();
  };
  const a = allocFilled(heap, 40 * PAGE);
  olden(a.p, 40);
  assert.equal(heap.realloc(a.p, 90 * PAGE), a.p, "grown in place");
  heap.check();
  olden(a.p, 90);
  assert.equal(heap.realloc(a.p, 10 * PAGE), a.p, "shrunk in place");
  heap.check();
  const b = allocFilled(heap, 60 * PAGE); // after a, in the pages a gave back
  olden(b.p, 60);
  heap.free(b.p); // a free run whose inside pages say PS_LARGE
  heap.check();
  // An aligned run is cut from a longer one (runSplit at both ends) over those pages.
  const c = heap.alignedAlloc(16 * PAGE, 20 * PAGE);
  assert.equal(c % (16 * PAGE), 0);
  heap.check();
  olden(c, 20);
  assert.equal(heap.realloc(c, 5 * PAGE), c);
  heap.check();
  assertBlocks(heap, [{ ...a, size: 10 * PAGE }]);
  freeAllAssertEmpty(heap, [a.p, c, ...fillers]);
});
