// check(): every kind of metadata, overwritten on purpose, is reported as HeapError CORRUPTION -
// never a hang, never another error - and the same heap passes again once the word is restored.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapError } from "../src/index.js";
import { arenaWord, binWord } from "../src/arena.js";
import { L } from "../src/layout.js";
import { NBINS } from "../src/sizeclass.js";
import { addrPage, auxIdx, mapIdx, Space } from "../src/space.js";
import { TC_LARGE, TC_STACK, tcCount, tcRec } from "../src/tcache.js";
import { allocFilled, assertBlocks, Block, cacheBlockAddr, internals, MiB } from "./helpers.js";

function isCorruption(e: unknown): boolean {
  return e instanceof HeapError && e.code === "CORRUPTION";
}

interface Scene {
  heap: Heap;
  s: Space;
  blocks: Block[];
  small: number; // a 48-byte region, its run partly free
  large: number; // a 5-page run
  huge: number;
}

function scene(threadCache = true): Scene {
  const heap = Heap.create({ initialBytes: 1 << 20, maxBytes: 64 * MiB, arenas: 2, threadCache });
  const blocks: Block[] = [];
  for (let i = 0; i < 500; i++) blocks.push(allocFilled(heap, 8 + (i % 40) * 8));
  for (let i = 0; i < blocks.length; i += 3) heap.free(blocks[i].p);
  const live = blocks.filter((_, i) => i % 3 !== 0);
  live.push(allocFilled(heap, 20000), allocFilled(heap, 2 * MiB + 1), allocFilled(heap, 300000));
  const small = live.find((b) => heap.usableSize(b.p) === 48) as Block;
  heap.check();
  return {
    heap, s: internals(heap), blocks: live, small: small.p,
    large: (live.find((b) => b.size === 20000) as Block).p, huge: (live.find((b) => b.size === 2 * MiB + 1) as Block).p,
  };
}

/** Overwrites word `at` of the heap with `value`: check() must throw CORRUPTION; restored, it passes. */
function expectDetected(sc: Scene, what: string, at: number, value: number): void {
  const { heap, s } = sc;
  const saved = s.i32[at];
  assert.notEqual(saved, value | 0, `${what}: the garbage differs from the word`);
  s.i32[at] = value;
  try {
    assert.throws(() => heap.check(), (e: unknown) => {
      assert.ok(isCorruption(e), `${what}: expected CORRUPTION, got ${String(e)}`);
      return true;
    }, `${what}: check() did not notice`);
  } finally {
    s.i32[at] = saved;
  }
  heap.check();
}

/** Same for a 64-bit float counter at word `at` (even). */
function expectDetectedF64(sc: Scene, what: string, at: number, delta: number): void {
  const { heap, s } = sc;
  const saved = s.f64[at >>> 1];
  s.f64[at >>> 1] = saved + delta;
  try {
    assert.throws(() => heap.check(), isCorruption, what);
  } finally {
    s.f64[at >>> 1] = saved;
  }
  heap.check();
}

