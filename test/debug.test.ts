// Debug mode: junk-filled memory (0xa5 for new small regions, 0x5a for freed blocks, except a small
// region's first word, which holds the free mark) and cheap checks on every free.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapError } from "../src/index.js";
import { binWord } from "../src/arena.js";
import { L } from "../src/layout.js";
import { BIN_SIZE, NBINS } from "../src/sizeclass.js";
import { addrPage, mapIdx } from "../src/space.js";
import { allBytes, allocFilled, assertBlocks, Block, inThreadCache, internals } from "./helpers.js";

const JUNK_ALLOC = 0xa5;
const JUNK_FREE = 0x5a;

/** A debug heap on a SharedArrayBuffer, or in a WebAssembly.Memory (its junk goes through memory.fill: bulk.ts). */
function debugHeap(threadCache: boolean, inMemory: boolean): Heap {
  if (!inMemory) return Heap.create({ initialBytes: 1 << 20, debug: true, threadCache });
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 4096, shared: true });
  return Heap.fromMemory(memory, { initialBytes: 1 << 20, debug: true, threadCache });
}

for (const [threadCache, inMemory] of [[true, false], [false, false], [true, true], [false, true]]) {
  const where = `threadCache ${threadCache}${inMemory ? ", in a WebAssembly.Memory" : ""}`;
  test(`debug: a new small region is junk (0xa5) and a freed one 0x5a but for its free mark (${where})`, () => {
    const heap = debugHeap(threadCache, inMemory);
    const neighbours: Block[] = [];
    for (let b = 0; b < NBINS; b++) {
      const size = BIN_SIZE[b];
      neighbours.push(allocFilled(heap, size));
      const p = heap.malloc(size);
      assert.ok(allBytes(heap, p, size, JUNK_ALLOC), `class ${size}: a new region is all 0xa5`);
      new Uint8Array(heap.buffer, p, size).fill(0x11);
      neighbours.push(allocFilled(heap, size));
      heap.free(p);
      const first = new Int32Array(heap.buffer, p, 1)[0];
      assert.equal(first, L.FREE_MARK ^ p, `class ${size}: the first word holds the free mark`);
      assert.ok(allBytes(heap, p + 4, size - 4, JUNK_FREE), `class ${size}: the rest of a freed region is 0x5a`);
      // Reused: junk again, not the old bytes.
      const q = heap.malloc(size);
      assert.equal(q, p, "the freed region comes back first");
      assert.ok(allBytes(heap, q, size, JUNK_ALLOC), `class ${size}: a reused region is all 0xa5 again`);
      heap.free(q);
    }
    assertBlocks(heap, neighbours); // junk never spills into a neighbour
    heap.check();
  });

  test(`debug: freed large and huge blocks are junk-filled (${where})`, () => {
    const heap = debugHeap(threadCache, inMemory);
    const before = allocFilled(heap, 20000);
    const p = heap.malloc(40000);
    const after = allocFilled(heap, 20000);
    new Uint8Array(heap.buffer, p, 40000).fill(0x11);
    heap.free(p);
    // Back in the arena, the whole run is junk; held in a thread cache, its first word is the free mark.
    if (inThreadCache(heap, p)) {
      assert.equal(new Int32Array(heap.buffer, p, 1)[0], L.FREE_MARK ^ p);
      assert.ok(allBytes(heap, p + 4, 10 * 4096 - 4, JUNK_FREE), "the rest of the cached run is 0x5a");
      heap.flush();
    } else {
      assert.ok(allBytes(heap, p, 10 * 4096, JUNK_FREE), "all ten pages of the freed run are 0x5a");
    }
    const h = heap.malloc(3 * 1024 * 1024);
    new Uint8Array(heap.buffer, h, 3 * 1024 * 1024).fill(0x11);
    heap.free(h);
    assert.ok(allBytes(heap, h, 3 * 1024 * 1024, JUNK_FREE), "all of a freed huge block is 0x5a");
    assertBlocks(heap, [before, after]);
    heap.check();
  });
}

test("debug: a free finds a small run whose free count was overwritten, and says CORRUPTION", () => {
  const heap = Heap.create({ initialBytes: 1 << 20, debug: true, threadCache: false });
  const a = heap.malloc(100);
  const b = heap.malloc(100);
  const s = internals(heap);
  const run = addrPage(s, a); // class 112: a 7-page run, a is on its first page
  const at = mapIdx(s, run) + L.MAP_NFREE;
  const saved = s.i32[at];
  s.i32[at] = 100000;
  assert.throws(() => heap.free(a), (e: unknown) => e instanceof HeapError && e.code === "CORRUPTION");
  s.i32[at] = saved;
  heap.free(a);
  heap.free(b);
  heap.check();
});

test("without debug, freed memory is left alone but for the free mark", () => {
  const heap = Heap.create({ initialBytes: 1 << 20, threadCache: false });
  const p = heap.malloc(64);
  new Uint8Array(heap.buffer, p, 64).fill(0x33);
  heap.free(p);
  assert.equal(new Int32Array(heap.buffer, p, 1)[0], L.FREE_MARK ^ p);
  assert.ok(allBytes(heap, p + 4, 60, 0x33));
  // The bin's counters saw one malloc and one free.
  const s = internals(heap);
  const bw = binWord(s, 0, 4);
  assert.equal(s.f64[(bw + L.B_NMALLOC) >>> 1], 1);
  assert.equal(s.f64[(bw + L.B_NFREE) >>> 1], 1);
});

test("debug: realloc shrinking a large or huge block in place junk-fills the pages it gives up", () => {
  const heap = Heap.create({ initialBytes: 8 << 20, debug: true });
  const PAGE = 4096;
  for (const [from, to] of [[10 * PAGE, 5 * PAGE], [3 << 20, 3 << 19]]) {
    const p = heap.malloc(from);
    new Uint8Array(heap.buffer, p, from).fill(0x11);
    const q = heap.realloc(p, to);
    assert.equal(q, p, `${from} -> ${to} bytes: in place`);
    assert.ok(allBytes(heap, p, to, 0x11), "the bytes kept are intact");
    assert.ok(allBytes(heap, p + to, from - to, JUNK_FREE), "the pages given up are 0x5a");
    heap.free(q);
  }
  heap.check();
});
