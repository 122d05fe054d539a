// bulk: memory.fill and memory.copy for heaps in a shared WebAssembly.Memory (src/bulk.ts). The
// module zeroes and copies exactly the bytes asked (overlapping copies as memmove), at addresses
// at and above 2^31 too; a heap in a memory uses it for calloc and realloc's moves above the
// thresholds and the loops below them, a heap on a SharedArrayBuffer never; contents survive.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap } from "../src/index.js";
import { Bulk, BULK_COPY_MIN, BULK_FILL_MIN, makeBulk } from "../src/bulk.js";
import { fillBytes, Space } from "../src/space.js";
import { allBytes, allocFilled, assertBlocks, Block, internals, MiB } from "./helpers.js";

const WASM_PAGE = 65536;

function sharedMemory(pages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
}

/** Byte i of a pattern that differs from its neighbours (so a copy off by one shows). */
const pat = (i: number): number => (i * 131 + (i >>> 8) + 7) & 255;

test("memory.fill zeroes exactly [dst, dst + n) and memory.copy moves n bytes, overlapping as memmove", () => {
  const memory = sharedMemory(4);
  const bulk = makeBulk(memory);
  assert.ok(bulk !== null, "Node compiles the module");
  const u8 = new Uint8Array(memory.buffer);
  const reset = (): void => {
    for (let i = 0; i < u8.length; i++) u8[i] = pat(i) || 1;
  };
  for (const n of [0, 1, 7, 8, 63, 64, 255, 256, 4096, 65536 + 13]) {
    for (const dst of [0, 8, 1000, 3 * WASM_PAGE - n]) {
      reset();
      bulk.fill(dst, 0, n);
      for (let i = 0; i < u8.length; i++) {
        const want = i >= dst && i < dst + n ? 0 : pat(i) || 1;
        if (u8[i] !== want) assert.fail(`fill(${dst}, 0, ${n}): byte ${i} is ${u8[i]}, not ${want}`);
      }
    }
    for (const [dst, src] of [[WASM_PAGE, 0], [100, 104], [104, 100], [2 * WASM_PAGE + 8, 2 * WASM_PAGE]]) {
      reset();
      const before = u8.slice();
      bulk.copy(dst, src, n);
      for (let i = 0; i < u8.length; i++) {
        const want = i >= dst && i < dst + n ? before[src + i - dst] : before[i];
        if (u8[i] !== want) assert.fail(`copy(${dst}, ${src}, ${n}): byte ${i} is ${u8[i]}, not ${want}`);
      }
    }
  }
  // Out of the memory: a trap (WebAssembly.RuntimeError), nothing written.
  reset();
  assert.throws(() => bulk.fill(u8.length - 8, 0, 16), WebAssembly.RuntimeError);
  assert.equal(u8[u8.length - 8], pat(u8.length - 8) || 1);
});

test("any shared memory links, one of no pages too; an unshared one gets no module and spoils nothing", () => {
  const empty = makeBulk(sharedMemory(0));
  assert.ok(empty !== null, "a shared memory of 0 pages");
  assert.throws(() => empty.fill(0, 0, 8), WebAssembly.RuntimeError, "nothing to write in it");
  assert.equal(makeBulk(new WebAssembly.Memory({ initial: 1, maximum: 2 })), null, "an unshared memory does not link");
  const memory = sharedMemory(1);
  const next = makeBulk(memory);
  assert.ok(next !== null, "a shared memory after that still gets the module");
  const u8 = new Uint8Array(memory.buffer);
  u8.fill(9, 0, 64);
  next.fill(8, 0, 48);
  assert.deepEqual([u8[7], u8[8], u8[55], u8[56]], [9, 0, 0, 9]);
});

test("memory.fill sets any byte; fillBytes sets exactly [p, p + n) at any alignment, by its loops and by the module", () => {
  const memory = sharedMemory(1);
  const bulk = makeBulk(memory) as Bulk;
  const u8 = new Uint8Array(memory.buffer);
  bulk.fill(100, 0x1a5, 300); // the byte's low 8 bits
  assert.ok(u8.subarray(100, 400).every((b) => b === 0xa5) && u8[99] === 0 && u8[400] === 0);
  for (const backing of [new SharedArrayBuffer(WASM_PAGE), sharedMemory(1)]) {
    const s = new Space(backing, 0);
    const bytes = new Uint8Array(s.u8.buffer, 0, WASM_PAGE);
    for (const n of [0, 1, 3, 4, 5, 8, 13, 255, 256, 261, 1000]) {
      for (let p = 8; p < 16; p++) {
        for (const byte of [0x5a, 0xa5, 0xff]) { // 0xff eight times over reads as a NaN: fill() stores it
          bytes.fill(7);
          fillBytes(s, p, n, byte);
          for (let i = 0; i < 2048; i++) {
            const want = i >= p && i < p + n ? byte : 7;
            if (bytes[i] !== want) assert.fail(`fillBytes(${p}, ${n}, ${byte}): byte ${i} is ${bytes[i]}, not ${want}`);
          }
        }
      }
    }
  }
});

