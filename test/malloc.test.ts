// What malloc, calloc and alignedAlloc hand out: distinct blocks (size 0 included), 8- and 16-byte
// alignment, every requested power-of-two alignment up to 2^31, and zeros from calloc on reused memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapOptions } from "../src/index.js";
import { BIN_SIZE, NBINS } from "../src/sizeclass.js";
import { allBytes, allocFilled, assertBlocks, Block, freeAllAssertEmpty, GiB, MiB } from "./helpers.js";

const CONFIGS: HeapOptions[] = [{ threadCache: true }, { threadCache: false }, { debug: true }];

for (const o of CONFIGS) {
  const name = JSON.stringify(o);

  test(`malloc(0), calloc(0, n) and calloc(n, 0) return distinct, valid pointers (${name})`, () => {
    const heap = Heap.create({ initialBytes: 1 << 20, ...o });
    const ptrs = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      for (const p of [heap.malloc(0), heap.calloc(0, 16), heap.calloc(16, 0), heap.alignedAlloc(64, 0), heap.realloc(0, 0)]) {
        assert.notEqual(p, 0);
        assert.ok(!ptrs.has(p), `${p} handed out twice`);
        assert.ok(heap.usableSize(p) >= 8);
        assert.ok(p >= 4096, "no block starts in the first page");
        ptrs.add(p);
      }
    }
    for (const p of ptrs) heap.free(p);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });

  test(`every block is 8-aligned, and 16-aligned when it has 16 usable bytes or more (${name})`, () => {
    const heap = Heap.create({ initialBytes: 1 << 20, ...o });
    const ptrs: number[] = [];
    for (let n = 0; n <= 20000; n += n < 300 ? 1 : 97) {
      const p = heap.malloc(n);
      const u = heap.usableSize(p);
      assert.equal(p % 8, 0, `malloc(${n}) = ${p}`);
      if (u >= 16) assert.equal(p % 16, 0, `malloc(${n}) = ${p}, usable ${u}`);
      if (u > 14336) assert.equal(p % 4096, 0, "large blocks are whole pages");
      ptrs.push(p);
    }
    for (const p of ptrs) heap.free(p);
    heap.check();
  });

  test(`alignedAlloc meets every power-of-two alignment from 1 to 2^24 for small, large and huge sizes (${name})`, () => {
    const heap = Heap.create({ initialBytes: 1 << 20, maxBytes: 1 << 30, ...o });
    const blocks: Block[] = [];
    for (let k = 0; k <= 24; k++) {
      const align = 2 ** k;
      for (const n of [0, 1, 8, 24, 100, 3000, 14336, 14337, 50000, 2 * MiB]) {
        const p = heap.alignedAlloc(align, n);
        assert.notEqual(p, 0, `alignedAlloc(${align}, ${n})`);
        assert.equal(p % align, 0, `alignedAlloc(${align}, ${n}) = ${p}`);
        assert.ok(heap.usableSize(p) >= n);
        blocks.push({ p, size: 0, seed: 0 });
        if (n <= 3000) blocks.push(allocFilled(heap, n)); // neighbours, to see that nothing overlaps
      }
    }
    // No overlap: sorted by address, each block ends before the next begins.
    const spans = blocks.map((b) => [b.p, b.p + heap.usableSize(b.p)]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i - 1][1] <= spans[i][0], `blocks at ${spans[i - 1][0]} and ${spans[i][0]} overlap`);
    heap.check();
    assertBlocks(heap, blocks);
    freeAllAssertEmpty(heap, blocks.map((b) => b.p));
  });

  test(`calloc returns zeros on memory that held other bytes (${name})`, () => {
    const heap = Heap.create({ initialBytes: 1 << 20, ...o });
    const sizes = [...Array.from(BIN_SIZE), 20000, 300000, 3 * MiB];
    for (const n of sizes) {
      // Dirty memory of this size, freed, then calloc'd back.
      const dirty: number[] = [];
      for (let i = 0; i < 5; i++) {
        const p = heap.malloc(n);
        new Uint8Array(heap.buffer, p, heap.usableSize(p)).fill(0xee);
        dirty.push(p);
      }
      for (const p of dirty) heap.free(p);
      for (let i = 0; i < 5; i++) {
        const p = heap.calloc(1, n);
        assert.ok(allBytes(heap, p, n, 0), `calloc(1, ${n}) = ${p} has non-zero bytes`);
        heap.free(p);
      }
      const p = heap.calloc(n / 8, 8); // every size here is a multiple of 8
      assert.ok(allBytes(heap, p, n, 0), `calloc(${n / 8}, 8)`);
      heap.free(p);
    }
    heap.check();
  });
}

test("alignedAlloc of 2^31 and 2^30 on a 3 GiB heap returns blocks at exactly those addresses", () => {
  const heap = Heap.create({ initialBytes: 1 << 20, maxBytes: 3 * GiB });
  const a = heap.alignedAlloc(2 ** 31, 100);
  assert.equal(a, 2 ** 31);
  const b = heap.alignedAlloc(2 ** 30, 5 * MiB);
  assert.equal(b, 2 ** 30);
  assert.ok(heap.usableSize(b) >= 5 * MiB);
  const c = heap.alignedAlloc(2 ** 31, 100);
  assert.equal(c, 0, "the only 2 GiB-aligned address of the heap is taken");
  heap.check();
  heap.free(a);
  heap.free(b);
  heap.check();
  assert.equal(heap.stats().huge.allocated, 0);
});

test("every size class serves its whole run before taking another", () => {
  const heap = Heap.create({ initialBytes: 1 << 20, threadCache: false, arenas: 1 });
  for (let b = 0; b < NBINS; b++) {
    const before = heap.stats().arenas[0].bins[b];
    const p = heap.malloc(BIN_SIZE[b]);
    const st = heap.stats().arenas[0].bins[b];
    assert.equal(st.curruns, before.curruns + 1);
    const ptrs = [p];
    for (let i = 1; i < st.nregs; i++) ptrs.push(heap.malloc(BIN_SIZE[b]));
    assert.equal(heap.stats().arenas[0].bins[b].curruns, before.curruns + 1, `class ${BIN_SIZE[b]}: ${st.nregs} regions, one run`);
    const sorted = [...ptrs].sort((x, y) => x - y);
    assert.equal(sorted[sorted.length - 1] - sorted[0], (st.nregs - 1) * BIN_SIZE[b], "the run's regions are contiguous");
    for (const q of ptrs) heap.free(q);
  }
  heap.check();
});
