// The thread cache does not hoard: large runs are cached up to L.TC_LARGE_BYTES per length and
// L.TC_LARGE_TOTAL over all lengths, and the
// incremental GC, paced by the bytes of slow-path traffic (tcache.ts: GC_BYTES), returns what an
// idle bin holds while the thread keeps busy elsewhere.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap } from "../src/index.js";
import { L } from "../src/layout.js";
import { TC_CAP } from "../src/tcache.js";
import { BIN_RUN_PAGES, BIN_SIZE, NBINS, sizeToBin } from "../src/sizeclass.js";
import { assertHeapError, freeAllAssertEmpty, internals } from "./helpers.js";

test("large runs are cached up to TC_LARGE_BYTES per length, at least one", () => {
  for (const pages of [L.TC_LARGE_MIN, 5, 8, 10, L.TC_LARGE_MAX]) {
    const heap = Heap.create({ initialBytes: 8 << 20 });
    const bytes = pages * L.PAGE_SIZE;
    const blocks: number[] = [];
    for (let i = 0; i < 10; i++) blocks.push(heap.malloc(bytes));
    for (const p of blocks) heap.free(p);
    const cap = TC_CAP[L.NBINS + pages - L.TC_LARGE_MIN];
    assert.equal(cap, Math.max(1, Math.floor(L.TC_LARGE_BYTES / bytes)));
    // Cached runs still count as allocated (they are large runs to their arena). A free into a
    // full stack flushes half of it first, so 10 frees leave between 1 and `cap` runs cached.
    const cachedRuns = heap.stats().allocated / bytes;
    assert.ok(Number.isInteger(cachedRuns) && cachedRuns >= 1 && cachedRuns <= cap, `${pages} pages: ${cachedRuns} runs cached, cap ${cap}`);
    // And they are handed out again, newest first.
    assert.equal(heap.malloc(bytes), blocks[blocks.length - 1]);
    freeAllAssertEmpty(heap, [blocks[blocks.length - 1]]);
  }
});

test("a cache holds at most TC_LARGE_TOTAL bytes of large runs over all lengths; the rest goes back", () => {
  const heap = Heap.create({ initialBytes: 8 << 20 });
  const runs: number[] = [];
  let bytes = 0;
  for (let pages = L.TC_LARGE_MIN; pages <= L.TC_LARGE_MAX; pages++) {
    runs.push(heap.malloc(pages * L.PAGE_SIZE));
    bytes += pages * L.PAGE_SIZE;
  }
  assert.ok(bytes > L.TC_LARGE_TOTAL, "one run of each length is more than the budget");
  const before = heap.stats();
  for (const p of runs) heap.free(p);
  const after = heap.stats();
  assert.ok(after.cached > 0 && after.cached <= L.TC_LARGE_TOTAL, `${after.cached} bytes of runs cached`);
  assert.equal(after.allocated, before.allocated - bytes + after.cached, "the runs not cached went back to the arena");
  freeAllAssertEmpty(heap, []);
});

test("a large run that one thread's cache holds is a DOUBLE_FREE in a thread whose budget is full", () => {
  const heap = Heap.create({ initialBytes: 8 << 20, arenas: 1 });
  const other = Heap.attach(heap.handle);
  const big = L.TC_LARGE_MAX * L.PAGE_SIZE;
  const x = heap.malloc(big);
  const fill = [heap.malloc(big), heap.malloc(big - L.PAGE_SIZE)]; // two lengths: 124 KiB
  heap.free(x); // into this thread's cache
  for (const p of fill) other.free(p); // the other thread's budget: too full for one more
  assert.equal(other.stats().cached, 3 * big - L.PAGE_SIZE, "each thread's cache holds its runs");
  assertHeapError(() => other.free(x), "DOUBLE_FREE", "found in the first thread's cache");
  heap.check();
  other.detach();
  freeAllAssertEmpty(heap, []);
});

