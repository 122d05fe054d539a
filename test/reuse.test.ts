// The lowest-address reuse policy (jemalloc's "pack" test): freed regions and pages come back lowest
// address first, so a heap that empties and refills lands on the same addresses.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap } from "../src/index.js";
import { BIN_NREGS, BIN_SIZE, NBINS } from "../src/sizeclass.js";

const RUNS = 12;

/**
 * Fills RUNS runs of class `bin`, frees all but one region per run (a different one in each run),
 * flushes, and reallocates as many regions: they must be exactly the freed ones, lowest first.
 */
function pack(heap: Heap, bin: number): void {
  const size = BIN_SIZE[bin];
  const nregs = BIN_NREGS[bin];
  const ptrs: number[] = [];
  for (let i = 0; i < RUNS * nregs; i++) ptrs.push(heap.malloc(size));
  // Group by run: with nothing else in the bin the regions of one run are nregs consecutive
  // addresses, size apart.
  const sorted = [...ptrs].sort((a, b) => a - b);
  const runs: number[][] = [];
  for (const p of sorted) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.length < nregs && p === last[last.length - 1] + size) last.push(p);
    else runs.push([p]);
  }
  assert.equal(runs.length, RUNS, `class ${size}: ${RUNS * nregs} regions fill ${RUNS} runs`);
  const kept: number[] = [];
  const freed: number[] = [];
  runs.forEach((run, r) => {
    const keep = run[(r * 7) % nregs];
    kept.push(keep);
    for (const p of run) if (p !== keep) freed.push(p);
  });
  // Free in a scrambled order: the policy must not depend on it.
  const order = freed.map((p, i) => [Math.imul(i + 1, 0x9e3779b1) >>> 0, p]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  for (const p of order) heap.free(p);
  heap.flush();
  heap.check();
  const again: number[] = [];
  for (let i = 0; i < freed.length; i++) again.push(heap.malloc(size));
  freed.sort((a, b) => a - b);
  assert.deepEqual(again, freed, `class ${size}: the freed regions come back, lowest address first`);
  for (const p of [...again, ...kept]) heap.free(p);
  heap.flush();
  heap.check();
  assert.equal(heap.stats().allocated, 0);
}

for (const threadCache of [false, true]) {
  const how = threadCache ? "with the thread cache, after flush()" : "without a thread cache";
  test(`every small class reuses its freed regions lowest address first (${how})`, () => {
    for (let bin = 0; bin < NBINS; bin++) {
      const heap = Heap.create({ initialBytes: 1 << 20, threadCache, arenas: 1 });
      pack(heap, bin);
    }
  });

  test(`a bin keeps reusing the lowest addresses across rounds on one heap (${how})`, () => {
    const heap = Heap.create({ initialBytes: 1 << 20, threadCache, arenas: 1 });
    for (const bin of [0, 3, 11, 20, 28, NBINS - 1]) for (let round = 0; round < 2; round++) pack(heap, bin);
  });

  test(`freed large runs of one length are reused lowest address first (${how})`, () => {
    const heap = Heap.create({ initialBytes: 1 << 20, threadCache, arenas: 1 });
    const bytes = 6 * 4096;
    const ptrs: number[] = [];
    for (let i = 0; i < 200; i++) ptrs.push(heap.malloc(bytes));
    // Holes of exactly 6 pages: every third run, but never one next to its chunk's free tail.
    const lastOfChunk = new Map<number, number>();
    for (const p of ptrs) lastOfChunk.set(p >>> 20, Math.max(p, lastOfChunk.get(p >>> 20) ?? 0));
    const freed = ptrs.filter((p, i) => i % 3 === 1 && lastOfChunk.get(p >>> 20) !== p);
    for (const p of [...freed].reverse()) heap.free(p);
    heap.flush();
    heap.check();
    const again: number[] = [];
    for (let i = 0; i < freed.length; i++) again.push(heap.malloc(bytes));
    assert.deepEqual(again, [...freed].sort((a, b) => a - b), "the same runs, lowest first");
    heap.check();
  });

  test(`a large request takes the best-fitting free run before a lower, longer one (${how})`, () => {
    const heap = Heap.create({ initialBytes: 1 << 20, threadCache, arenas: 1 });
    const bytes = 4 * 4096;
    const ptrs: number[] = [];
    for (let i = 0; i < 20; i++) ptrs.push(heap.malloc(bytes));
    const sorted = [...ptrs].sort((a, b) => a - b);
    assert.ok(sorted[12] - sorted[2] === 10 * bytes, "the first runs are consecutive");
    // A two-run hole low in the heap, a one-run hole above it.
    heap.free(sorted[2]);
    heap.free(sorted[3]);
    heap.free(sorted[8]);
    heap.flush(); // a thread cache may hold freed runs: the arena's policy is the subject here
    assert.equal(heap.malloc(bytes), sorted[8], "the exact fit, though higher");
    assert.equal(heap.malloc(bytes), sorted[2], "then the lowest address of the longer hole");
    assert.equal(heap.malloc(bytes), sorted[3]);
    heap.check();
  });
}
