// ZERO pages and each arena chunk's ZERO range (layout.ts: CHUNK_ZERO_RANGE): a large run placed
// outside the range has none of its pages read (arena.ts: markRun), so the range must hold every
// page that says ZERO - as runs take pages, after check() finds one outside it, and in a restored
// heap whose older sabmalloc kept no range. And calloc's zeros never depend on it being tight.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapError } from "../src/index.js";
import { zeroRangeOf } from "../src/chunk.js";
import { L } from "../src/layout.js";
import { addrChunk, addrPage, chunkWord, mapIdx, Space } from "../src/space.js";
import { internals } from "./helpers.js";

const KiB = 1024;
const LARGE = 300 * KiB; // 75 pages: a large run, not one the thread cache keeps

function range(s: Space, c: number): [number, number] {
  const w = s.i32[chunkWord(s, c) + L.CHUNK_ZERO_RANGE];
  return [w & L.ZERO_LO_MASK, w >>> L.ZERO_HI_SHIFT];
}

function allZero(heap: Heap, p: number, n: number): boolean {
  const u8 = heap.u8;
  for (let i = 0; i < n; i++) if (u8[p + i] !== 0) return false;
  return true;
}

function isCorruption(e: unknown): boolean {
  return e instanceof HeapError && e.code === "CORRUPTION";
}

test("a fresh chunk's ZERO range loses the pages that large runs take, and calloc still zeroes what it must", () => {
  const heap = Heap.create({ initialBytes: 8 << 20 });
  const s = internals(heap);
  // A chunk of its own: the first large run of a fresh heap lands in chunk 0 or the next one.
  const p = heap.malloc(LARGE);
  const c = addrChunk(s, p);
  const r0 = addrPage(s, p) - c * L.CHUNK_PAGES;
  const r1 = r0 + LARGE / L.PAGE_SIZE;
  const [lo, hi] = range(s, c);
  assert.equal(hi, L.CHUNK_PAGES, "the fresh pages after the run still say ZERO");
  // The run came off the front of the chunk's fresh free run, so the range now starts after it.
  assert.ok(lo >= r1, `the range [${lo}, ${hi}) still holds pages of the run [${r0}, ${r1})`);
  for (let g = r0 + 1; g < r1 - 1; g++) assert.equal(s.i32[mapIdx(s, c * L.CHUNK_PAGES + g)] & L.PI_ZERO, 0, `page ${g} of the run`);
  heap.check();

  // Dirty the run, free it, and calloc it back: its pages are outside the range (none read), and
  // the zeros come from zeroing it.
  heap.u8.fill(0xee, p, p + LARGE);
  heap.free(p);
  const q = heap.calloc(1, LARGE);
  assert.equal(q, p, "the same pages come back");
  assert.ok(allZero(heap, q, LARGE), "calloc over dirty pages outside the ZERO range");
  heap.check();

  // A second run: fresh pages inside the range, which it loses.
  const q2 = heap.calloc(1, LARGE);
  assert.equal(addrChunk(s, q2), c);
  assert.ok(allZero(heap, q2, LARGE));
  const [lo2] = range(s, c);
  assert.ok(lo2 >= addrPage(s, q2) - c * L.CHUNK_PAGES + LARGE / L.PAGE_SIZE, `range starts at ${lo2}, after the second run`);
  heap.check();
  heap.free(q);
  heap.free(q2);
  heap.check();
  // Both come back dirty to the same pages, and calloc zeroes them.
  const a = heap.malloc(LARGE), b = heap.malloc(LARGE);
  heap.u8.fill(0x5a, a, a + LARGE);
  heap.u8.fill(0x5a, b, b + LARGE);
  heap.free(a);
  heap.free(b);
  const z1 = heap.calloc(1, LARGE), z2 = heap.calloc(LARGE / 8, 8);
  assert.ok(allZero(heap, z1, LARGE) && allZero(heap, z2, LARGE), "calloc over pages that held 0x5a");
  heap.check();
});