test("an idle cache bin goes back to its arena while the thread allocates elsewhere", () => {
  const heap = Heap.create({ initialBytes: 8 << 20 });
  const blocks: number[] = [];
  for (let i = 0; i < 300; i++) blocks.push(heap.malloc(48));
  for (const p of blocks) heap.free(p);
  const cached = heap.stats().allocated;
  assert.ok(cached >= 48 * 100, `the 48-byte bin holds ${cached} bytes of free regions`);
  // Large blocks that no cache keeps: every malloc and free is slow-path traffic.
  let ops = 0;
  while (heap.stats().allocated > cached / 4 && ops < 5000) {
    heap.free(heap.malloc(100_000));
    ops++;
  }
  assert.ok(heap.stats().allocated <= cached / 4, `after ${ops} large malloc/free pairs: ${heap.stats().allocated} bytes still cached`);
  // 16 KiB counted per event: 49 bins visited twice (a visit flushes what stayed below the
  // low-water mark since the last one) take about 200 pairs.
  assert.ok(ops <= 400, `trimmed after ${ops} pairs`);
  heap.check();
});

test("a busy cache bin keeps its regions: the GC only takes what stayed unused", () => {
  const heap = Heap.create({ initialBytes: 8 << 20 });
  const live: number[] = [];
  for (let i = 0; i < 64; i++) live.push(heap.malloc(48));
  for (const p of live) heap.free(p);
  live.length = 0;
  for (let round = 0; round < 2000; round++) {
    // 64 regions in and out of the cache every round, and slow-path traffic to drive the GC.
    for (let i = 0; i < 64; i++) live.push(heap.malloc(48));
    for (const p of live) heap.free(p);
    live.length = 0;
    heap.free(heap.malloc(100_000));
  }
  // The 64 regions the loop keeps using are still cached (allocated from the bin's point of view).
  assert.ok(heap.stats().allocated >= 64 * 48, `${heap.stats().allocated} bytes cached`);
  freeAllAssertEmpty(heap, []);
});

test("a thread never reuses a block of another arena that it freed: the block goes back to its arena", () => {
  const heap = Heap.create({ initialBytes: 4 << 20, arenas: 2 });
  const other = Heap.attach(heap.handle); // the emptier arena: the second one
  assert.equal(heap.stats().arenas[1].threads, 1);
  const a = heap.malloc(8);
  const cachedBefore = heap.stats().cached;
  other.free(a); // a remote free
  assert.equal(heap.stats().cached, cachedBefore + 8, "stats().cached counts the other thread's remote stack");
  assertHeapError(() => heap.free(a), "DOUBLE_FREE", "found on the other thread's remote stack");
  assertHeapError(() => other.free(a), "DOUBLE_FREE", "found on its own remote stack");
  const mine = other.malloc(8);
  assert.notEqual(mine, a, "the freeing thread does not hand it out");
  // More remote frees than the remote stack holds: it goes back to arena 0 in batches.
  const blocks = Array.from({ length: 3 * L.TC_REMOTE_CAP }, () => heap.malloc(8));
  for (const p of blocks) other.free(p);
  heap.check();
  other.check();
  other.flush();
  heap.flush();
  assert.equal(heap.stats().allocated, 8, "only `mine` is live");
  assert.equal(heap.stats().cached, 0);
  // Back in its own arena's bin, `a` (the lowest region) is the first one handed out there again.
  assert.equal(heap.malloc(8), a);
  other.free(mine);
  other.detach();
  freeAllAssertEmpty(heap, [a]);
});