test("check() reports a damaged page map entry as CORRUPTION", () => {
  const sc = scene();
  const { s, small, large } = sc;
  const smallRun = addrPage(s, small) - ((s.i32[mapIdx(s, addrPage(s, small))] >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK);
  const largeRun = addrPage(s, large);
  const info = (g: number): number => mapIdx(s, g) + L.MAP_INFO;
  expectDetected(sc, "small run head: state free", info(smallRun), L.PS_FREE | L.PI_HEAD | (3 << L.PI_SIZE_SHIFT));
  expectDetected(sc, "small run head: another class", info(smallRun), s.i32[info(smallRun)] ^ (1 << L.PI_BIN_SHIFT));
  expectDetected(sc, "small run head: class 63", info(smallRun), s.i32[info(smallRun)] | (63 << L.PI_BIN_SHIFT));
  expectDetected(sc, "small run page 1: wrong index", info(smallRun + 1), s.i32[info(smallRun + 1)] + (5 << L.PI_SIZE_SHIFT));
  expectDetected(sc, "large run head: length 1000", info(largeRun), (s.i32[info(largeRun)] & ~(1023 << L.PI_SIZE_SHIFT)) | (1000 << L.PI_SIZE_SHIFT));
  expectDetected(sc, "large run head: length 2", info(largeRun), (s.i32[info(largeRun)] & ~(1023 << L.PI_SIZE_SHIFT)) | (2 << L.PI_SIZE_SHIFT));
  expectDetected(sc, "large run last page: length 0", info(largeRun + 4), L.PS_LARGE);
  expectDetected(sc, "large run: interior page says meta", info(largeRun + 2), L.PS_META);
  expectDetected(sc, "chunk header run", info(0), 0);
  expectDetected(sc, "page info all ones", info(largeRun), -1);
  // A free run after the large one: find one and damage its length.
  for (let g = largeRun + 5; g < 256; g++) {
    const v = s.i32[info(g)];
    if ((v & L.PI_STATE_MASK) === L.PS_FREE && (v & L.PI_HEAD) !== 0) {
      expectDetected(sc, "free run: length + 1", info(g), v + (1 << L.PI_SIZE_SHIFT));
      expectDetected(sc, "free run: not a head", info(g), v & ~L.PI_HEAD);
      break;
    }
  }
});

test("check() reports a damaged region bitmap or free count as CORRUPTION", () => {
  const sc = scene();
  const { s, small } = sc;
  const g = addrPage(s, small);
  const run = g - ((s.i32[mapIdx(s, g)] >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK);
  const bm = auxIdx(s, run);
  expectDetected(sc, "bitmap word 0 all ones", bm, -1);
  expectDetected(sc, "bitmap word 0 flipped bit", bm, s.i32[bm] ^ 4);
  // Class 512: 8 regions, so bits 8..31 of its one bitmap word must stay clear.
  const p512 = sc.heap.malloc(500);
  const bm512 = auxIdx(s, addrPage(s, p512));
  expectDetected(sc, "bitmap bits past the run's regions", bm512, s.i32[bm512] | (1 << 8));
  expectDetected(sc, "bitmap sign bit past the run's regions", bm512, s.i32[bm512] | (1 << 31));
  sc.heap.free(p512);
  expectDetected(sc, "free count + 1", mapIdx(s, run) + L.MAP_NFREE, s.i32[mapIdx(s, run) + L.MAP_NFREE] + 1);
  expectDetected(sc, "free count negative", mapIdx(s, run) + L.MAP_NFREE, -5);
});

test("check() reports a lock word holding an impossible value as CORRUPTION, at once", () => {
  const sc = scene();
  const { s } = sc;
  const t0 = Date.now();
  // A lock word is 0 (free) or (slot + 1) << 1 | contended: an owner of 0 or past the last slot is
  // impossible (see lock.ts).
  const nslots = s.i32[s.hdr + L.H_NSLOTS];
  expectDetected(sc, "global lock held by slot nslots", s.hdr + L.H_LOCK, (nslots + 1) << 1);
  expectDetected(sc, "global lock = -1", s.hdr + L.H_LOCK, -1);
  expectDetected(sc, "arena 0 lock = 1 (contended, no owner)", arenaWord(s, 0) + L.A_LOCK, 1);
  expectDetected(sc, "arena 1 lock = 0x7fffffff", arenaWord(s, 1) + L.A_LOCK, 0x7fffffff);
  assert.ok(Date.now() - t0 < 2000, "no waiting on a lock word that is garbage");
});

test("check() reports a lock held by a thread that never lets go, after its time limit, not a hang", () => {
  const sc = scene();
  const { s } = sc;
  const t0 = Date.now();
  expectDetected(sc, "arena 1 lock held by slot 41", arenaWord(s, 1) + L.A_LOCK, 42 << 1);
  const waited = Date.now() - t0;
  assert.ok(waited < 20000, `gave up after ${waited} ms`);
});

test("check() reports damaged counters as CORRUPTION", () => {
  const sc = scene();
  const { s } = sc;
  const aw = arenaWord(s, 0);
  const bw = binWord(s, 0, 3); // class 48
  expectDetected(sc, "bin curregs", bw + L.B_CURREGS, s.i32[bw + L.B_CURREGS] + 1);
  expectDetected(sc, "bin curruns", bw + L.B_CURRUNS, s.i32[bw + L.B_CURRUNS] - 1);
  expectDetected(sc, "arena active pages", aw + L.A_ACTIVE_PAGES, s.i32[aw + L.A_ACTIVE_PAGES] + 1);
  expectDetected(sc, "arena chunk count", aw + L.A_NCHUNKS, s.i32[aw + L.A_NCHUNKS] + 1);
  expectDetected(sc, "arena meta pages", aw + L.A_META_PAGES, s.i32[aw + L.A_META_PAGES] + 3);
  expectDetected(sc, "pool chunk count", s.hdr + L.H_POOL_CHUNKS, s.i32[s.hdr + L.H_POOL_CHUNKS] + 1);
  expectDetected(sc, "chunk count past the maximum", s.hdr + L.H_NCHUNKS, 100000);
  expectDetected(sc, "chunk count 0", s.hdr + L.H_NCHUNKS, 0);
  expectDetectedF64(sc, "arena small.allocated", aw + L.A_SMALL_ALLOCATED, 8);
  expectDetectedF64(sc, "arena large.allocated", aw + L.A_LARGE_ALLOCATED, -4096);
  expectDetectedF64(sc, "huge.allocated", s.hdr + L.H_HUGE_ALLOCATED, 4096);
});

test("check() reports damaged trees and run pointers as CORRUPTION, never walking forever", () => {
  const sc = scene();
  const { s } = sc;
  const aw = arenaWord(s, 0);
  const root = s.i32[aw + L.A_RUNS];
  assert.notEqual(root, 0, "arena 0 has free runs");
  expectDetected(sc, "free-run tree: a cycle", mapIdx(s, root) + L.MAP_LEFT, root);
  expectDetected(sc, "free-run tree: a right cycle", mapIdx(s, root) + L.MAP_RIGHT, root);
  expectDetected(sc, "free-run tree: root out of range", aw + L.A_RUNS, 1 << 30);
  expectDetected(sc, "free-run tree: root negative", aw + L.A_RUNS, -7);
  expectDetected(sc, "free-run tree: empty", aw + L.A_RUNS, 0);
  expectDetected(sc, "free-run tree: root is a small run", aw + L.A_RUNS, addrPage(s, sc.small));
  for (let b = 0; b < NBINS; b++) {
    const bw = binWord(s, 0, b);
    if (s.i32[bw + L.B_RUNCUR] !== 0) {
      expectDetected(sc, `bin ${b}: runcur out of range`, bw + L.B_RUNCUR, 1 << 29);
      expectDetected(sc, `bin ${b}: runcur is a free run`, bw + L.B_RUNCUR, root);
      expectDetected(sc, `bin ${b}: run tree cycle`, bw + L.B_RUNS, s.i32[bw + L.B_RUNCUR]);
      break;
    }
  }
  expectDetected(sc, "arena spare: not its chunk", aw + L.A_SPARE, 5000);
});

test("check() reports a damaged chunk table as CORRUPTION", () => {
  const sc = scene();
  const { s, huge } = sc;
  const hc = huge / MiB;
  expectDetected(sc, "chunk 0 marked unused", s.ct, L.CK_FREE);
  expectDetected(sc, "huge block: a page count past the heap", s.ct + hc, L.CK_HUGE | (100000 << L.CK_ARG_SHIFT));
  expectDetected(sc, "huge block: zero pages", s.ct + hc, L.CK_HUGE);
  expectDetected(sc, "huge body: wrong distance", s.ct + hc + 1, L.CK_HUGE_BODY | (7 << L.CK_ARG_SHIFT));
  expectDetected(sc, "huge body with no head", s.ct + hc, L.CK_HUGE_BODY | (1 << L.CK_ARG_SHIFT));
  expectDetected(sc, "arena chunk of arena 99", s.ct + 0, L.CK_ARENA | (99 << L.CK_ARG_SHIFT));
  expectDetected(sc, "heap magic", s.hdr + L.H_MAGIC, 0x12345678);
});

test("check() reports a heap header whose sizes no longer match its layout, before it trusts them", () => {
  const sc = scene();
  const { s } = sc;
  const t0 = Date.now();
  // A larger arena count would make check() take "lock words" that are thread slots (SS_LIVE = 1
  // looks like a held lock): it must be caught before any lock is taken.
  for (const v of [0, -1, 3, 255, 4096]) expectDetected(sc, `arena count ${v}`, s.hdr + L.H_NARENAS, v);
  for (const v of [0, -1, 100, 1 << 20]) expectDetected(sc, `slot count ${v}`, s.hdr + L.H_NSLOTS, v);
  expectDetected(sc, "maximum chunk count", s.hdr + L.H_MAX_CHUNKS, s.i32[s.hdr + L.H_MAX_CHUNKS] + 2);
  expectDetected(sc, "header pages", s.hdr + L.H_HEADER_PAGES, s.i32[s.hdr + L.H_HEADER_PAGES] + 1);
  expectDetected(sc, "chunk table offset", s.hdr + L.H_CHUNKTAB, s.i32[s.hdr + L.H_CHUNKTAB] + 4);
  expectDetected(sc, "arena records offset", s.hdr + L.H_ARENAS, 12);
  expectDetected(sc, "thread slots offset", s.hdr + L.H_SLOTS, -12);
  assert.ok(Date.now() - t0 < 2000, "no waiting on locks");
});

test("check() reports a damaged thread slot or cache as CORRUPTION", () => {
  const sc = scene();
  const { heap, s } = sc;
  const sw = s.sl + heap.slot * L.SLOT_WORDS;
  const tw = cacheBlockAddr(heap) >>> 2;
  assert.notEqual(tw, 0);
  let bin = 0;
  while (tcCount(s.i32, tw, bin) === 0) bin++;
  const top = s.i32[tcRec(tw, bin) + L.TCR_HEAD];
  assert.equal(top, tw + TC_STACK[bin] + tcCount(s.i32, tw, bin) - 1);
  expectDetected(sc, "slot state 3", sw + L.S_STATE, 3); // (the bits above the state are a tag)
  expectDetected(sc, "slot block out of place", sw + L.S_BLOCK, 12345);
  expectDetected(sc, "slot arena 77", sw + L.S_ARENA, 77);
  expectDetected(sc, "slot cache block out of place", sw + L.S_TCACHE, 12345);
  expectDetected(sc, "cache head past the stack's limit", tcRec(tw, bin) + L.TCR_HEAD, 100000);
  expectDetected(sc, "cache head below the stack", tcRec(tw, bin) + L.TCR_HEAD, tw + TC_STACK[bin] - 2);
  expectDetected(sc, "cache limit changed", tcRec(tw, bin) + L.TCR_LIMIT, 100000);
  expectDetected(sc, "the 0 word below a stack written", tw + TC_STACK[bin] - 1, 4096);
  expectDetected(sc, "the cache's count of large-run bytes changed", tw + TC_LARGE, s.i32[tw + TC_LARGE] + 4096);
  expectDetected(sc, "cache entry: a live block", top, sc.small);
  expectDetected(sc, "cache entry: inside a region", top, s.i32[top] + 4);
  expectDetected(sc, "cache entry: a duplicate", top, s.i32[top - 1]);
  expectDetected(sc, "cache entry: a huge block", top, sc.huge);
  expectDetected(sc, "cache entry: past the heap", top, -8);
  expectDetected(sc, "a cached region lost its free mark", s.i32[top] >>> 2, 0);
  expectDetected(sc, "a free slot's cache block is orphaned", sw + L.S_TCACHE, 0);
});

test("check() survives random garbage anywhere in the metadata: CORRUPTION or a pass, never a hang", () => {
  for (const threadCache of [true, false]) {
    const sc = scene(threadCache);
    const { heap, s } = sc;
    const locks = new Set([s.hdr + L.H_LOCK, arenaWord(s, 0) + L.A_LOCK, arenaWord(s, 1) + L.A_LOCK]);
    // Metadata words: chunk 0's page map and bitmaps, the heap header, the cache block, chunk 1's map.
    const regions: Array<[number, number]> = [[s.hw, s.hw + 5 * 1024], [s.hdr, s.sl + 8], [MiB / 4, MiB / 4 + 1024]];
    const tw = cacheBlockAddr(heap) >>> 2;
    if (tw !== 0) regions.push([tw, tw + 1024]);
    let x = 0x2545f491;
    const rand = (): number => (x = (Math.imul(x ^ (x >>> 13), 0x5bd1e995) + 0x6b43a9b5) | 0);
    const garbage = [0, -1, 1, 2, 3, 0x7fffffff, -0x80000000, 255, 256, 4096, 1 << 20];
    let caught = 0;
    for (let i = 0; i < 1500; i++) {
      const [lo, hi] = regions[(rand() >>> 1) % regions.length];
      const at = lo + ((rand() >>> 1) % (hi - lo));
      if (locks.has(at)) continue; // a held lock is waited on for seconds: tested above
      const saved = s.i32[at];
      s.i32[at] = i % 2 === 0 ? rand() : garbage[(rand() >>> 1) % garbage.length];
      try {
        heap.check();
      } catch (e) {
        assert.ok(isCorruption(e), `garbage at word ${at}: ${String(e)}`);
        caught++;
      } finally {
        s.i32[at] = saved;
      }
    }
    // Many words of these areas are don't-care (map entries inside runs, bitmaps of unused aux slots,
    // stack words above a cache's count); the garbage that matters must still be noticed often.
    assert.ok(caught > 150, `garbage is noticed (${caught} of 1500)`);
    heap.check();
    assertBlocks(heap, sc.blocks);
  }
});
