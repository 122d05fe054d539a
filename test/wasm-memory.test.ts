// Heap.fromMemory: a heap inside a shared WebAssembly.Memory, from `base` up. Bytes below base stay
// exactly as they were, every pointer lies at or above base, and the heap grows with memory.grow.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapError } from "../src/index.js";
import { allBytes, allocFilled, assertBlocks, assertPattern, Block, fillPattern, MiB } from "./helpers.js";

const fillPatternBlock = (heap: Heap, b: Block): void => fillPattern(heap, b.p, b.size, b.seed);

const WASM_PAGE = 65536;

/** Byte i of the memory's initial contents (what a wasm program left there). */
const junk = (i: number): number => (i * 31 + (i >>> 11)) & 255 || 1;

function fillMemory(memory: WebAssembly.Memory): void {
  const u8 = new Uint8Array(memory.buffer);
  for (let i = 0; i < u8.length; i++) u8[i] = junk(i);
}

function assertUntouchedBelow(memory: WebAssembly.Memory, end: number): void {
  const u8 = new Uint8Array(memory.buffer, 0, end);
  for (let i = 0; i < end; i++) if (u8[i] !== junk(i)) assert.fail(`byte ${i} below base was changed`);
}

test("a heap in a shared WebAssembly.Memory leaves the bytes below base alone while it grows", () => {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 8192, shared: true }); // 4 MiB, up to 512 MiB
  fillMemory(memory);
  const base = 3 * MiB + 5 * WASM_PAGE; // a wasm page boundary, not a chunk boundary
  const heap = Heap.fromMemory(memory, { base, initialBytes: 1 << 20, maxBytes: 300 * MiB });
  assert.equal(heap.handle.base, base);
  assert.equal(heap.buffer, memory.buffer);
  const blocks: Block[] = [];
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 500; i++) blocks.push(allocFilled(heap, (i * 37) % 3000));
    for (let i = 0; i < 20; i++) blocks.push(allocFilled(heap, 16384 + i * 12345));
    blocks.push(allocFilled(heap, 5 * MiB + round * 4096));
    const aligned = heap.alignedAlloc(256 * 1024, 100); // above the base's own alignment
    assert.notEqual(aligned, 0);
    assert.equal(aligned % (256 * 1024), 0);
    blocks.push({ p: aligned, size: 0, seed: 0 });
    for (let i = 0; i < blocks.length; i += 7) {
      heap.free(blocks[i].p);
      blocks.splice(i, 1);
    }
  }
  for (const b of blocks) {
    assert.ok(b.p >= base + 4096, `pointer ${b.p} lies in the heap (base ${base}), past its header page`);
    assert.ok(b.p + b.size <= memory.buffer.byteLength);
  }
  assert.ok(memory.buffer.byteLength > 50 * MiB, `memory.grow made room (${memory.buffer.byteLength} bytes)`);
  assert.equal(heap.buffer, memory.buffer, "the heap follows the memory's new buffer");
  heap.check();
  assertBlocks(heap, blocks);
  assertUntouchedBelow(memory, base);
  // A worker-style handle on the same memory sees everything.
  const other = Heap.attach(heap.handle);
  assertBlocks(other, blocks);
  for (const b of blocks) other.free(b.p);
  other.flush();
  heap.flush(); // the regions cached by the handle that allocated
  other.check();
  assert.equal(heap.stats().allocated, 0);
  assertUntouchedBelow(memory, base);
});

test("calloc returns zeros even where the memory held other bytes before the heap was made", () => {
  // The memory is 8 MiB of junk; the heap starts at 1 MiB, so its first chunks are not fresh memory.
  const memory = new WebAssembly.Memory({ initial: 128, maximum: 2048, shared: true });
  fillMemory(memory);
  const heap = Heap.fromMemory(memory, { base: MiB, initialBytes: 2 * MiB, maxBytes: 100 * MiB });
  const zeroed: Array<[number, number]> = [];
  for (const [count, size] of [[1, 8], [3, 1000], [1, 14336], [1, 20000], [4, 50000], [1, 900000], [1, 2 * MiB], [2, 3 * MiB], [1, 40 * 4096]]) {
    const p = heap.calloc(count, size);
    assert.notEqual(p, 0);
    assert.ok(allBytes(heap, p, count * size, 0), `calloc(${count}, ${size}) at ${p} is zero-filled`);
    zeroed.push([p, count * size]);
  }
  heap.check();
  assertUntouchedBelow(memory, MiB);
});

test("the default base is the memory's current end; bytes below it are never touched", () => {
  const memory = new WebAssembly.Memory({ initial: 3, maximum: 2000, shared: true });
  fillMemory(memory);
  const end = memory.buffer.byteLength;
  const heap = Heap.fromMemory(memory, { initialBytes: 1 << 20 });
  assert.equal(heap.handle.base, end);
  const blocks = [10, 5000, 70000, 3 * MiB].map((n) => allocFilled(heap, n));
  for (const b of blocks) assert.ok(b.p >= end);
  heap.check();
  assertBlocks(heap, blocks);
  assertUntouchedBelow(memory, end);
});