test("blocks the GC marked stale in a cache are still caught: double free, never handed out", () => {
  const heap = Heap.create({ initialBytes: 4 << 20, arenas: 1 });
  const p = heap.malloc(48);
  const fresh = p + 48; // the next region of the fill: cached, never handed out
  heap.free(p);
  // One GC visit of every bin: what is in the caches now is marked stale.
  const gc = heap as unknown as { gcStep(): void };
  for (let i = 0; i < L.TC_NBINS; i++) gc.gcStep();
  const word = (q: number): number => new Int32Array(heap.buffer, q, 1)[0];
  assert.equal((word(p) ^ p) | 3, L.FRESH_MARK, "p still carries a mark");
  assert.equal((word(p) ^ p) & L.MARK_USED_BIT, 0, "stale");
  assert.equal((word(fresh) ^ fresh) & L.MARK_USED_BIT, 0, "stale too");
  heap.check();
  assertHeapError(() => heap.free(p), "DOUBLE_FREE");
  assertHeapError(() => heap.free(fresh), "INVALID_POINTER");
  // A second visit flushes 3/4 of the stale blocks back to their run; p, the newest, stays on top.
  for (let i = 0; i < L.TC_NBINS; i++) gc.gcStep();
  heap.check();
  assert.equal(heap.malloc(48), p);
  assert.equal(word(p), 0, "handed out: the mark is gone");
  freeAllAssertEmpty(heap, [p]);
});

test("the large cache's quick paths (16-64 KiB): reuse, DOUBLE_FREE, a pointer inside a run, the budget", () => {
  for (let pages = L.TC_LARGE_MIN; pages <= L.TC_LARGE_MAX; pages++) {
    const heap = Heap.create({ initialBytes: 8 << 20 }); // an empty cache: within its budget
    const bytes: number = pages * L.PAGE_SIZE;
    for (const size of [bytes - L.PAGE_SIZE + 1, bytes] as number[]) {
      if (size <= L.SMALL_MAX) continue;
      const p = heap.malloc(size);
      heap.u8.fill(7, p, p + size);
      assertHeapError(() => heap.free(p + L.PAGE_SIZE), "INVALID_POINTER"); // inside the run
      heap.free(p);
      assertHeapError(() => heap.free(p), "DOUBLE_FREE"); // its mark is caught, it stays cached once
      const q = heap.malloc(size);
      assert.equal(q, p, `${size} B: the cached run comes back`);
      assert.equal(heap.i32[q >>> 2], 0, "its free mark is cleared");
      assert.equal(heap.u8[q + size - 1], 7, "the rest of its bytes are as they were");
      heap.free(q);
    }
  }
  // Over all lengths the cache keeps at most TC_LARGE_TOTAL bytes of runs; the rest goes back.
  const heap = Heap.create({ initialBytes: 8 << 20 });
  const runs: number[] = [];
  for (let pages = L.TC_LARGE_MIN; pages <= L.TC_LARGE_MAX; pages++) runs.push(heap.malloc(pages * L.PAGE_SIZE));
  for (const p of runs) heap.free(p);
  heap.check();
  const s = heap.stats();
  assert.ok(s.cached > 0 && s.cached <= L.TC_LARGE_TOTAL, `cached ${s.cached} B`); // no small blocks here
});

test("a flush of blocks from more runs than one pass gathers (64) returns every block, interleaved by run", () => {
  const heap = Heap.create({ initialBytes: 8 << 20 });
  const nregs = 256; // 16 B regions: one page each run
  const runs = 80;
  const blocks: number[] = [];
  for (let i = 0; i < runs * nregs; i++) blocks.push(heap.malloc(16));
  // Group by run, then free one block of each run in turn: every flush pass sees all 80 runs.
  const byRun = new Map<number, number[]>();
  for (const p of blocks) {
    const run = p >>> 12;
    if (!byRun.has(run)) byRun.set(run, []);
    byRun.get(run)!.push(p);
  }
  assert.ok(byRun.size >= runs, `${byRun.size} runs`);
  // In each round: run 0, run 1, run 0, run 2, run 1, run 3, ... - a block of a run the pass has
  // no room for is followed by one of the run before it.
  const lists = [...byRun.values()];
  const next = lists.map(() => 0);
  const freeNext = (r: number) => {
    if (next[r] < lists[r].length) heap.free(lists[r][next[r]++]);
  };
  while (next.some((n, r) => n < lists[r].length)) {
    for (let r = 0; r < lists.length; r++) {
      freeNext(r);
      if (r > 0) freeNext(r - 1);
    }
  }
  heap.check();
  freeAllAssertEmpty(heap, []);
});

