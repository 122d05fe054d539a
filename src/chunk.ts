// chunk: the heap's chunks - the global pool of unused ones, growth of the buffer, arena chunk
// headers, and huge allocations (whole contiguous chunks).
//
// The heap header's chunk table has one word per chunk (CK_* in layout.ts). Everything here runs
// under the global lock (H_LOCK), which guards the chunk table, the pool and growth; an arena may
// hold its own lock while it takes the global one (lock order: arena, then global).
//
// Crash safety (journal.ts): the entry of an arena chunk and of a huge block's first chunk is the
// primary state, written through the global journal; a huge block's later entries, the pool count
// and the huge counters are derived from it (repair.ts: repairGlobal). Entries of chunks that
// growth adds are written before the new chunk count is published, and writing them again is
// harmless. A chunk's page map is written before its entry makes it an arena's.
//
// Arena chunk, as set up by initArenaChunk (chunk 0 also holds the heap header):
//
//   page 0      1 .. 4      5 ..                                       255
//   +---------+-----------+--------------------------------------------+
//   | map     | bitmaps   | one free page run, ZERO when fresh          |
//   +---------+-----------+--------------------------------------------+
//   |<-- META run -------->|

import { crashPoint, gset } from "./journal.js";
import { L } from "./layout.js";
import { chunkWord, Space } from "./space.js";

const WASM_PAGE = 65536;

export function chunkEntry(s: Space, c: number): number {
  return s.i32[s.ct + c];
}

export function setChunkEntry(s: Space, c: number, v: number): void {
  s.i32[s.ct + c] = v;
}

export function chunkKind(entry: number): number {
  return entry & L.CK_MASK;
}

export function chunkArg(entry: number): number {
  return entry >>> L.CK_ARG_SHIFT;
}

/** First page of chunk `c` that is not header: chunk 0 also carries the heap header. */
export function firstDataPage(s: Space, c: number): number {
  return c === 0 ? L.CHUNK_HEADER_PAGES + s.i32[s.hdr + L.H_HEADER_PAGES] : L.CHUNK_HEADER_PAGES;
}

// ---- Growth ---------------------------------------------------------------------------------------

/** Grows the buffer to hold `n` chunks. Global lock held. False when the heap may not grow so far. */
function growTo(s: Space, n: number): boolean {
  const cur = s.i32[s.hdr + L.H_NCHUNKS];
  if (n <= cur) return true;
  if (n > s.i32[s.hdr + L.H_MAX_CHUNKS]) return false;
  const need = s.hb + n * L.CHUNK_SIZE;
  const b = s.backing;
  const had = s.buffer().byteLength; // bytes below this may hold anything (fromMemory), the rest is new
  try {
    if (b instanceof SharedArrayBuffer) {
      if (b.byteLength < need) b.grow(need);
    } else {
      const have = b.buffer.byteLength;
      if (have < need) b.grow(Math.ceil((need - have) / WASM_PAGE));
    }
  } catch {
    return false; // the engine refused (its own limit, or out of address space)
  }
  s.remap();
  crashPoint(s); // grown, nothing published: the next growth finds the buffer long enough
  for (let c = cur; c < n; c++) setChunkEntry(s, c, L.CK_FREE | (s.hb + c * L.CHUNK_SIZE >= had ? L.CK_ZERO : 0));
  crashPoint(s);
  s.i32[s.hdr + L.H_POOL_CHUNKS] += n - cur;
  Atomics.store(s.i32, s.hdr + L.H_NCHUNKS, n);
  s.nchunks = n;
  return true;
}

/** Grows to `n` chunks, a little more when allowed (fewer grows, fewer view refreshes). */
function growFor(s: Space, n: number, gated: boolean): boolean {
  // Arenas give back the empty runs they keep when they next unlock (arena.ts: keptDue): pages
  // they kept may spare the next growth. A hint, not state: a rollback need not undo it.
  s.i32[s.hdr + L.H_TRIM_EPOCH]++;
  const cur = s.i32[s.hdr + L.H_NCHUNKS];
  if (gated && !growthGate.mayGrow(s, n - cur)) return false;
  const generous = Math.min(n + (cur >>> 3), s.i32[s.hdr + L.H_MAX_CHUNKS]);
  return (generous > n && growTo(s, generous)) || growTo(s, n);
}

/**
 * Whether `chunks` new chunks may come from growing the buffer now. arena.ts says no while arenas
 * keep at least as many pages in empty runs: the call then finds no room, has them given back, and
 * tries again (arena.ts: keptRetry), so that the buffer grows only for pages nobody holds.
 */
