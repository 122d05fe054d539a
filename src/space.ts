// space: one thread's typed-array views of the shared buffer, and the arithmetic from pointers and
// page numbers to the metadata words that describe them.
//
// Views are made with a fixed length and remade when the buffer has grown ("refresh"): in V8 a
// length-tracking view of a growable SharedArrayBuffer is ~20x slower per element access, and a
// WebAssembly.Memory hands each thread a new, longer buffer object after every grow.
// Invariant: chunks [0, nchunks) are entirely inside the views.
//
// Pages are named by a global page number, gpage = (addr - base) >>> L.PAGE_SHIFT: chunk
// gpage >>> L.CHUNK_PAGE_SHIFT, page gpage & 255. Global page 0 is a chunk header page, never a
// run, so 0 serves as "none".

import { Bulk, BULK_COPY_MIN, BULK_FILL_MIN, makeBulk } from "./bulk.js";
import { L } from "./layout.js";

export type Backing = SharedArrayBuffer | WebAssembly.Memory;

export class Space {
  i32: Int32Array;
  u32: Uint32Array;
  u8: Uint8Array;
  f64: Float64Array;
  /** Bytes covered by the views. */
  bytes = 0;
  /** Chunks known to exist and covered by the views. */
  nchunks = 0;
  /** The heap base, in bytes and in words. */
  readonly hb: number;
  readonly hw: number;
  /** Word index of the heap header. */
  readonly hdr: number;
  /** Word indexes of the chunk table, the first arena record and the first thread slot. */
  ct = 0;
  ar = 0;
  sl = 0;
  /** Word index of the global lock's undo journal (journal.ts). */
  gj = 0;
  /** This thread's lock owner tag (slot + 1) and whether it may sleep in Atomics.wait. */
  owner = 0;
  canBlock = true;

  // ---- Critical sections (journal.ts, arena.ts) ----
  /** Word index of this thread's journal (in its thread block), or 0 while it has none. */
  jw = 0;
  /** The journal that arena sections write now: jw, or the global journal (held with H_LOCK). */
  jcur = 0;
  /** Whether this thread holds the profile lock (profile.ts). */
  profHeld = false;
  /** The arena whose lock this thread holds, or -1. */
  heldArena = -1;
  /** How deep this thread holds the global lock (its sections nest). */
  gDepth = 0;
  /** Chunks that became empty in the open arena section: released to the pool at its commit. */
  emptied: number[] = [];
  /** Called every few milliseconds while this thread waits for a lock (slots.ts: holder dead?). */
  onLockWait: ((holder: number, waitedMs: number) => void) | null = null;
  /** Tests: crash at the crashIn-th crash point from now (journal.ts: crashPoint); 0 = never. */
  crashIn = 0;
  /** Set when a crash point fired: the thread counts as dead, nothing may clean up after it. */
  dead = false;
  /** The most journal words one section of this thread has written (tests: sections fit L.J_CAP). */
  journalHigh = 0;
  /** memory.fill and memory.copy of the backing WebAssembly.Memory (bulk.ts); null on a plain buffer. */
  readonly bulk: Bulk | null;

  constructor(readonly backing: Backing, base: number) {
    this.hb = base;
    this.hw = base / 4;
    this.hdr = this.hw + L.HEADER_WORD;
    this.i32 = this.u32 = this.u8 = this.f64 = undefined as never;
    this.bulk = backing instanceof SharedArrayBuffer ? null : makeBulk(backing);
    this.remap();
  }

  /** The buffer that backs the heap now. */
  buffer(): SharedArrayBuffer {
    const b = this.backing;
    return b instanceof SharedArrayBuffer ? b : (b.buffer as unknown as SharedArrayBuffer);
  }

  /** Called after the views were remade (the Heap keeps a copy of i32 for its fast paths). */
  onRemap: (() => void) | null = null;

  /** Remakes the views over the whole buffer as it is now. */
  remap(): void {
    const buf = this.buffer();
    const bytes = buf.byteLength - (buf.byteLength % 8);
    this.i32 = new Int32Array(buf, 0, bytes / 4);
    this.u32 = new Uint32Array(buf, 0, bytes / 4);
    this.u8 = new Uint8Array(buf, 0, bytes);
    this.f64 = new Float64Array(buf, 0, bytes / 8);
    this.bytes = bytes;
    if (this.onRemap !== null) this.onRemap();
  }

  /**
   * Catches up with growth made by any thread. Call on every slow path before using metadata.
   * A plain read first (Atomics.load costs ~5 ns, a plain read ~1; two of them were a fifth of a
   * 64 KiB malloc+free): like every other metadata read of a slow path outside a lock, it relies
   * on the pointer it is about to look up having reached this thread with a happens-before edge
   * (postMessage, Atomics, a lock), which carries the growth that made its chunk along.
   */
  refresh(): void {
    if (this.i32[this.hdr + L.H_NCHUNKS] === this.nchunks) return;
    const n = Atomics.load(this.i32, this.hdr + L.H_NCHUNKS);
    if (n === this.nchunks) return;
    if (this.hb + n * L.CHUNK_SIZE > this.bytes) this.remap();
    this.nchunks = n;
  }
}

// ---- Address arithmetic ------------------------------------------------------------------------------

/** Byte address of global page `gpage`. */
export function pageAddr(s: Space, gpage: number): number {
  return s.hb + gpage * L.PAGE_SIZE;
}

/** Global page of byte address `addr` (addr >= base). */
export function addrPage(s: Space, addr: number): number {
  return (addr - s.hb) >>> L.PAGE_SHIFT;
}