test("a chunk taken by small runs of every class keeps its ZERO range around what is still fresh", () => {
  const heap = Heap.create({ initialBytes: 8 << 20, threadCache: false });
  const s = internals(heap);
  const blocks: number[] = [];
  for (let n = 8; n <= 14336; n += n < 64 ? 8 : n >> 2) blocks.push(heap.malloc(n), heap.malloc(LARGE / 4));
  const c = addrChunk(s, blocks[0]);
  const tight = zeroRangeOf(s, c);
  const [lo, hi] = range(s, c);
  if (tight !== 0) assert.ok(lo <= (tight & L.ZERO_LO_MASK) && hi >= tight >>> L.ZERO_HI_SHIFT, "every ZERO page is in the range");
  heap.check();
  for (const p of blocks) heap.free(p);
  heap.check();
});

test("check() reports a page that says ZERO outside its chunk's ZERO range as CORRUPTION", () => {
  const heap = Heap.create({ initialBytes: 8 << 20 });
  const s = internals(heap);
  const p = heap.malloc(LARGE);
  const c = addrChunk(s, p);
  heap.free(p); // its pages: the inside of a free run, no longer ZERO, outside the range
  const page = mapIdx(s, addrPage(s, p) + 10) + L.MAP_INFO;
  const saved = s.i32[page];
  assert.equal(saved & L.PI_ZERO, 0);
  s.i32[page] = saved | L.PI_ZERO; // a ZERO bit markRun would never read: a calloc could trust it
  assert.throws(() => heap.check(), isCorruption, "a ZERO page below the range");
  s.i32[page] = saved;
  heap.check();
  // A range narrower than the fresh pages: cleared, as a heap of an older sabmalloc has it.
  const zw = chunkWord(s, c) + L.CHUNK_ZERO_RANGE;
  const w = s.i32[zw];
  s.i32[zw] = 0;
  assert.throws(() => heap.check(), isCorruption, "fresh pages with no range");
  s.i32[zw] = w;
  heap.check();
});

test("a restored heap bounds its ZERO pages again (older sabmallocs left the word 0): runs taken there are zero", () => {
  const heap = Heap.create({ initialBytes: 8 << 20 });
  const s = internals(heap);
  const keep = heap.malloc(1000);
  heap.u8.fill(0x11, keep, keep + 1000);
  // As a heap saved by sabmalloc 0.1 before the range: the word of every arena chunk is 0.
  const chunks: number[] = [];
  for (let c = 0; c < s.nchunks; c++) {
    if (((s.i32[s.ct + c] & L.CK_MASK) === L.CK_ARENA)) chunks.push(c);
  }
  assert.ok(chunks.length > 0);
  for (const c of chunks) s.i32[chunkWord(s, c) + L.CHUNK_ZERO_RANGE] = 0;
  assert.throws(() => heap.check(), isCorruption, "this sabmalloc's check() wants the range");
  const bytes = heap.snapshot();
  const r = Heap.restore(bytes);
  r.check(); // would throw CORRUPTION if the fresh pages were outside the range
  const rs = internals(r);
  for (const c of chunks) assert.equal(rs.i32[chunkWord(rs, c) + L.CHUNK_ZERO_RANGE], zeroRangeOf(rs, c), `chunk ${c}`);
  assert.equal(r.u8[keep + 999], 0x11);
  // Large runs on the restored heap: fresh pages and dirty ones, zero either way.
  const ps: number[] = [];
  for (let i = 0; i < 6; i++) {
    const p = r.calloc(1, LARGE);
    assert.ok(allZero(r, p, LARGE), `calloc ${i}`);
    r.u8.fill(0x77, p, p + LARGE);
    ps.push(p);
  }
  for (const p of ps) r.free(p);
  for (let i = 0; i < 6; i++) assert.ok(allZero(r, r.calloc(1, LARGE), LARGE), `calloc ${i} again`);
  r.check();
});