test("addresses at and above 2^31 reach memory.fill and memory.copy as uint32", () => {
  const memory = sharedMemory(2 ** 31 / WASM_PAGE + 2); // 2 GiB + 128 KiB, touched only at the top
  const bulk = makeBulk(memory) as Bulk;
  const u8 = new Uint8Array(memory.buffer);
  const hi = 2 ** 31 + 4096;
  for (let i = 0; i < 8192; i++) u8[hi + i] = pat(i) || 1;
  bulk.copy(hi + 4096, hi, 4096);
  for (let i = 0; i < 4096; i++) assert.equal(u8[hi + 4096 + i], pat(i) || 1);
  bulk.fill(hi, 0, 4096);
  assert.ok(u8.subarray(hi, hi + 4096).every((b) => b === 0));
  assert.equal(u8[hi + 4096], pat(0) || 1);
  assert.equal(u8[hi - 1], 0, "the byte below was never written");
});

/** Counts the bulk calls of `heap`'s thread (and still makes them). */
function spy(heap: Heap): { zeros: number[]; copies: number[] } {
  const s = internals(heap);
  const inner = s.bulk;
  assert.ok(inner !== null, "a heap in a WebAssembly.Memory has memory.fill and memory.copy");
  const seen = { zeros: [] as number[], copies: [] as number[] };
  (s as { bulk: Bulk | null }).bulk = {
    fill: (dst, byte, n) => { seen.zeros.push(n); inner.fill(dst, byte, n); },
    copy: (dst, src, n) => { seen.copies.push(n); inner.copy(dst, src, n); },
  };
  return seen;
}

test("a heap in a WebAssembly.Memory zeroes and moves through the module above the thresholds, and its blocks keep their bytes", () => {
  const memory = sharedMemory(64);
  const heap = Heap.fromMemory(memory, { base: WASM_PAGE, maxBytes: 256 * MiB });
  assert.equal(internals(Heap.attach(heap.handle)).bulk !== null, true, "a handle attached to the memory has them too");
  const seen = spy(heap);
  // calloc over memory that held something: every block written with junk, freed, then calloc'd.
  const sizes = [8, 24, 200, 248, 256, 264, 1000, 4000, 14336, 20000, 70000, 2 * MiB + 8];
  for (const size of sizes) {
    const p = heap.malloc(size);
    heap.u8.fill(0xab, p, p + size);
    heap.free(p);
    const q = heap.calloc(1, size);
    assert.ok(allBytes(heap, q, size, 0), `calloc(1, ${size}) is all zero`);
    heap.free(q);
  }
  assert.ok(seen.zeros.length > 0 && seen.zeros.every((n) => n >= BULK_FILL_MIN), `memory.fill from ${BULK_FILL_MIN} B only (${seen.zeros})`);
  assert.ok(seen.zeros.some((n) => n >= 1000), "calloc's larger blocks went through memory.fill");
  // realloc: growing blocks move (small class to class, small to large, large to huge), each
  // keeping the bytes it held (its first `size` bytes: the pattern allocFilled wrote).
  const blocks: Block[] = [];
  for (let i = 0; i < 40; i++) blocks.push(allocFilled(heap, 8 + i * 40));
  for (let step = 0; step < 6; step++) {
    for (const b of blocks) {
      const q = heap.realloc(b.p, b.size * 3 ** (step + 1) + 8);
      assert.notEqual(q, 0);
      b.p = q;
    }
    assertBlocks(heap, blocks);
  }
  assert.ok(seen.copies.some((n) => n >= 4096), "realloc moved larger blocks through memory.copy");
  assert.ok(seen.copies.every((n) => n >= BULK_COPY_MIN), `memory.copy from ${BULK_COPY_MIN} B only`);
  heap.check();
});

test("realloc keeps every byte of moved blocks in a WebAssembly.Memory, sizes across the thresholds", () => {
  const heap = Heap.fromMemory(sharedMemory(64), { maxBytes: 256 * MiB });
  const seen = spy(heap);
  const blocks: Block[] = [];
  for (const size of [8, 40, 56, 64, 72, 300, 2000, 9000, 40000, 300000, 3 * MiB]) blocks.push(allocFilled(heap, size));
  assertBlocks(heap, blocks);
  for (const b of blocks) {
    // Twice the size (a new class, a longer run, or huge): moved unless its neighbours are free.
    const q = heap.realloc(b.p, 2 * b.size + 8);
    assert.notEqual(q, 0);
    b.p = q;
  }
  assertBlocks(heap, blocks); // each block's first b.size bytes, as allocFilled wrote them
  assert.ok(seen.copies.length > 0, "some moves went through memory.copy");
  heap.check();
});

test("a heap on a SharedArrayBuffer has no module: its loops zero and copy", () => {
  const heap = Heap.create({ maxBytes: 64 * MiB });
  assert.equal(internals(heap).bulk, null);
  const p = heap.malloc(5000);
  heap.u8.fill(0xcd, p, p + 5000);
  heap.free(p);
  const q = heap.calloc(1, 5000);
  assert.ok(allBytes(heap, q, 5000, 0));
  const b = allocFilled(heap, 3000);
  b.p = heap.realloc(b.p, 9000);
  assertBlocks(heap, [b]);
});
