// Pointers at and above 2^31: a heap grown past 2 GiB (by huge blocks: untouched memory costs
// nothing) must handle small, large and huge blocks there exactly as below. JavaScript's bit
// operators work on signed 32-bit integers, so this is where a stray `| 0` or `>> 2` would show.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapOptions } from "../src/index.js";
import { BIN_NREGS, BIN_SIZE, NBINS } from "../src/sizeclass.js";
import { allocFilled, assertBlocks, assertHeapError, assertOnlyKeptActive, assertPattern, Block, fillPattern, freeAllAssertEmpty, GiB, MiB, seedOf } from "./helpers.js";

const TWO_GIB = 2 ** 31;

/**
 * A heap whose low 2 GiB are taken by huge blocks and whose chunk 0 is full of large runs, so that
 * every new run lands above 2^31. Returns the heap and the blocks that fill it.
 */
function highHeap(options: HeapOptions, maxBytes: number): { heap: Heap; filler: number[] } {
  const heap = Heap.create({ initialBytes: 1 << 20, maxBytes, arenas: 1, ...options });
  const filler: number[] = [];
  for (let i = 0; i < 4; i++) filler.push(heap.malloc(512 * MiB)); // chunks 1 .. 2048
  assert.ok(filler.every((p) => p !== 0 && p < TWO_GIB));
  for (;;) {
    const p = heap.malloc(4 * 4096); // 4-page large runs until chunk 0 has no room for one
    assert.notEqual(p, 0);
    if (p >= TWO_GIB) {
      heap.free(p);
      break;
    }
    filler.push(p);
  }
  return { heap, filler };
}

for (const options of [{ threadCache: true }, { threadCache: false }, { debug: true }] as HeapOptions[]) {
  test(`small, large and huge blocks above 2 GiB work like any other (${JSON.stringify(options)})`, () => {
    const { heap, filler } = highHeap(options, 3 * GiB);
    const blocks: Block[] = [];
    // Small: a few runs of every class; each class must get regions above 2^31.
    for (let b = 0; b < NBINS; b++) {
      let high = 0;
      // Chunk 0's last pages may still take a run or two of a small class: go on until one is above.
      for (let i = 0; i < 2 * BIN_NREGS[b] + 3 || (high === 0 && i < 8 * BIN_NREGS[b]); i++) {
        const blk = allocFilled(heap, BIN_SIZE[b] - (i % 8));
        assert.equal(heap.usableSize(blk.p), BIN_SIZE[b]);
        assert.equal(blk.p % 8, 0);
        if (BIN_SIZE[b] >= 16) assert.equal(blk.p % 16, 0);
        if (blk.p >= TWO_GIB) high++;
        blocks.push(blk);
      }
      assert.ok(high > 0, `class ${BIN_SIZE[b]} got regions above 2 GiB`);
    }
    // Large and huge.
    for (const n of [14337, 20000, 100000, 251 * 4096, 251 * 4096 + 1, 3 * MiB, 40 * MiB]) {
      const blk = allocFilled(heap, n);
      assert.ok(blk.p >= TWO_GIB, `${n} bytes at ${blk.p}, above 2 GiB`);
      assert.equal(heap.usableSize(blk.p), Math.ceil(n / 4096) * 4096);
      blocks.push(blk);
    }
    const c = heap.calloc(10, 1000);
    assert.ok(c >= TWO_GIB);
    assert.ok(new Uint8Array(heap.buffer, c, 10000).every((x) => x === 0));
    heap.free(c);
    // calloc of reused memory up there (not fresh pages): zeroed word by word.
    for (const n of [1000, 20000]) {
      const q = heap.malloc(n);
      heap.u8.fill(0xab, q, q + n);
      heap.free(q);
      const z = heap.calloc(1, n);
      assert.ok(z >= TWO_GIB);
      assert.equal(z, q, "the block just freed, from the thread cache");
      assert.ok(heap.u8.subarray(z, z + n).every((x) => x === 0), `calloc(1, ${n}) at ${z} is zeroed`);
      heap.free(z);
    }
    for (const align of [64, 4096, 65536, 2 * MiB]) {
      const p = heap.alignedAlloc(align, 1000);
      assert.ok(p >= TWO_GIB && p % align === 0, `alignedAlloc(${align}) = ${p}`);
      heap.free(p);
    }
    heap.check();
    assertBlocks(heap, blocks);
    const st = heap.stats();
    assert.ok(st.allocated >= blocks.reduce((n, b) => n + heap.usableSize(b.p), 0));

    // Bad pointers up there are caught like anywhere else.
    const high = blocks.filter((b) => b.p >= TWO_GIB);
    const small = high.find((b) => heap.usableSize(b.p) === 64) as Block;
    const large = high.find((b) => b.size === 100000) as Block;
    const huge = high.find((b) => b.size === 3 * MiB) as Block;
    assertHeapError(() => heap.free(small.p + 8), "INVALID_POINTER");
    assertHeapError(() => heap.free(large.p + 4096), "INVALID_POINTER");
    assertHeapError(() => heap.free(huge.p + MiB), "INVALID_POINTER");
    assertHeapError(() => heap.usableSize(small.p + 16), "INVALID_POINTER");
    // Double frees of high regions (the free mark is FREE_MARK ^ ptr, a signed 32-bit value here).
    const victim = high.find((b) => heap.usableSize(b.p) === 32) as Block;
    heap.free(victim.p);
    assertHeapError(() => heap.free(victim.p), "DOUBLE_FREE", "double free above 2 GiB");
    assertHeapError(() => heap.realloc(victim.p, 10), "DOUBLE_FREE");
    heap.flush();
    assertHeapError(() => heap.free(victim.p), "DOUBLE_FREE", "double free above 2 GiB, after flush");
    blocks.splice(blocks.indexOf(victim), 1);
    heap.check();

    // realloc up there: in place in a class, large in place, huge in place, and moved.
    const q = heap.realloc(small.p, 60);
    assert.equal(q, small.p);
    const lg = heap.realloc(large.p, 40000);
    assert.equal(lg, large.p, "a large block shrinks in place");
    assert.equal(heap.usableSize(lg), 10 * 4096);
    assertPattern(heap, lg, 40000, large.seed);
    large.size = 40000;
    const hg = heap.realloc(huge.p, 2 * MiB);
    assert.equal(hg, huge.p, "a huge block shrinks in place");
    huge.size = 2 * MiB;
    assertBlocks(heap, blocks);
    heap.check();

    // Everything frees, from above and below 2 GiB alike.
    freeAllAssertEmpty(heap, [...blocks.map((b) => b.p), ...filler]);
    assertOnlyKeptActive(heap);
  });
}

