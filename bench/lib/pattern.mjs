// mstress object patterns: word 0 = size in bytes, word 1 = a random cookie, every following
// 32-bit word = cookie ^ (index * golden ratio). Written on allocation, verified before free, by
// whichever thread holds the object then. Shared by the workers and the main thread.
import { fixedView } from "./views.mjs";

/** fill the object at byte offset p (size bytes, size >= 8, multiple of 4) */
export function fillPattern(u32, p, size, cookie) {
  const b = p >>> 2, words = size >>> 2;
  u32[b] = size;
  u32[b + 1] = cookie;
  for (let j = 2; j < words; j++) u32[b + j] = cookie ^ Math.imul(j, 0x9e3779b1);
}

/**
 * Frees, each verified first, the objects whose addresses `table` (a Uint32Array) holds, and
 * clears their entries: what a transfer table keeps when its threads are done.
 */
export function freeTable(heap, table, maxBytes) {
  let u32 = fixedView(Uint32Array, heap);
  for (let j = 0; j < table.length; j++) {
    const q = table[j];
    if (q === 0) continue;
    if (q + 8 > u32.length * 4 || q + u32[q >>> 2] > u32.length * 4) u32 = fixedView(Uint32Array, heap);
    checkPattern(u32, q, maxBytes);
    heap.free(q);
    table[j] = 0;
  }
}

/** verify the object at p; returns its size, throws on the first wrong word */
export function checkPattern(u32, p, maxBytes) {
  const b = p >>> 2;
  const size = u32[b];
  if (size < 8 || size > maxBytes || (size & 7) !== 0) {
    throw new Error(`mstress: object at ${p} has a corrupt size word ${size}`);
  }
  const cookie = u32[b + 1] | 0;
  const words = size >>> 2;
  for (let j = 2; j < words; j++) {
    if ((u32[b + j] | 0) !== (cookie ^ Math.imul(j, 0x9e3779b1))) {
      throw new Error(`mstress: object at ${p} (${size} bytes) corrupted at word ${j}`);
    }
  }
  return size;
}
