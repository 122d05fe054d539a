// Growth: a heap that starts at 1 MiB grows its buffer on demand to hundreds of MiB with every block
// intact, stops at maxBytes (returning 0, the heap intact), and works again once memory is freed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapOptions } from "../src/index.js";
import { allocFilled, assertBlocks, assertPattern, Block, fillPattern, freeAllAssertEmpty, MiB, seedOf } from "./helpers.js";

test("a 1 MiB heap grows to hundreds of MiB of small, large and huge blocks, each keeping its bytes", () => {
  const heap = Heap.create({ initialBytes: 1 << 20, maxBytes: 1 << 30 });
  assert.equal(heap.buffer.byteLength, MiB, "starts at one chunk");
  const blocks: Block[] = [];
  let x = 12345;
  const rand = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  let round = 0;
  while (heap.stats().mapped < 320 * MiB) {
    for (let i = 0; i < 400; i++) blocks.push(allocFilled(heap, rand(600)));
    for (let i = 0; i < 40; i++) blocks.push(allocFilled(heap, 600 + rand(14000)));
    for (let i = 0; i < 10; i++) blocks.push(allocFilled(heap, 14337 + rand(1000000)));
    blocks.push(allocFilled(heap, 1 * MiB + rand(7 * MiB)));
    // Free a few older ones, so that growth and reuse interleave.
    for (let i = 0; i < 50; i++) {
      const k = rand(blocks.length);
      assertPattern(heap, blocks[k].p, blocks[k].size, blocks[k].seed);
      heap.free(blocks[k].p);
      blocks[k] = blocks[blocks.length - 1];
      blocks.pop();
    }
    if (++round % 10 === 0) heap.check();
  }
  const st = heap.stats();
  assert.ok(heap.buffer.byteLength >= 320 * MiB, `the buffer grew (${heap.buffer.byteLength} bytes)`);
  assert.ok(st.capacity >= st.mapped);
  assert.ok(st.allocated >= blocks.reduce((n, b) => n + b.size, 0), "allocated covers every live block");
  heap.check();
  assertBlocks(heap, blocks);
  freeAllAssertEmpty(heap, blocks.map((b) => b.p));
});

/** Allocates blocks of `size` until malloc returns 0; marks each block's first and last words. */
function fillUp(heap: Heap, size: number): number[] {
  const ptrs: number[] = [];
  for (;;) {
    const p = heap.malloc(size);
    if (p === 0) return ptrs;
    const m = new Int32Array(heap.buffer);
    m[p >>> 2] = p ^ 0x5ab;
    m[(p + size - 4) >>> 2] = ~p;
    ptrs.push(p);
    assert.ok(ptrs.length < 1e7, "malloc never said no");
  }
}

function assertMarks(heap: Heap, ptrs: number[], size: number): void {
  const m = new Int32Array(heap.buffer);
  for (const p of ptrs) {
    assert.equal(m[p >>> 2], p ^ 0x5ab, `block ${p} lost its first word`);
    assert.equal(m[(p + size - 4) >>> 2], ~p, `block ${p} lost its last word`);
  }
}

for (const options of [{ threadCache: true }, { threadCache: false }, { arenas: 1 }] as HeapOptions[]) {
  test(`at maxBytes malloc returns 0, the heap stays intact, and freeing makes room again (${JSON.stringify(options)})`, () => {
    const max = 24 * MiB;
    const heap = Heap.create({ initialBytes: 1 << 20, maxBytes: max, ...options });
    for (const size of [8, 3000, 14336, 20000, 500000, 3 * MiB]) {
      const first = fillUp(heap, size);
      assert.ok(first.length > 0);
      assert.ok(heap.buffer.byteLength <= max, "the buffer never grows past maxBytes");
      assert.ok(first.length * size <= max);
      heap.check();
      assertMarks(heap, first, size);
      // Full of one kind: everything bigger fails too, and changes nothing.
      const before = heap.stats();
      for (const n of [100000, 1000000, 4 * MiB]) if (n > size) assert.equal(heap.malloc(n), 0, `malloc(${n}) when full`);
      assert.equal(heap.stats().allocated, before.allocated);
      heap.check();
      // Everything frees, and the same room is there again.
      for (const p of first) heap.free(p);
      heap.flush();
      heap.check();
      assert.equal(heap.stats().allocated, 0);
      const second = fillUp(heap, size);
      assert.equal(second.length, first.length, `class ${size}: as many blocks fit after freeing`);
      assertMarks(heap, second, size);
      for (const p of second) heap.free(p);
      heap.flush();
      heap.check();
    }
    // Mixed: fill with huge blocks, leave holes, and see small and large blocks still fit.
    const huge = fillUp(heap, 2 * MiB);
    heap.free(huge[3]);
    const smalls: Block[] = [];
    for (let i = 0; i < 1000; i++) smalls.push(allocFilled(heap, 100 + (i % 7) * 300));
    const large = heap.malloc(200000);
    assert.notEqual(large, 0);
    heap.check();
    assertBlocks(heap, smalls);
    for (const b of smalls) heap.free(b.p);
    heap.free(large);
    for (const p of huge) if (p !== huge[3]) heap.free(p);
    heap.flush();
    heap.check();
    assert.equal(heap.stats().allocated, 0);
  });
}

test("the heap grows by huge blocks and by realloc, up to exactly maxBytes", () => {
  const max = 40 * MiB;
  const heap = Heap.create({ initialBytes: 1 << 20, maxBytes: max });
  const p = heap.malloc(10 * MiB);
  fillPattern(heap, p, 10 * MiB, seedOf(p, 10 * MiB));
  const q = heap.realloc(p, 39 * MiB); // chunk 0 holds the header: 39 chunks are all that is left
  assert.equal(q, p, "grows in place at the end of the buffer");
  assert.equal(heap.buffer.byteLength, max);
  assertPattern(heap, q, 10 * MiB, seedOf(p, 10 * MiB));
  assert.equal(heap.realloc(q, 39 * MiB + 1), 0, "one byte more does not fit");
  assert.equal(heap.malloc(MiB + 1), 0);
  const small = heap.malloc(100); // chunk 0 still has pages
  assert.notEqual(small, 0);
  heap.free(small);
  heap.free(q);
  heap.flush();
  heap.check();
  assert.equal(heap.stats().allocated, 0);
});

test("growth made through one Heap handle is seen by another on the same buffer", () => {
  const a = Heap.create({ initialBytes: 1 << 20, maxBytes: 256 * MiB });
  const b = Heap.attach(a.handle);
  const blocks: Block[] = [];
  for (let i = 0; i < 40; i++) blocks.push(allocFilled(a, 3 * MiB + i));
  for (let i = 0; i < 2000; i++) blocks.push(allocFilled(a, 500));
  assert.ok(a.buffer.byteLength > 100 * MiB);
  assertBlocks(b, blocks);
  for (const blk of blocks) assert.ok(b.usableSize(blk.p) >= blk.size);
  for (const blk of blocks) b.free(blk.p); // freed through the handle that did not allocate them
  b.flush();
  a.flush(); // what its fills took ahead and nobody used
  b.check();
  a.check();
  assert.equal(a.stats().allocated, 0);
});
