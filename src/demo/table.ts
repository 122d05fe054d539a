// table: a concurrent open-addressing hash map whose table, locks and records all live in a sabmalloc
// heap, so that every thread attached to the heap can use it. Written for the demo (`sabmalloc demo`)
// as an example of a shared data structure built on the allocator.
//
//   table header (malloc'd, 8 words)
//   +-------+----------+----------+-------+-------+-------+-------+-------+
//   | magic | capacity | segments | slots | locks | count | -     | -     |
//   +-------+----------+----------+-------+-------+-------+-------+-------+
//                                     |       |
//                                     |       +--> one lock word per segment: 0 free, else
//                                     |            (holder's heap slot + 1) << 2 | 1 held, | 2 held
//                                     |            and someone may sleep on it
//                                     v
//   slots (malloc'd): capacity x 2 words, in segments of SEG_SLOTS slots
//   +---------+--------+---------+--------+-----
//   | key + 1 | record | key + 1 | record | ...     key + 1: 0 = never used, -1 = deleted (tombstone)
//   +---------+--------+---------+--------+-----
//                 |
//                 v
//   record (malloc'd, 12 + len bytes)
//   +-----+---------+-----+-------------------------------------+
//   | key | version | len | len bytes: pattern(key, version)    |
//   +-----+---------+-----+-------------------------------------+
//
// A key hashes to a segment and to a start slot inside it; probing is linear and wraps around inside
// the segment, so one operation touches one segment, under that segment's lock. Records are made
// (malloc + fill) before the lock is taken and checked and freed after it is released: the lock
// covers only the slot update, and whoever unlinks a record owns it. Reads check the record's bytes
// under the lock (a concurrent delete cannot free it meanwhile). Every record's bytes are derived
// from its key and version, so any lost write, stray write or reuse of live memory is caught.
//
// A worker may be terminated anywhere (`sabmalloc demo --chaos` does it on purpose). Each update
// under a lock is one word or ordered so that a cut leaves a valid table: an insert writes the
// record pointer before the key that makes the slot live; a delete writes the tombstone first.
// The lock word names its holder, so that breakLocksOf(slot) can free the locks of a dead thread;
// the count may be off by one then. A record made but not linked yet, or unlinked but not freed yet,
// when its thread dies is lost (the heap's reclaim cannot know it was the table's).

import type { Heap } from "../heap.js";

const MAGIC = 0x7ab1e5ed;
export const SEG_SLOTS = 64;
const HEADER_WORDS = 8;
const T_MAGIC = 0;
const T_CAPACITY = 1;
const T_SEGMENTS = 2;
const T_SLOTS = 3;
const T_LOCKS = 4;
const T_COUNT = 5;
const REC_HEADER = 12;
const TOMBSTONE = -1;
const SPINS = 100;
const HELD = 1;
const CONTENDED = 2;
const WAIT_MS = 50; // a waiter looks again this often (a dead holder's lock is broken, not released)
const NO_ROOM = -0x7fffffff; // find(): the segment is full

/** What put() did. */
export const enum Put {
  INSERTED = 0,
  REPLACED = 1,
  /** No room: the heap returned 0, or the key's segment is full. */
  FULL = 2,
}

export class VerifyError extends Error {
  override name = "VerifyError";
}