export const growthGate = { mayGrow: (_s: Space, _chunks: number): boolean => true };

// ---- The pool ---------------------------------------------------------------------------------------

/**
 * Takes `n` contiguous unused chunks, lowest address first, growing the buffer when the pool has
 * none. Global lock held. Returns the first chunk, or -1. `zero` is set to whether all were fresh.
 */
export function poolTake(s: Space, n: number): number {
  s.refresh();
  const total = s.nchunks;
  let runStart = 0;
  let runLen = 0;
  for (let c = 0; c < total; c++) {
    if (chunkKind(chunkEntry(s, c)) === L.CK_FREE) {
      if (runLen === 0) runStart = c;
      if (++runLen === n) return take(s, runStart, n);
    } else {
      runLen = 0;
    }
  }
  // Not enough in the pool: the free chunks at the end (runLen of them) plus new ones.
  const start = runLen > 0 ? runStart : total;
  if (!growFor(s, start + n, true)) return -1;
  return take(s, start, n);
}

export let poolTakeZero = false;

/** Takes chunks [first, first + n) out of the pool; the caller writes their entries at once. */
function take(s: Space, first: number, n: number): number {
  let zero = true;
  for (let c = first; c < first + n; c++) {
    if ((chunkEntry(s, c) & L.CK_ZERO) === 0) zero = false;
  }
  s.i32[s.hdr + L.H_POOL_CHUNKS] -= n;
  poolTakeZero = zero;
  return first;
}

/** Returns chunks [first, first + n) to the pool. Global lock held. */
export function poolGive(s: Space, first: number, n: number): void {
  // The first entry is an arena chunk's or a huge block's (journaled); the rest, a huge block's
  // later chunks (derived).
  gset(s, s.ct + first, L.CK_FREE);
  crashPoint(s); // later chunks still say "body": repairGlobal frees them (their first is free)
  for (let c = first + 1; c < first + n; c++) setChunkEntry(s, c, L.CK_FREE);
  s.i32[s.hdr + L.H_POOL_CHUNKS] += n;
}

// ---- Arena chunks -------------------------------------------------------------------------------------

/**
 * Writes the page map of a chunk newly given to `arena`: its header pages as one META run, the
 * rest as one free run (ZERO when the chunk is fresh). Returns the free run's first global page;
 * the caller inserts it into the arena's tree.
 */
export function initArenaChunk(s: Space, c: number, arena: number, zero: boolean): number {
  const m = s.i32;
  const map = chunkWord(s, c);
  const first = firstDataPage(s, c);
  m.fill(0, map, map + L.CHUNK_PAGES * L.MAP_ENTRY_WORDS);
  setRunInfo(s, map, 0, first, L.PS_META | L.PI_HEAD, 0);
  setRunInfo(s, map, first, L.CHUNK_PAGES - first, L.PS_FREE | L.PI_HEAD, zero ? L.PI_ZERO : 0);
  m[map + L.CHUNK_ZERO_RANGE] = zero ? first | (L.CHUNK_PAGES << L.ZERO_HI_SHIFT) : 0;
  // Last: until its entry says so, the chunk is not the arena's, and its map is nobody's.
  gset(s, s.ct + c, L.CK_ARENA | (arena << L.CK_ARG_SHIFT));
  return c * L.CHUNK_PAGES + first;
}

/**
 * The smallest range of the pages of arena chunk `c` that holds every page whose info says ZERO,
 * as its L.CHUNK_ZERO_RANGE word holds it (0: none): what it holds again after a repair or a
 * restore.
 */
export function zeroRangeOf(s: Space, c: number): number {
  const m = s.i32;
  const map = chunkWord(s, c);
  let lo = -1;
  let hi = 0;
  for (let p = firstDataPage(s, c); p < L.CHUNK_PAGES; p++) {
    if ((m[map + p * L.MAP_ENTRY_WORDS + L.MAP_INFO] & L.PI_ZERO) === 0) continue;
    if (lo < 0) lo = p;
    hi = p + 1;
  }
  return lo < 0 ? 0 : lo | (hi << L.ZERO_HI_SHIFT);
}

/**
 * Writes the page infos of a run of `npages` pages starting at page `page` of the chunk whose map
 * starts at word `map`: `headBits` on the first page, the length on the first and last pages,
 * `flags` on every page.
 */
