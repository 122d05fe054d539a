// roots: a few named pointers kept in the heap's header, so that a heap restored from a snapshot
// (or joined by a thread that was handed nothing but the heap) finds its data structures again.
//
// The roots area is the last L.ROOTS_WORDS words of the heap header's pages (layout.ts), so its
// place depends only on H_HEADER_PAGES, not on how the header before it is laid out:
//
//   heap header pages
//   +--------------+-------------+---------------+--------------+-----------------------+
//   | fixed fields | chunk table | arena records | thread slots | roots: 16 x 16 bytes  |
//   +--------------+-------------+---------------+--------------+-----------------------+
//
//   root entry (L.ROOT_WORDS words)
//   +------------------------------------+---------+
//   | name: 12 bytes of UTF-8, 0-padded  | pointer |     all-zero name: an empty entry
//   +------------------------------------+---------+
//
// Roots are read and written under the global lock (rare calls; the lock keeps a name and its
// pointer together). A name is 1 to 12 bytes of UTF-8 without NUL, so its first word is never 0.

import type { Heap } from "./heap.js";
import { spaceOf } from "./inspect.js";
import { L } from "./layout.js";
import { lockAcquire, lockRelease } from "./lock.js";
import type { Space } from "./space.js";

const encoder = new TextEncoder();
const NAME_WORDS = L.ROOT_NAME_BYTES / 4;

/** Word index of the roots area of the heap in `s`. */
export function rootsWord(s: Space): number {
  return s.hdr + s.i32[s.hdr + L.H_HEADER_PAGES] * (L.PAGE_SIZE / 4) - L.ROOTS_WORDS;
}

/** The name as the 3 words it is stored as; TypeError/RangeError when it cannot be a root's. */
function nameWords(name: unknown): Int32Array {
  if (typeof name !== "string") throw new TypeError(`sabmalloc: a root's name is a string, not ${typeof name}`);
  const bytes = encoder.encode(name);
  if (bytes.length === 0 || bytes.length > L.ROOT_NAME_BYTES || bytes.includes(0)) {
    throw new RangeError(`sabmalloc: root name ${JSON.stringify(name)} must be 1 to ${L.ROOT_NAME_BYTES} bytes of UTF-8 without NUL (it is ${bytes.length})`);
  }
  const padded = new Uint8Array(L.ROOT_NAME_BYTES);
  padded.set(bytes);
  return new Int32Array(padded.buffer);
}

/** The entry (word index) holding `name`, or -1; `free` receives the first empty entry, or -1. */
function findEntry(m: Int32Array, roots: number, name: Int32Array, free: { at: number }): number {
  free.at = -1;
  for (let r = 0; r < L.ROOTS; r++) {
    const e = roots + r * L.ROOT_WORDS;
    if (m[e] === 0) {
      if (free.at < 0) free.at = e;
      continue;
    }
    let same = true;
    for (let k = 0; k < NAME_WORDS; k++) same &&= m[e + k] === name[k];
    if (same) return e;
  }
  return -1;
}

/**
 * Sets root `name` to `ptr`: 0 removes it; anything else must be a live block of this heap (else
 * HeapError INVALID_POINTER, from usableSize). RangeError when all L.ROOTS entries are taken.
 */
export function setRoot(heap: Heap, name: string, ptr: number): void {
  const words = nameWords(name);
  if (typeof ptr !== "number") throw new TypeError(`sabmalloc: a pointer is a number, not ${typeof ptr}`);
  if (ptr !== 0) heap.usableSize(ptr); // throws INVALID_POINTER for anything but a live block
  const s = spaceOf(heap);
  const m = s.i32;
  const roots = rootsWord(s);
  const g = s.hdr + L.H_LOCK;
  const free = { at: -1 };
  lockAcquire(m, g, s.owner, s.canBlock);
  try {
    let e = findEntry(m, roots, words, free);
    if (ptr === 0) {
      if (e >= 0) m.fill(0, e, e + L.ROOT_WORDS);
      return;
    }
    if (e < 0) {
      if (free.at < 0) throw new RangeError(`sabmalloc: all ${L.ROOTS} roots are in use; setRoot(name, 0) removes one`);
      e = free.at;
      m.set(words, e);
    }
    m[e + L.ROOT_PTR] = ptr;
  } finally {
    lockRelease(m, g);
  }
}

/** The pointer kept under root `name`, or 0 when there is none. */
export function getRoot(heap: Heap, name: string): number {
  const words = nameWords(name);
  const s = spaceOf(heap);
  const m = s.i32;
  const g = s.hdr + L.H_LOCK;
  lockAcquire(m, g, s.owner, s.canBlock);
  try {
    const e = findEntry(m, rootsWord(s), words, { at: -1 });
    return e < 0 ? 0 : m[e + L.ROOT_PTR] >>> 0;
  } finally {
    lockRelease(m, g);
  }
}

/** Every root, name to pointer (for tools: `sabmalloc inspect`). */
export function listRoots(heap: Heap): Record<string, number> {
  const s = spaceOf(heap);
  const m = s.i32;
  const roots = rootsWord(s);
  const out: Record<string, number> = {};
  const decoder = new TextDecoder();
  for (let r = 0; r < L.ROOTS; r++) {
    const e = roots + r * L.ROOT_WORDS;
    if (m[e] === 0) continue;
    const bytes = new Uint8Array(Int32Array.from(m.subarray(e, e + NAME_WORDS)).buffer);
    const n = bytes.indexOf(0);
    out[decoder.decode(n < 0 ? bytes : bytes.subarray(0, n))] = m[e + L.ROOT_PTR] >>> 0;
  }
  return out;
}