/** A 32-bit mix of key and version: the seed of a record's byte pattern. */
export function patternSeed(key: number, version: number): number {
  let h = Math.imul(key ^ 0x9e3779b9, 0x85ebca6b) ^ version;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

function hash(key: number): number {
  let h = Math.imul(key, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

export class SharedTable {
  /** Byte address of the table header: post it to other threads, then SharedTable.open(). */
  readonly ptr: number;
  readonly capacity: number;
  private readonly heap: Heap;
  private readonly segMask: number;
  private readonly slots: number; // word index
  private readonly locks: number; // word index
  private readonly canBlock: boolean;
  /** This thread's lock tag: (heap slot + 1) << 2. */
  private readonly owner: number;
  private i32: Int32Array;
  private u8: Uint8Array;

  private constructor(heap: Heap, ptr: number) {
    this.heap = heap;
    this.ptr = ptr;
    this.i32 = new Int32Array(0);
    this.u8 = new Uint8Array(0);
    this.view(ptr + HEADER_WORDS * 4);
    const h = ptr >>> 2;
    if (this.i32[h + T_MAGIC] !== MAGIC) throw new TypeError(`no table at ${ptr}`);
    this.capacity = this.i32[h + T_CAPACITY];
    this.segMask = this.i32[h + T_SEGMENTS] - 1;
    this.slots = this.i32[h + T_SLOTS] >>> 2;
    this.locks = this.i32[h + T_LOCKS] >>> 2;
    this.canBlock = canBlock(this.i32);
    this.owner = (heap.slot + 1) << 2;
  }

  /** A new empty table of at least `capacity` slots (rounded up to a power of two), in `heap`. */
  static create(heap: Heap, capacity: number): SharedTable {
    let cap = SEG_SLOTS;
    while (cap < capacity) cap *= 2;
    const segments = cap / SEG_SLOTS;
    const hdr = heap.calloc(HEADER_WORDS, 4);
    const slots = heap.calloc(cap * 2, 4);
    const locks = heap.calloc(segments, 4);
    if (hdr === 0 || slots === 0 || locks === 0) {
      for (const p of [hdr, slots, locks]) heap.free(p);
      throw new RangeError(`the heap has no room for a table of ${cap} slots`);
    }
    const m = new Int32Array(heap.buffer, hdr, HEADER_WORDS);
    m[T_CAPACITY] = cap;
    m[T_SEGMENTS] = segments;
    m[T_SLOTS] = slots;
    m[T_LOCKS] = locks;
    Atomics.store(m, T_MAGIC, MAGIC);
    return new SharedTable(heap, hdr);
  }

  /** The table at `ptr` (another thread's `table.ptr`), used through this thread's `heap`. */
  static open(heap: Heap, ptr: number): SharedTable {
    return new SharedTable(heap, ptr);
  }

  /** Records in the table now. */
  get count(): number {
    return Atomics.load(this.i32, (this.ptr >>> 2) + T_COUNT);
  }

  // ---- Operations --------------------------------------------------------------------------------

  /** Checks the record of `key` and returns its length, or -1 when the key is absent. */
  get(key: number): number {
    const seg = hash(key) & this.segMask;
    this.lock(seg);
    try {
      const i = this.find(key, seg);
      if (i < 0) return -1;
      return this.verify(this.i32[this.slots + 2 * i + 1] >>> 0, key);
    } finally {
      this.unlock(seg);
    }
  }

  /** Stores a new record of `len` pattern bytes for `key`, replacing (and freeing) the old one. */
  put(key: number, len: number, version: number): Put {
    const rec = this.heap.malloc(REC_HEADER + len);
    if (rec === 0) return Put.FULL;
    this.fill(rec, key, version, len);
    const seg = hash(key) & this.segMask;
    this.lock(seg);
    const m = this.i32;
    const i = this.find(key, seg);
    let old = 0;
    let result = Put.REPLACED;
    if (i >= 0) {
      old = m[this.slots + 2 * i + 1] >>> 0;
      m[this.slots + 2 * i + 1] = rec;
    } else if (i !== NO_ROOM) {
      const at = this.slots + 2 * (-i - 1);
      m[at + 1] = rec; // first: until the key is written the slot is not live
      m[at] = key + 1;
      Atomics.add(m, (this.ptr >>> 2) + T_COUNT, 1);
      result = Put.INSERTED;
    } else {
      result = Put.FULL;
    }
    this.unlock(seg);
    if (result === Put.FULL) {
      this.heap.free(rec);
    } else if (old !== 0) {
      this.verify(old, key); // unlinked: ours alone now
      this.heap.free(old);
    }
    return result;
  }

  /** Removes `key`; checks and frees its record. Returns its length, or -1 when it was absent. */
  delete(key: number): number {
    const seg = hash(key) & this.segMask;
    this.lock(seg);
    const m = this.i32;
    const i = this.find(key, seg);
    let rec = 0;
    if (i >= 0) {
      const at = this.slots + 2 * i;
      rec = m[at + 1] >>> 0;
      m[at] = TOMBSTONE;
      m[at + 1] = 0;
      Atomics.sub(m, (this.ptr >>> 2) + T_COUNT, 1);
      // A tombstone followed by a never-used slot ends every probe that reaches it: it (and the
      // tombstones before it) can become never-used again.
      const first = seg * SEG_SLOTS;
      let k = i;
      while (m[this.slots + 2 * (first + ((k + 1 - first) & (SEG_SLOTS - 1)))] === 0 && m[this.slots + 2 * k] === TOMBSTONE) {
        m[this.slots + 2 * k] = 0;
        k = first + ((k - 1 - first) & (SEG_SLOTS - 1));
        if (k === i) break;
      }
    }
    this.unlock(seg);
    if (rec === 0) return -1;
    const len = this.verify(rec, key);
    this.heap.free(rec);
    return len;
  }

  /**
   * Checks every record (taking each segment's lock in turn). Returns the number of records and of
   * their pattern bytes.
   */
  verifyAll(): { records: number; bytes: number } {
    let records = 0;
    let bytes = 0;
    for (let seg = 0; seg <= this.segMask; seg++) {
      this.lock(seg);
      try {
        for (let i = seg * SEG_SLOTS; i < (seg + 1) * SEG_SLOTS; i++) {
          const k = this.i32[this.slots + 2 * i];
          if (k === 0 || k === TOMBSTONE) continue;
          bytes += this.verify(this.i32[this.slots + 2 * i + 1] >>> 0, k - 1);
          records++;
        }
      } finally {
        this.unlock(seg);
      }
    }
    return { records, bytes };
  }

  /** Frees every record and the table itself. No other thread may use the table any more. */
  destroy(): void {
    const m = this.i32;
    for (let i = 0; i < this.capacity; i++) {
      const k = m[this.slots + 2 * i];
      if (k !== 0 && k !== TOMBSTONE) this.heap.free(m[this.slots + 2 * i + 1] >>> 0);
    }
    this.heap.free(this.slots * 4);
    this.heap.free(this.locks * 4);
    this.i32[this.ptr >>> 2] = 0;
    this.heap.free(this.ptr);
  }

  // ---- Inside ---------------------------------------------------------------------------------------

  /**
   * Slot index of `key` in segment `seg`; when absent, -(index + 1) of the slot to insert it at
   * (the first tombstone on its path, else the never-used slot ending it), or NO_ROOM when the
   * segment has no room. Segment lock held.
   */
  private find(key: number, seg: number): number {
    const m = this.i32;
    const first = seg * SEG_SLOTS;
    const start = (hash(key) >>> 20) & (SEG_SLOTS - 1);
    const want = key + 1;
    let free = -1;
    for (let n = 0; n < SEG_SLOTS; n++) {
      const i = first + ((start + n) & (SEG_SLOTS - 1));
      const k = m[this.slots + 2 * i];
      if (k === want) return i;
      if (k === 0) return -((free >= 0 ? free : i) + 1);
      if (k === TOMBSTONE && free < 0) free = i;
    }
    return free >= 0 ? -(free + 1) : NO_ROOM;
  }

  /** Writes a record: header, then pattern(key, version) as words and a byte tail. */
  private fill(rec: number, key: number, version: number, len: number): void {
    this.view(rec + REC_HEADER + len);
    const m = this.i32;
    const w = rec >>> 2;
    m[w] = key;
    m[w + 1] = version;
    m[w + 2] = len;
    const seed = patternSeed(key, version);
    const words = len >>> 2;
    for (let i = 0; i < words; i++) m[w + 3 + i] = (seed + Math.imul(i, 0x9e3779b1)) | 0;
    const tail = rec + REC_HEADER + words * 4;
    for (let j = 0; j < (len & 3); j++) this.u8[tail + j] = (seed >>> (8 * j)) & 255;
  }

  /** Checks the record at `rec` against `key` and its pattern; returns its length, or throws. */
  private verify(rec: number, key: number): number {
    this.view(rec + REC_HEADER);
    let m = this.i32;
    const w = rec >>> 2;
    const len = m[w + 2];
    if (m[w] !== key) throw new VerifyError(`record at ${rec}: key ${m[w]}, expected ${key}`);
    if (len < 0 || REC_HEADER + len > this.heap.usableSize(rec)) {
      throw new VerifyError(`record at ${rec} (key ${key}): length ${len} does not fit its block of ${this.heap.usableSize(rec)}`);
    }
    this.view(rec + REC_HEADER + len);
    m = this.i32;
    const seed = patternSeed(key, m[w + 1]);
    const words = len >>> 2;
    for (let i = 0; i < words; i++) {
      if (m[w + 3 + i] !== ((seed + Math.imul(i, 0x9e3779b1)) | 0)) {
        throw new VerifyError(`record at ${rec} (key ${key}, ${len} bytes): word ${i} was overwritten`);
      }
    }
    const tail = rec + REC_HEADER + words * 4;
    for (let j = 0; j < (len & 3); j++) {
      if (this.u8[tail + j] !== ((seed >>> (8 * j)) & 255)) {
        throw new VerifyError(`record at ${rec} (key ${key}): tail byte ${j} was overwritten`);
      }
    }
    return len;
  }

  /** Makes sure the views cover byte `end` (the heap's buffer may have grown). */
  private view(end: number): void {
    if (end <= this.u8.length) return;
    const b = this.heap.buffer;
    const bytes = b.byteLength & ~3;
    this.i32 = new Int32Array(b, 0, bytes >>> 2);
    this.u8 = new Uint8Array(b, 0, bytes);
  }

  // A lock word per segment: compareExchange when free; under contention spin a little, then sleep
  // in Atomics.wait where the thread may block (a browser's main thread may not: it keeps spinning).

  private lock(seg: number): void {
    const m = this.i32;
    const at = this.locks + seg;
    const held = this.owner | HELD;
    if (Atomics.compareExchange(m, at, 0, held) === 0) return;
    for (let n = 0; n < SPINS || !this.canBlock; n++) {
      if (Atomics.load(m, at) === 0 && Atomics.compareExchange(m, at, 0, held) === 0) return;
    }
    for (;;) {
      const v = Atomics.load(m, at);
      if (v === 0) {
        if (Atomics.compareExchange(m, at, 0, this.owner | CONTENDED) === 0) return;
        continue;
      }
      if ((v & CONTENDED) === 0 && Atomics.compareExchange(m, at, v, v | CONTENDED) !== v) continue;
      Atomics.wait(m, at, v | CONTENDED, WAIT_MS);
    }
  }

  private unlock(seg: number): void {
    const at = this.locks + seg;
    if ((Atomics.exchange(this.i32, at, 0) & CONTENDED) !== 0) Atomics.notify(this.i32, at, 1);
  }

  /**
   * After the thread of heap slot `slot` died: frees the segment locks it held (each segment is
   * valid at every write, see above). Returns how many it held. (`count` may then be off by one
   * per death: it is updated after the slot.)
   */
  breakLocksOf(slot: number): number {
    const m = this.i32;
    const tag = (slot + 1) << 2;
    let broken = 0;
    for (let seg = 0; seg <= this.segMask; seg++) {
      const at = this.locks + seg;
      const v = Atomics.load(m, at);
      if ((v & ~3) === tag && Atomics.compareExchange(m, at, v, 0) === v) {
        Atomics.notify(m, at);
        broken++;
      }
    }
    return broken;
  }
}

function canBlock(m: Int32Array): boolean {
  try {
    Atomics.wait(m, 0, ~Atomics.load(m, 0), 0);
    return true;
  } catch {
    return false;
  }
}
