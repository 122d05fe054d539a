// stats(): the counters add up. allocated is the usable sizes of live blocks plus the regions held in
// thread caches (a region counts as allocated from the fill that takes it out of its run until the
// flush that returns it), so without a thread cache it is exact, and with one it is exact after
// flush(). active, metadata and mapped account for pages and chunks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapStats } from "../src/index.js";
import { L } from "../src/layout.js";
import { BIN_SIZE, NBINS, SMALL_MAX } from "../src/sizeclass.js";
import { addrPage, mapIdx } from "../src/space.js";
import { TC_PAGES, TC_STACK, tcCount } from "../src/tcache.js";
import { assertOnlyKeptActive, cacheBlockAddr, internals, MiB } from "./helpers.js";

const PAGE = 4096;

/** A mix of blocks: small of many classes, large, huge. */
const SIZES = [0, 1, 8, 9, 16, 17, 48, 100, 256, 1000, 1500, 3000, 8000, 14336, 14337, 20000, 100000, 1028096, 1028097, 3 * MiB];

function allocateMix(heap: Heap): number[] {
  const ptrs: number[] = [];
  for (let round = 0; round < 30; round++) for (const n of SIZES) if (round < 3 || n <= SMALL_MAX) ptrs.push(heap.malloc(n));
  assert.ok(ptrs.every((p) => p !== 0));
  return ptrs;
}

interface Tally {
  small: number;
  large: number;
  huge: number;
  nlarge: number;
  nhuge: number;
  perBin: number[];
}

function tally(heap: Heap, ptrs: number[]): Tally {
  const t: Tally = { small: 0, large: 0, huge: 0, nlarge: 0, nhuge: 0, perBin: new Array(NBINS).fill(0) };
  for (const p of ptrs) {
    const u = heap.usableSize(p);
    if (u <= SMALL_MAX) {
      t.small += u;
      t.perBin[BIN_SIZE.indexOf(u)]++;
    } else if (u <= L.DATA_PAGES * PAGE) {
      t.large += u;
      t.nlarge++;
    } else {
      t.huge += u;
      t.nhuge++;
    }
  }
  return t;
}

/** What must hold whatever is cached: sums over arenas and bins agree with the totals. */
function assertConsistent(st: HeapStats): void {
  let small = 0;
  let large = 0;
  let active = 0;
  let kept = 0;
  for (const a of st.arenas) {
    let binBytes = 0;
    let runBytes = 0;
    let keptBytes = 0;
    for (const b of a.bins) {
      assert.equal(b.nmalloc - b.nfree, b.curregs, `class ${b.size}: nmalloc - nfree = curregs`);
      assert.ok(b.curregs <= (b.curruns - b.keptRuns) * b.nregs, `class ${b.size}: regions fit their runs, not the kept empty ones`);
      assert.ok(b.keptRuns >= 0 && b.keptRuns <= b.curruns, `class ${b.size}: kept runs are runs of the class`);
      keptBytes += b.keptRuns * b.runPages * PAGE;
      binBytes += b.curregs * b.size;
      runBytes += b.curruns * b.runPages * PAGE;
    }
    assert.equal(a.small.allocated, binBytes, "small.allocated = the bins' regions");
    assert.equal(a.small.nmalloc - a.small.nfree, a.bins.reduce((n, b) => n + b.curregs, 0));
    assert.equal(a.active, runBytes + a.large.allocated, "active = small runs + large runs");
    assert.equal(a.kept, keptBytes, "kept = the bins' kept runs");
    kept += a.kept;
    small += a.small.allocated;
    large += a.large.allocated;
    active += a.active;
  }
  assert.equal(st.allocated, small + large + st.huge.allocated, "allocated = small + large + huge");
  assert.equal(st.active, active + st.huge.allocated, "active = arenas' runs + huge blocks");
  assert.equal(st.kept, kept, "kept = the arenas' kept runs");
  assert.ok(st.allocated <= st.active - st.kept, "allocated <= active pages that are not kept empty runs");
  assert.ok(st.allocated <= st.active, "allocated <= active");
  assert.ok(st.active + st.metadata <= st.mapped, "active pages and metadata lie in mapped chunks");
  assert.equal(st.mapped, (st.chunks - st.poolChunks) * MiB, "mapped = chunks not in the pool");
  assert.ok(st.mapped <= st.capacity, "mapped <= capacity");
}

test("without a thread cache, allocated is exactly the usable sizes of the live blocks", () => {
  const heap = Heap.create({ initialBytes: 1 << 20, threadCache: false, arenas: 1 });
  const empty = heap.stats();
  assert.equal(empty.allocated, 0);
  assert.equal(empty.active, 0);
  assert.equal(empty.mapped, MiB, "one chunk: the header's");
  assert.ok(empty.metadata >= 5 * PAGE, "at least chunk 0's page map and bitmaps");
  assertConsistent(empty);
  const ptrs = allocateMix(heap);
  // Free every third block, so that runs are partly used.
  const live = ptrs.filter((p, i) => (i % 3 === 0 ? (heap.free(p), false) : true));
  const t = tally(heap, live);
  const st = heap.stats();
  assertConsistent(st);
  assert.equal(st.allocated, t.small + t.large + t.huge);
  assert.equal(st.arenas[0].small.allocated, t.small);
  assert.equal(st.arenas[0].large.allocated, t.large);
  assert.equal(st.huge.allocated, t.huge);
  assert.equal(st.arenas[0].large.nmalloc - st.arenas[0].large.nfree, t.nlarge);
  assert.equal(st.huge.nmalloc - st.huge.nfree, t.nhuge);
  st.arenas[0].bins.forEach((b, i) => assert.equal(b.curregs, t.perBin[i], `class ${b.size}: curregs = live blocks`));
  assert.equal(st.threads, 1);
  for (const p of live) heap.free(p);
  const end = heap.stats();
  assertConsistent(end);
  assert.equal(end.allocated, 0);
  assertOnlyKeptActive(heap);
  assert.equal(end.arenas[0].small.nmalloc, end.arenas[0].small.nfree);
  assert.equal(end.huge.nmalloc, end.huge.nfree);
  heap.check();
});