function setRunInfo(s: Space, map: number, page: number, npages: number, headBits: number, flags: number): void {
  const m = s.i32;
  const state = headBits & 3;
  for (let p = page; p < page + npages; p++) m[map + p * L.MAP_ENTRY_WORDS + L.MAP_INFO] = state | flags;
  const sized = npages << L.PI_SIZE_SHIFT;
  m[map + page * L.MAP_ENTRY_WORDS + L.MAP_INFO] = headBits | flags | sized;
  m[map + (page + npages - 1) * L.MAP_ENTRY_WORDS + L.MAP_INFO] |= sized;
}

// ---- Huge allocations ------------------------------------------------------------------------------------

//   a huge block                      an inset huge block (CK_INSET: a large run made huge in place)
//   chunk c        chunk c+1           chunk c                       chunk c+1
//   +--------------+----------+       +-------+--------------------+--------------+
//   | block ...                |       | (hdr) | block: the run     | ... its rest |
//   +--------------+----------+       +-------+--------------------+--------------+
//   ^ hb + c * CHUNK_SIZE              ^ chunk  ^ + CHUNK_HEADER_PAGES pages: the pointer
//
// An inset block keeps the first chunk's header pages unused (20 KiB), so that realloc can make a
// large run that has its chunk to itself huge without moving it (heap.ts: promoteLarge).

/** Chunks a huge allocation of `npages` pages spans (counted from its first chunk's first page). */
export function hugeChunks(npages: number): number {
  return Math.ceil((npages * L.PAGE_SIZE) / L.CHUNK_SIZE);
}

/** Pages of its first chunk before a huge block starts: 0, or the header pages of an inset block. */
export function hugeLead(entry: number): number {
  return (entry & L.CK_INSET) !== 0 ? L.CHUNK_HEADER_PAGES : 0;
}

/** Chunks the huge block whose first chunk's entry is `entry` spans at `npages` pages. */
export function hugeSpan(entry: number, npages: number = chunkArg(entry)): number {
  return hugeChunks(hugeLead(entry) + npages);
}

/** The address of the huge block whose first chunk is `c`, with entry `entry`. */
export function hugeAddr(s: Space, c: number, entry: number): number {
  return s.hb + c * L.CHUNK_SIZE + hugeLead(entry) * L.PAGE_SIZE;
}

/**
 * Marks chunks [first, first + n) as one huge allocation of `npages` pages, with entry bits `flags`
 * (CK_INSET) on its first. Global lock held.
 */
export function setHuge(s: Space, first: number, n: number, npages: number, flags = 0): void {
  for (let c = first + 1; c < first + n; c++) {
    setChunkEntry(s, c, L.CK_HUGE_BODY | ((c - first) << L.CK_ARG_SHIFT));
  }
  crashPoint(s); // bodies with no first chunk: repairGlobal frees them
  gset(s, s.ct + first, L.CK_HUGE | flags | (npages << L.CK_ARG_SHIFT));
}

/**
 * Like poolTake, for a huge block whose first byte must sit at a multiple of `align` bytes (an
 * alignment above the chunk size, or a heap base that is not chunk-aligned). Returns -1 when no
 * position up to the heap's maximum size can hold it.
 */
export function poolTakeAligned(s: Space, n: number, align: number): number {
  s.refresh();
  const max = s.i32[s.hdr + L.H_MAX_CHUNKS];
  for (let c = 1; c + n <= max; c++) {
    if ((s.hb + c * L.CHUNK_SIZE) % align !== 0) continue;
    let fits = true;
    for (let k = c; k < c + n && k < s.nchunks && fits; k++) fits = chunkKind(chunkEntry(s, k)) === L.CK_FREE;
    if (!fits) continue;
    if (c + n > s.nchunks && !growFor(s, c + n, true)) return -1;
    return take(s, c, n);
  }
  return -1;
}

/**
 * Resizes the huge block at chunk `c` from `have` to `want` chunks in place: gives the tail back,
 * or takes the unused chunks right after it (growing the buffer at its end). Global lock held.
 * False, changing nothing, when the chunks after it are in use.
 */
export function hugeResize(s: Space, c: number, have: number, want: number): boolean {
  if (want < have) {
    poolGive(s, c + want, have - want);
    return true;
  }
  s.refresh();
  for (let k = c + have; k < c + want && k < s.nchunks; k++) {
    if (chunkKind(chunkEntry(s, k)) !== L.CK_FREE) return false;
  }
  if (c + want > s.nchunks && !growFor(s, c + want, false)) return false;
  take(s, c + have, want - have);
  return true;
}