test("a heap of 4 GiB hands out, frees and checks blocks up to the last chunk below 2^32", () => {
  const heap = Heap.create({ initialBytes: 1 << 20, maxBytes: 4 * GiB, arenas: 1, threadCache: false });
  const huge: number[] = [];
  // Chunks 1 .. 4094 in huge blocks: only chunk 0 and the last chunk are left for small runs.
  for (let i = 0; i < 8; i++) huge.push(heap.malloc(512 * MiB - (i === 0 ? 2 * MiB : 0)));
  assert.ok(huge.every((p) => p !== 0), "4 GiB of huge blocks");
  assert.equal(heap.malloc(MiB + 1), 0, "no two chunks are left");
  const blocks: Block[] = [];
  for (;;) {
    const p = heap.malloc(1000);
    if (p === 0) break;
    const seed = seedOf(p, 1000);
    fillPattern(heap, p, 1000, seed);
    blocks.push({ p, size: 1000, seed });
  }
  const top = blocks.reduce((m, b) => Math.max(m, b.p), 0);
  assert.ok(top >= 2 ** 32 - MiB, `blocks reach the last chunk (top ${top})`);
  assert.ok(top + 1024 <= 2 ** 32);
  heap.check();
  assertBlocks(heap, blocks);
  for (const b of blocks) assert.equal(heap.usableSize(b.p), 1024);
  for (const b of blocks) heap.free(b.p);
  for (const p of huge) heap.free(p);
  heap.check();
  assert.equal(heap.stats().allocated, 0);
  // And the whole space is there again.
  const big = heap.malloc(4 * GiB - 2 * MiB);
  assert.notEqual(big, 0, "the freed chunks join into one huge block");
  assertPattern(heap, big, 0, 0);
  heap.free(big);
  heap.check();
});