test("with a thread cache, allocated is the live blocks plus the regions in the cache; exact after flush()", () => {
  const heap = Heap.create({ initialBytes: 1 << 20, arenas: 1 });
  const ptrs = allocateMix(heap);
  const live = ptrs.filter((p, i) => (i % 3 === 0 ? (heap.free(p), false) : true));
  const t = tally(heap, live);
  // The cache's contents, read from its block: small regions per class, and any large runs it holds
  // (their length is in their first page's info, which stays that of a large run).
  const s = internals(heap);
  const tw = cacheBlockAddr(heap) >>> 2;
  let cached = 0;
  const cachedPerBin: number[] = [];
  for (let b = 0; b < TC_STACK.length; b++) {
    const n = tcCount(s.i32, tw, b);
    if (b < NBINS) {
      cachedPerBin.push(n);
      cached += n * BIN_SIZE[b];
      continue;
    }
    if (b === L.TC_REMOTE) {
      assert.equal(n, 0, "no remote frees in this single-threaded test");
      continue;
    }
    for (let i = 0; i < n; i++) {
      const info = s.i32[mapIdx(s, addrPage(s, s.i32[tw + TC_STACK[b] + i] >>> 0)) + L.MAP_INFO];
      assert.equal(info & (L.PI_STATE_MASK | L.PI_HEAD), L.PS_LARGE | L.PI_HEAD, "a cached large run is still a large run");
      cached += ((info >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK) * PAGE;
    }
  }
  assert.ok(cached > 0, "the cache holds regions");
  const st = heap.stats();
  assertConsistent(st);
  assert.equal(st.allocated, t.small + t.large + t.huge + cached, "live blocks + cached regions");
  assert.equal(st.cached, cached, "stats().cached: the bytes in the cache");
  st.arenas[0].bins.forEach((b, i) => assert.equal(b.curregs, t.perBin[i] + cachedPerBin[i], `class ${b.size}`));
  heap.flush();
  const flushed = heap.stats();
  assertConsistent(flushed);
  assert.equal(flushed.allocated, t.small + t.large + t.huge, "after flush: exactly the live blocks");
  assert.equal(flushed.cached, 0);
  assert.ok(flushed.arenas[0].bins.some((b) => b.nflushes > 0) && flushed.arenas[0].bins.some((b) => b.nfills > 0));
  for (const p of live) heap.free(p);
  heap.flush();
  assert.equal(heap.stats().allocated, 0);
  heap.check();
});

test("threads counts attached handles; each thread cache block is metadata", () => {
  const heap = Heap.create({ initialBytes: 1 << 20, arenas: 2 });
  const one = heap.stats();
  const other = Heap.attach(heap.handle);
  const two = heap.stats();
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  assert.equal(two.arenas.reduce((n, a) => n + a.threads, 0), 2);
  // Its cache block (and, for a fresh arena, the header of the chunk it came from) is metadata.
  // A thread block is the thread's undo journal, then its cache.
  const block = (L.JOURNAL_PAGES + TC_PAGES) * PAGE;
  assert.ok(two.metadata >= one.metadata + block, "a new thread block is metadata");
  other.detach();
  const back = heap.stats();
  assert.equal(back.threads, 1);
  assert.equal(back.metadata, two.metadata - block, "a detached thread's block is given back");
  assertConsistent(back);
});

test("metadata stays under 3% of mapped for a heap full of 8-byte blocks", () => {
  const heap = Heap.create({ initialBytes: 1 << 20, maxBytes: 256 * MiB, threadCache: false, arenas: 1 });
  const target = 64 * MiB;
  const n = target / 8;
  let first = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const p = heap.malloc(8);
    if (p === 0) assert.fail(`malloc(8) number ${i} failed`);
    if (i === 0) first = p;
    last = p;
  }
  const st = heap.stats();
  assertConsistent(st);
  assert.equal(st.allocated, target);
  assert.equal(st.arenas[0].bins[0].curregs, n);
  const ratio = st.metadata / st.mapped;
  console.log(`8-byte blocks: ${n} blocks, allocated ${st.allocated}, active ${st.active}, mapped ${st.mapped}, ` +
    `metadata ${st.metadata}: metadata/mapped = ${(100 * ratio).toFixed(2)}%, ` +
    `allocated/mapped = ${((100 * st.allocated) / st.mapped).toFixed(2)}%`);
  assert.ok(ratio < 0.03, `metadata/mapped = ${ratio}`);
  assert.ok(st.allocated / st.mapped > 0.95, "and the rest is nearly all blocks");
  assert.equal(heap.usableSize(first), 8);
  assert.equal(heap.usableSize(last), 8);
  heap.check();
});