test("a base that is not a multiple of 64 KiB is rounded up to one; nothing below it is touched", () => {
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 1000, shared: true });
  fillMemory(memory);
  const base = 12345;
  const heap = Heap.fromMemory(memory, { base, initialBytes: 1 << 20, maxBytes: 32 * MiB });
  const rounded = Math.ceil(base / WASM_PAGE) * WASM_PAGE;
  const blocks: Block[] = [];
  for (let i = 0; i < 3000; i++) blocks.push(allocFilled(heap, i % 500));
  blocks.push(allocFilled(heap, 2 * MiB));
  for (const b of blocks) {
    assert.ok(b.p >= rounded);
    assert.equal(b.p % 8, 0);
  }
  const a = heap.alignedAlloc(512 * 1024, 10);
  assert.notEqual(a, 0);
  assert.equal(a % (512 * 1024), 0, "alignment is of the address, not of the offset from base");
  const a2 = heap.alignedAlloc(64 * 1024, 20000);
  assert.notEqual(a2, 0);
  assert.equal(a2 % (64 * 1024), 0);
  heap.free(a);
  heap.free(a2);
  heap.check();
  assertBlocks(heap, blocks);
  assertUntouchedBelow(memory, rounded);
});

test("a heap whose memory cannot grow further returns 0, intact, and works on after frees", () => {
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 16 * 16 + 16, shared: true }); // room for 16 MiB above 1 MiB
  const heap = Heap.fromMemory(memory, { base: MiB, initialBytes: 1 << 20, maxBytes: 1 << 30 });
  const blocks: Block[] = [];
  for (;;) {
    const p = heap.malloc(MiB + 1);
    if (p === 0) break;
    blocks.push({ p, size: 4096, seed: p });
    new Int32Array(heap.buffer, p, 1)[0] = p;
  }
  assert.ok(blocks.length >= 6, `some huge blocks fit (${blocks.length})`);
  assert.equal(memory.buffer.byteLength, (16 * 16 + 16) * WASM_PAGE, "the memory grew to its maximum");
  assert.equal(heap.malloc(MiB + 1), 0);
  heap.check();
  for (const b of blocks) assert.equal(new Int32Array(heap.buffer, b.p, 1)[0], b.p);
  heap.free(blocks[0].p);
  const again = heap.malloc(MiB + 1);
  assert.equal(again, blocks[0].p);
  const tail = heap.malloc(100);
  assert.notEqual(tail, 0);
  heap.free(tail);
  heap.free(again);
  for (const b of blocks.slice(1)) heap.free(b.p);
  heap.flush();
  heap.check();
  assert.equal(heap.stats().allocated, 0);
});

test("on a base that is a multiple of the alignment, huge blocks meet alignments above a chunk", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4000, shared: true });
  const heap = Heap.fromMemory(memory, { base: 4 * MiB, initialBytes: 1 << 20, maxBytes: 200 * MiB });
  for (const align of [MiB, 2 * MiB, 16 * MiB, 64 * MiB]) {
    const p = heap.alignedAlloc(align, 100);
    assert.notEqual(p, 0, `alignedAlloc(${align}, 100)`);
    assert.equal(p % align, 0);
    const seed = p ^ align;
    const blk = { p, size: 100, seed };
    fillPatternBlock(heap, blk);
    assertPattern(heap, p, 100, seed);
    heap.free(p);
  }
  heap.check();
});

test("pointers below base, or in the heap's first chunk header, are INVALID_POINTER", () => {
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 1000, shared: true });
  fillMemory(memory);
  const base = MiB;
  const heap = Heap.fromMemory(memory, { base, initialBytes: 1 << 20, maxBytes: 32 * MiB });
  const live = allocFilled(heap, 100);
  for (const p of [8, 4096, base - 8, base - WASM_PAGE, base, base + 8, base + 4096, live.p + 8]) {
    for (const call of [() => heap.free(p), () => heap.usableSize(p), () => heap.realloc(p, 10)]) {
      assert.throws(call, (e: unknown) => e instanceof HeapError && e.code === "INVALID_POINTER", `pointer ${p}`);
    }
  }
  heap.check();
  assertBlocks(heap, [live]);
  assertUntouchedBelow(memory, base);
});

test("fromMemory refuses, with a RangeError, a heap that the memory's maximum cannot hold", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 20, shared: true }); // 1.25 MiB at most
  assert.throws(() => Heap.fromMemory(memory, { base: WASM_PAGE * 10, initialBytes: 1 << 20 }), RangeError);
});
