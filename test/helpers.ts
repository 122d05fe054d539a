// Test helpers: byte patterns that tie a block's contents to its pointer and size, assertions on
// blocks and errors, and typed access to a heap's internal Space (for tests that look at, or
// corrupt on purpose, the metadata).
import assert from "node:assert/strict";
import { Heap, HeapError } from "../src/index.js";
import { L } from "../src/layout.js";
import { firstDataPage } from "../src/chunk.js";
import { BIN_RUN_PAGES } from "../src/sizeclass.js";
import { mapIdx, pageAddr } from "../src/space.js";
import { TC_STACK, tcCount } from "../src/tcache.js";
import type { HeapErrorCode } from "../src/index.js";
import type { Space } from "../src/space.js";

/** The heap's internal views and header offsets (tests only: the Heap keeps them private). */
export function internals(heap: Heap): Space {
  const s = (heap as unknown as { s: Space }).s;
  s.refresh();
  return s;
}

/** A seed for the pattern of the block at `p` of `size` bytes. */
export function seedOf(p: number, size: number): number {
  return (Math.imul(p ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(size + 1, 0x85ebca6b)) | 0;
}

/** Word `i` of the pattern with seed `seed`: differs from word to word, rarely 0. */
function patternWord(seed: number, i: number): number {
  return (seed + Math.imul(i, 0x01000193)) | 0;
}

/**
 * Writes the pattern of `seed` into bytes [p, p + n). Whole words first (p is 8-aligned for every
 * block the heap hands out), then the tail byte by byte.
 */
export function fillPattern(heap: Heap, p: number, n: number, seed: number): void {
  const buf = heap.buffer;
  const words = n >>> 2;
  const w = new Int32Array(buf, p, words);
  for (let i = 0; i < words; i++) w[i] = patternWord(seed, i);
  const tail = patternWord(seed, words);
  const u8 = new Uint8Array(buf, p + words * 4, n - words * 4);
  for (let i = 0; i < u8.length; i++) u8[i] = tail >>> (8 * i);
}

/** The offset of the first byte in [p, p + n) that differs from the pattern of `seed`, or -1. */
export function findPatternMismatch(heap: Heap, p: number, n: number, seed: number): number {
  const buf = heap.buffer;
  const words = n >>> 2;
  const w = new Int32Array(buf, p, words);
  for (let i = 0; i < words; i++) if (w[i] !== patternWord(seed, i)) return i * 4;
  const tail = patternWord(seed, words);
  const u8 = new Uint8Array(buf, p + words * 4, n - words * 4);
  for (let i = 0; i < u8.length; i++) if (u8[i] !== ((tail >>> (8 * i)) & 255)) return words * 4 + i;
  return -1;
}

export function assertPattern(heap: Heap, p: number, n: number, seed: number, what = "block"): void {
  const at = findPatternMismatch(heap, p, n, seed);
  assert.equal(at, -1, `${what} at ${p} (${n} bytes) lost its contents at offset ${at}`);
}

/** Whether bytes [p, p + n) are all `byte`. */
export function allBytes(heap: Heap, p: number, n: number, byte: number): boolean {
  const u8 = new Uint8Array(heap.buffer, p, n);
  for (let i = 0; i < n; i++) if (u8[i] !== byte) return false;
  return true;
}

/** Asserts that `fn` throws a HeapError with `code`. */
export function assertHeapError(fn: () => unknown, code: HeapErrorCode, what?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HeapError, `${what ?? "call"}: expected HeapError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `${what ?? "call"}: ${e.message}`);
    return true;
  });
}

/** A live block in a test: its pointer, the bytes asked for, and the seed of its pattern. */
export interface Block {
  p: number;
  size: number;
  seed: number;
}

/** Allocates `size` bytes, fills them with the block's pattern, and returns the block. */
export function allocFilled(heap: Heap, size: number): Block {
  const p = heap.malloc(size);
  assert.notEqual(p, 0, `malloc(${size}) failed`);
  const seed = seedOf(p, size);
  fillPattern(heap, p, size, seed);
  return { p, size, seed };
}

export function assertBlocks(heap: Heap, blocks: Iterable<Block>): void {
  for (const b of blocks) assertPattern(heap, b.p, b.size, b.seed);
}

/** Frees `ptrs` and flushes this thread's cache: the heap must then be consistent and hold nothing. */
export function freeAllAssertEmpty(heap: Heap, ptrs: Iterable<number>): void {
  for (const p of ptrs) heap.free(p);
  heap.flush();
  heap.check();
  assert.equal(heap.stats().allocated, 0);
}

/**
 * After everything was freed and flushed: the only active pages left are the empty runs the arenas
 * keep (HeapOptions.keepEmptyRuns), and trim() gives those back: then no page is active.
 */
export function assertOnlyKeptActive(heap: Heap, what = "everything freed"): void {
  const st = heap.stats();
  assert.equal(st.active, st.kept, `${what}: the active pages are the kept empty runs`);
  assert.ok(heap.trim() >= st.kept, `${what}: trim() gives the kept runs back`);
  const end = heap.stats();
  assert.equal(end.active, 0, `${what}, then trim(): no active pages`);
  assert.equal(end.kept, 0);
  heap.check();
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

// ---- Finding places in a heap's metadata and free space (through its internal Space) ----------

/** The byte address of this thread's cache block, or 0. */
export function cacheBlockAddr(heap: Heap): number {
  const s = internals(heap);
  return s.i32[s.sl + heap.slot * L.SLOT_WORDS + L.S_TCACHE] >>> 0;
}

/** Byte address of the heap header (inside chunk 0, after its chunk header). */
export function heapHeaderAddr(heap: Heap): number {
  return internals(heap).hdr * 4;
}

/** The kind (L.CK_*) of chunk `c` in the chunk table. */
export function chunkKindOf(heap: Heap, c: number): number {
  const s = internals(heap);
  return s.i32[s.ct + c] & L.CK_MASK;
}

/** The first chunk whose table entry has kind `kind` (L.CK_*), or -1. */
export function findChunk(heap: Heap, kind: number): number {
  const s = internals(heap);
  for (let c = 0; c < s.nchunks; c++) if (chunkKindOf(heap, c) === kind) return c;
  return -1;
}

/**
 * The address of the first page, at `from` or after, of an arena chunk's run of state `state`
 * (L.PS_*), or 0. Runs are walked from their first pages: the pages inside a large run say
 * PS_FREE (arena.ts: markRun), so a page's own state is not its run's.
 */
export function findPage(heap: Heap, state: number, from = 0): number {
  const s = internals(heap);
  for (let c = 0; c < s.nchunks; c++) {
    if ((s.i32[s.ct + c] & L.CK_MASK) !== L.CK_ARENA) continue;
    for (let p = firstDataPage(s, c); p < L.CHUNK_PAGES;) {
      const g = c * L.CHUNK_PAGES + p;
      const info = s.i32[mapIdx(s, g) + L.MAP_INFO];
      const len = (info & L.PI_STATE_MASK) === L.PS_SMALL ? BIN_RUN_PAGES[(info >>> L.PI_BIN_SHIFT) & L.PI_BIN_MASK] : (info >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK;
      if (len < 1) throw new Error(`findPage: page ${g} heads no run (info ${info})`);
      for (let k = 0; k < len; k++) {
        const addr = pageAddr(s, g + k);
        if (addr >= from && (info & L.PI_STATE_MASK) === state) return addr;
      }
      p += len;
    }
  }
  return 0;
}

/**
 * Takes chunk 0's free pages in large runs (returned, for the test to free), so that the large runs
 * a test makes next lie in another chunk: realloc moves a run of chunk 0 that grows past
 * L.GROW_OUT_PAGES to another chunk (heap.ts: reallocToChunkStart), which a test of growth in
 * place must not meet.
 */
export function fillChunk0(heap: Heap): number[] {
  const s = internals(heap);
  const taken: number[] = [];
  for (let n = L.DATA_PAGES; n >= 4; ) {
    const p = heap.malloc(n * L.PAGE_SIZE);
    if (p !== 0 && p - s.hb < L.CHUNK_SIZE) {
      taken.push(p);
    } else {
      if (p !== 0) heap.free(p);
      n--;
    }
  }
  heap.flush(); // the runs freed above, of lengths a thread cache keeps, go back to their chunks
  return taken;
}

/** Whether block `p` sits in this thread's cache (freed, not yet returned to its arena). */
export function inThreadCache(heap: Heap, p: number): boolean {
  const tcb = cacheBlockAddr(heap);
  if (tcb === 0) return false;
  const s = internals(heap);
  const tw = tcb >>> 2;
  for (let b = 0; b < TC_STACK.length; b++) {
    const n = tcCount(s.i32, tw, b);
    for (let i = 0; i < n; i++) if (s.i32[tw + TC_STACK[b] + i] >>> 0 === p) return true;
  }
  return false;
}