test("a remote flush of 64 regions that each empty their run (runs of 14 pages, merged with free neighbours) fits one pass's journal", () => {
  // Runs given back at once (not kept): the most a flush journals per region.
  const heap = Heap.create({ initialBytes: 64 << 20, arenas: 2, keepEmptyRuns: false });
  const other = Heap.attach(heap.handle); // its own arena: every free below is remote
  const size = BIN_SIZE[NBINS - 1]; // the largest class: 4 regions in a run of 14 pages
  const blocks: number[] = [];
  for (let i = 0; i < 4 * 80; i++) blocks.push(heap.malloc(size));
  // Keep one region of each run; the rest goes back (most runs' neighbours are then free pages).
  const keep = new Map<number, number>();
  for (const p of blocks) {
    const run = Math.floor(p / (BIN_RUN_PAGES[NBINS - 1] * L.PAGE_SIZE));
    if (!keep.has(run)) keep.set(run, p);
  }
  const kept = new Set(keep.values());
  for (const p of blocks) if (!kept.has(p)) heap.free(p);
  heap.flush();
  const last = [...kept];
  assert.ok(last.length >= L.TC_REMOTE_CAP, `${last.length} runs`);
  const s = internals(other);
  for (const p of last) other.free(p); // remote frees; a full remote stack (64) goes back in one pass
  other.flush();
  // Each run emptied: its bitmap, its 14 page infos and its merges with the free pages around it.
  assert.ok(s.journalHigh > 64 * 20 && s.journalHigh <= 2 * L.J_CAP, `a pass wrote ${s.journalHigh} journal words`);
  heap.check();
  assert.equal(heap.stats().allocated, 0);
  other.detach();
});

test("a flush of a full 1,024-block stack whose blocks empty their runs fits one pass's journal", () => {
  const heap = Heap.create({ initialBytes: 8 << 20 });
  const bin = sizeToBin(16); // 16 B: 256 regions a run, 8 bitmap words
  assert.equal(TC_CAP[bin], 1024);
  const nregs = 256;
  const blocks: number[] = [];
  for (let i = 0; i < 130 * nregs; i++) blocks.push(heap.malloc(16));
  const byRun = new Map<number, number[]>();
  for (const p of blocks) {
    const run = p >>> 12;
    if (!byRun.has(run)) byRun.set(run, []);
    byRun.get(run)!.push(p);
  }
  assert.ok(byRun.size >= 128, `${byRun.size} runs`);
  // Keep 9 blocks of each run, one in each bitmap word and one more; free the rest.
  const last: number[] = [];
  for (const list of byRun.values()) {
    list.sort((a, b) => a - b);
    const keep = new Set([0, 32, 64, 96, 128, 160, 192, 224, 255].map((i) => list[i]).filter((p) => p !== undefined));
    for (const p of list) if (!keep.has(p)) heap.free(p);
    last.push(...keep);
  }
  heap.flush();
  const s = internals(heap);
  s.journalHigh = 0;
  // Run by run (1,170 blocks): the cache fills to 1,024, and its oldest 512 blocks (56 runs, each
  // emptied) go back, in passes of at most 54 runs.
  for (const p of last) heap.free(p);
  assert.ok(s.journalHigh > 54 * 10 && s.journalHigh <= 2 * L.J_CAP, `a pass wrote ${s.journalHigh} journal words`);
  heap.check();
  heap.flush();
  heap.check();
  assert.equal(heap.stats().allocated, 0);
});
