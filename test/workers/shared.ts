// Helpers shared by the multi-threaded tests and their workers: views over the heap's buffer that
// follow its growth, a fill pattern derived from a block's pointer and size, a lock-free queue that
// lives inside the heap, an Atomics barrier, and a small seeded random number generator.
//
// Everything here runs in workers and on the main thread alike; no node: imports.

import type { Heap } from "../../src/index.js";

// The spinning workers replace Atomics.wait by a function that throws (as on a browser's main
// thread), so that a blocking wait inside the heap shows up loudly. The tests' own waiting (barriers,
// an empty queue) keeps the real one, taken here when the module loads.
const atomicsWait = Atomics.wait;

/** Atomics.wait as it was when this module loaded. */
export function waitOn(m: Int32Array, at: number, value: number, ms?: number): string {
  return atomicsWait(m, at, value, ms);
}

// ---- Views that follow the heap's growth ------------------------------------------------------------

/**
 * Fixed-length views over the buffer now backing a heap, remade when a block lies past their end:
 * a growable SharedArrayBuffer keeps its object but fixed-length views do not see the growth, a
 * WebAssembly.Memory hands out a new buffer object after every grow.
 */
export class Views {
  i32: Int32Array;
  u8: Uint8Array;
  remakes = 0;

  constructor(private readonly heap: Heap) {
    this.i32 = this.u8 = undefined as never;
    this.remake();
  }

  remake(): void {
    const buf = this.heap.buffer;
    const bytes = buf.byteLength - (buf.byteLength % 8);
    this.i32 = new Int32Array(buf, 0, bytes / 4);
    this.u8 = new Uint8Array(buf, 0, bytes);
    this.remakes++;
  }

  /** Makes sure bytes [0, end) are inside the views; throws when the heap's buffer is shorter. */
  ensure(end: number): void {
    if (end <= this.u8.length) return;
    this.remake();
    if (end > this.u8.length) {
      throw new Error(`block ends at ${end}, past the end of the heap's buffer (${this.u8.length} bytes)`);
    }
  }
}

// ---- A pattern derived from pointer and size -------------------------------------------------------

function seedOf(ptr: number, size: number): number {
  let h = Math.imul(ptr ^ 0x27d4eb2d, 0x9e3779b1) ^ Math.imul(size + 0x165667b1, 0x85ebca77);
  h ^= h >>> 15;
  return Math.imul(h, 0xc2b2ae3d) | 1;
}

/** Fills bytes [ptr, ptr + size) with the pattern of (ptr, size). ptr is a multiple of 4. */
export function fill(v: Views, ptr: number, size: number): void {
  v.ensure(ptr + size);
  const seed = seedOf(ptr, size);
  const m = v.i32;
  const w0 = ptr >>> 2;
  const nw = size >>> 2;
  for (let k = 0; k < nw; k++) m[w0 + k] = seed + Math.imul(k, 0x9e3779b1);
  const u8 = v.u8;
  for (let j = nw * 4; j < size; j++) u8[ptr + j] = (seed ^ 0x5c5c5c5c) >>> ((j & 3) * 8);
}

/**
 * Checks that the min(size, upTo) bytes at `at` hold the first bytes of the pattern of (ptr, size)
 * (`at` differs from ptr after realloc moved the block). Returns -1, or the byte offset of the first
 * word that differs.
 */
export function verify(v: Views, ptr: number, size: number, upTo = size, at = ptr): number {
  const n = Math.min(size, upTo);
  v.ensure(at + n);
  const seed = seedOf(ptr, size);
  const m = v.i32;
  const w0 = at >>> 2;
  const nw = n >>> 2;
  for (let k = 0; k < nw; k++) if (m[w0 + k] !== ((seed + Math.imul(k, 0x9e3779b1)) | 0)) return k * 4;
  const u8 = v.u8;
  for (let j = nw * 4; j < n; j++) {
    // Past the last whole word checked: a byte of a pattern word, or of the pattern's tail.
    const word = j < (size & ~3) ? seed + Math.imul(j >>> 2, 0x9e3779b1) : seed ^ 0x5c5c5c5c;
    if (u8[at + j] !== ((word >>> ((j & 3) * 8)) & 255)) return j;
  }
  return -1;
}

/** A readable account of a pattern mismatch. */
export function describeMismatch(v: Views, who: string, ptr: number, size: number, at: number): string {
  const got = v.u8.slice(ptr + at, ptr + Math.min(size, at + 16));
  return `${who}: block ${ptr} (0x${ptr.toString(16)}) of ${size} bytes differs from its pattern at byte ${at}: ` +
    `found [${Array.from(got).join(",")}]`;
}