/** Chunk of byte address `addr`; >= s.nchunks when addr is below the base or past the end. */
export function addrChunk(s: Space, addr: number): number {
  return (addr - s.hb) >>> L.CHUNK_SHIFT;
}

/** Word index of the page map entry of global page `gpage`. */
export function mapIdx(s: Space, gpage: number): number {
  return s.hw + (gpage >>> L.CHUNK_PAGE_SHIFT) * (L.CHUNK_SIZE / 4) + (gpage & (L.CHUNK_PAGES - 1)) * L.MAP_ENTRY_WORDS;
}

/** Word index of the aux slot (region bitmap) of global page `gpage`. */
export function auxIdx(s: Space, gpage: number): number {
  return s.hw + (gpage >>> L.CHUNK_PAGE_SHIFT) * (L.CHUNK_SIZE / 4) + L.AUX_OFFSET_WORDS +
    (gpage & (L.CHUNK_PAGES - 1)) * L.AUX_SLOT_WORDS;
}

/** Word index of the chunk header of chunk `c`. */
export function chunkWord(s: Space, c: number): number {
  return s.hw + c * (L.CHUNK_SIZE / 4);
}

// ---- Zeroing ---------------------------------------------------------------------------------------

/**
 * Zeros bytes [p, p + n) (p and n multiples of 8) with Float64 stores, eight a turn. On a
 * SharedArrayBuffer V8's fill() stores byte by byte (290 ns per KiB), and copying from an unshared
 * zero array with set() runs at 47-53 ns per KiB; the loop, 32 ns per KiB on memory out of cache and
 * 16 in cache (measured for 4 KiB to 1 MiB; calloc's sizes, 8 B..4 KiB log-uniform: 16 ns a call
 * against 19 with four stores a turn).
 */
export function zeroBytes(s: Space, p: number, n: number): void {
  if (n >= BULK_FILL_MIN && s.bulk !== null) {
    s.bulk.fill(p, 0, n); // in a WebAssembly.Memory: memory.fill (bulk.ts)
    return;
  }
  const i = p >>> 3;
  storeWords(s.f64, i, i + (n >>> 3), 0); // not (p + n) >>> 3: a block may end at 2^32
}

/** Stores `d` into f64[i .. end), eight a turn (zeroBytes, fillBytes). */
function storeWords(f64: Float64Array, i: number, end: number, d: number): void {
  for (; i + 8 <= end; i += 8) {
    f64[i] = d;
    f64[i + 1] = d;
    f64[i + 2] = d;
    f64[i + 3] = d;
    f64[i + 4] = d;
    f64[i + 5] = d;
    f64[i + 6] = d;
    f64[i + 7] = d;
  }
  for (; i < end; i++) f64[i] = d;
}

/** The 8-byte pattern fillBytes stores: its bytes, and the double they read as. */
const PATTERN = new Float64Array(1);
const PATTERN_BYTES = new Uint8Array(PATTERN.buffer);
let patternByte = -1;

/**
 * Sets bytes [p, p + n) to `byte` (debug mode's junk: heap.ts). On a SharedArrayBuffer V8's
 * fill() stores byte by byte: 700 ns a KiB; Float64 stores of the byte eight times over, eight a
 * turn, take 60 (an Int32 loop 180-500, unrolled 100). The double's bits are stored as they are
 * unless it is a NaN (byte 0xff), which V8 may rewrite: that byte goes to fill(). In a
 * WebAssembly.Memory, memory.fill from BULK_FILL_MIN bytes (bulk.ts).
 */
export function fillBytes(s: Space, p: number, n: number, byte: number): void {
  if (n >= BULK_FILL_MIN && s.bulk !== null) {
    s.bulk.fill(p, byte, n);
    return;
  }
  const u8 = s.u8;
  const end = p + n;
  if (byte !== patternByte) {
    PATTERN_BYTES.fill(byte);
    patternByte = byte;
  }
  const d = PATTERN[0];
  if (d !== d) {
    u8.fill(byte, p, end);
    return;
  }
  let b = p;
  for (; b < end && (b & 7) !== 0; b++) u8[b] = byte; // to the first whole 8 bytes
  const words = (end - b) >>> 3;
  storeWords(s.f64, b >>> 3, (b >>> 3) + words, d);
  for (b += words * 8; b < end; b++) u8[b] = byte; // the bytes after the last whole 8
}

/**
 * Copies `n` bytes from block `src` to block `dst` (both 8-aligned; `n` rounded up to 8, which both
 * blocks hold: usable sizes are multiples of 8). An Int32Array word loop for small copies (not
 * Float64Array: a float store may rewrite a NaN's bits), copyWithin on 8-byte elements for big ones
 * (measured, shared buffer: a 16 B copyWithin costs as much as a 300 B loop; for 512 KiB, 8-byte
 * elements copy in 22 us where bytes take 32).
 */
export function copyBlock(s: Space, dst: number, src: number, n: number): void {
  const words = (n + 7) >>> 3;
  if (n >= BULK_COPY_MIN && s.bulk !== null) {
    s.bulk.copy(dst, src, words * 8); // in a WebAssembly.Memory: memory.copy (bulk.ts)
  } else if (words <= 32) {
    const m = s.i32;
    const d = dst >>> 2;
    const from = src >>> 2;
    for (let i = 0; i < 2 * words; i++) m[d + i] = m[from + i];
  } else {
    s.f64.copyWithin(dst / 8, src / 8, src / 8 + words);
  }
}