// ---- A queue of (pointer, size) pairs inside the heap ----------------------------------------------
//
// Dmitry Vyukov's bounded multi-producer multi-consumer queue: every cell carries a sequence number
// that says whether it is ready to be written (seq == pos) or read (seq == pos + 1).
//
//   word 0      word 2      word 4 ...
//   +---------+-+---------+-+------------------------------+
//   | enqueue | | dequeue | | cells: [seq, ptr, size, -] x cap |
//   +---------+-+---------+-+------------------------------+

const Q_ENQ = 0;
const Q_DEQ = 2;
const Q_CELLS = 4;
const CELL_WORDS = 4;

/** Bytes of a queue of `cap` cells. */
export function queueBytes(cap: number): number {
  return (Q_CELLS + cap * CELL_WORDS) * 4;
}

export class Queue {
  private readonly w: number;
  private readonly mask: number;

  /** The queue at byte `addr` (from Queue.create) with `cap` cells, a power of two. */
  constructor(private readonly v: Views, addr: number, readonly cap: number) {
    if ((cap & (cap - 1)) !== 0 || addr % 8 !== 0) throw new Error("queue: bad capacity or address");
    this.w = addr >>> 2;
    this.mask = cap - 1;
  }

  /** Allocates a queue of `cap` cells with heap.malloc and initializes it. Returns its address. */
  static create(heap: Heap, v: Views, cap: number): number {
    const addr = heap.malloc(queueBytes(cap));
    if (addr === 0) throw new Error("queue: out of memory");
    v.ensure(addr + queueBytes(cap));
    const w = addr >>> 2;
    const m = v.i32;
    m.fill(0, w, w + Q_CELLS + cap * CELL_WORDS);
    for (let i = 0; i < cap; i++) Atomics.store(m, w + Q_CELLS + i * CELL_WORDS, i);
    return addr;
  }

  /** False when full. */
  push(ptr: number, size: number): boolean {
    const m = this.v.i32;
    const w = this.w;
    let pos = Atomics.load(m, w + Q_ENQ);
    for (;;) {
      const cell = w + Q_CELLS + (pos & this.mask) * CELL_WORDS;
      const dif = (Atomics.load(m, cell) - pos) | 0;
      if (dif === 0) {
        const seen = Atomics.compareExchange(m, w + Q_ENQ, pos, (pos + 1) | 0);
        if (seen === pos) {
          Atomics.store(m, cell + 1, ptr | 0);
          Atomics.store(m, cell + 2, size | 0);
          Atomics.store(m, cell, (pos + 1) | 0);
          return true;
        }
        pos = seen;
      } else if (dif < 0) {
        return false;
      } else {
        pos = Atomics.load(m, w + Q_ENQ);
      }
    }
  }

  /** Pops one pair into `out` ([ptr, size]); false when empty. */
  pop(out: number[]): boolean {
    const m = this.v.i32;
    const w = this.w;
    let pos = Atomics.load(m, w + Q_DEQ);
    for (;;) {
      const cell = w + Q_CELLS + (pos & this.mask) * CELL_WORDS;
      const dif = (Atomics.load(m, cell) - ((pos + 1) | 0)) | 0;
      if (dif === 0) {
        const seen = Atomics.compareExchange(m, w + Q_DEQ, pos, (pos + 1) | 0);
        if (seen === pos) {
          out[0] = Atomics.load(m, cell + 1) >>> 0;
          out[1] = Atomics.load(m, cell + 2);
          Atomics.store(m, cell, (pos + this.mask + 1) | 0);
          return true;
        }
        pos = seen;
      } else if (dif < 0) {
        return false;
      } else {
        pos = Atomics.load(m, w + Q_DEQ);
      }
    }
  }
}

// ---- Barrier and control words ---------------------------------------------------------------------

/**
 * Waits until `n` threads have arrived (words at, at + 1: count and generation; reusable). Waits
 * in slices of 50 ms, so a thread that never comes shows up as the test's timeout, not a hang that
 * terminate() cannot break.
 */
export function barrier(m: Int32Array, at: number, n: number): void {
  const gen = Atomics.load(m, at + 1);
  if (Atomics.add(m, at, 1) === n - 1) {
    Atomics.store(m, at, 0);
    Atomics.add(m, at + 1, 1);
    Atomics.notify(m, at + 1);
    return;
  }
  while (Atomics.load(m, at + 1) === gen) waitOn(m, at + 1, gen, 50);
}

// ---- Random numbers --------------------------------------------------------------------------------

/** xorshift32: a fast, seeded generator of floats in [0, 1). */
export function rng(seed: number): () => number {
  let x = seed | 0 || 0x1234567;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** A random size between lo and hi (inclusive), log-uniform: small sizes far more often. */
export function logUniform(r: () => number, lo: number, hi: number): number {
  return Math.min(hi, Math.floor(Math.exp(Math.log(lo) + r() * (Math.log(hi + 1) - Math.log(lo)))));
}
