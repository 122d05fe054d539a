// locate: what a pointer is - the start of a live small region, large run or huge block, or an
// invalid pointer (which, and why) - and whether a small region or large run sits in a thread
// cache (a double free). Slow paths only (free's fast path tests the same facts inline).
//
// Results go to module variables (no object per call), read by heap.ts right after the call.

import { infoBin, infoSize, pageInfo } from "./arena.js";
import { hasFreeMark, smallRunOf } from "./bin.js";
import { bitmapGet } from "./bitmap.js";
import { chunkArg, chunkEntry, chunkKind, firstDataPage, hugeAddr } from "./chunk.js";
import { doubleFree, invalidPointer } from "./errors.js";
import { L } from "./layout.js";
import { BIN_SIZE, regionIndex } from "./sizeclass.js";
import { addrChunk, addrPage, auxIdx, pageAddr, Space } from "./space.js";
import { cacheHoldsAny, largeCacheBin, slotCache } from "./tcache.js";

// What locate() found out about a pointer (module scratch: no allocation per call).
export const K_SMALL = 1;
export const K_LARGE = 2;
export const K_HUGE = 3;
export let locBin = 0; // small: class
export let locRun = 0; // small, large: first global page of the run
export let locIdx = 0; // small: region index
export let locPages = 0; // large, huge: length in pages
export let locArena = 0; // small, large: owning arena
export let locSampled = 0; // large, huge: non-zero for a sampled block (profile.ts)
export let locSClass = -1; // large: the class of a sampled small block, else -1

/** The thread-cache bin of the block locate() just found: its class, its length's, or -1. */
export function cacheBinOf(kind: number): number {
  return kind === K_SMALL ? locBin : kind === K_LARGE ? largeCacheBin(locPages) : -1;
}

/**
 * Whether page `gpage`, which heads no run, lies inside a large run: the pages between a large run's
 * first and last keep saying PS_FREE (arena.ts: markRun), so the run is found from its first page,
 * the nearest run head before it in its chunk. (Error messages only.)
 */
function insideLarge(s: Space, gpage: number): boolean {
  const c = gpage >>> L.CHUNK_PAGE_SHIFT;
  const first = c * L.CHUNK_PAGES + firstDataPage(s, c);
  for (let g = gpage - 1; g >= first; g--) {
    const info = pageInfo(s, g);
    if ((info & L.PI_HEAD) !== 0) return (info & L.PI_STATE_MASK) === L.PS_LARGE && g + infoSize(info) > gpage;
  }
  return false;
}

/**
 * Classifies `ptr` as the start of a live small region, large run or huge block (setting the loc*
 * scratch variables), or throws INVALID_POINTER saying why not - DOUBLE_FREE for a freed small
 * region when `freeing` (free, realloc). Reads metadata without a lock: for a block that is live,
 * what it reads does not change until the block is freed.
 */
export function locate(s: Space, ptr: number, freeing: boolean): number {
  if (typeof ptr !== "number") throw new TypeError(`sabmalloc: a pointer is a number, not ${typeof ptr}`);
  if ((ptr >>> 0) !== ptr) throw invalidPointer(ptr, "is not an unsigned 32-bit integer");
  if (ptr < s.hb) throw invalidPointer(ptr, "lies below the heap's base");
  s.refresh();
  const c = addrChunk(s, ptr);
  if (c >= s.nchunks) throw invalidPointer(ptr, "lies past the end of the heap");
  const e = chunkEntry(s, c);
  locSampled = 0;
  locSClass = -1;
  switch (chunkKind(e)) {
    case L.CK_FREE: throw invalidPointer(ptr, "lies in an unused chunk");
    case L.CK_HUGE_BODY: throw invalidPointer(ptr, "lies inside a huge block");
    case L.CK_HUGE:
      if (ptr !== hugeAddr(s, c, e)) {
        throw invalidPointer(ptr, ptr < hugeAddr(s, c, e) ? "lies in the unused header pages before a huge block" : "lies inside a huge block");
      }
      locPages = chunkArg(e);
      locSampled = e & L.CK_SAMPLED;
      return K_HUGE;
  }
  locArena = chunkArg(e);
  const gpage = addrPage(s, ptr);
  const info = pageInfo(s, gpage);
  switch (info & L.PI_STATE_MASK) {
    case L.PS_FREE:
      if ((info & L.PI_HEAD) === 0 && insideLarge(s, gpage)) throw invalidPointer(ptr, "lies inside a large block");
      throw invalidPointer(ptr, "lies in free pages (freed already, or never allocated)");
    case L.PS_META: throw invalidPointer(ptr, "lies in the allocator's metadata");
    case L.PS_LARGE:
      if ((info & L.PI_HEAD) === 0 || ptr % L.PAGE_SIZE !== s.hb % L.PAGE_SIZE) {
        throw invalidPointer(ptr, "lies inside a large block");
      }
      locRun = gpage;
      locPages = infoSize(info);
      locSampled = info & L.PI_SAMPLED;
      if (locSampled !== 0) locSClass = ((info >>> L.PI_SCLASS_SHIFT) & L.PI_SCLASS_MASK) - 1;
      return K_LARGE;
  }
  const bin = infoBin(info);
  const run = smallRunOf(s, gpage);
  const off = ptr - pageAddr(s, run);
  const idx = regionIndex(bin, off);
  if (idx * BIN_SIZE[bin] !== off) throw invalidPointer(ptr, `lies inside a ${BIN_SIZE[bin]}-byte region`);
  if (bitmapGet(s.i32, auxIdx(s, run), idx)) {
    if (((s.i32[ptr >>> 2] ^ ptr) | L.MARK_USED_BIT) === L.FREE_MARK) {
      throw freeing ? doubleFree(ptr, "was freed already") : invalidPointer(ptr, "was freed");
    }
    throw invalidPointer(ptr, "is a region that was never allocated");
  }
  locBin = bin;
  locRun = run;
  locIdx = idx;
  return K_SMALL;
}

/** Throws DOUBLE_FREE when the located block at `ptr` (cache bin `bin`) sits in a thread cache. */
export function assertNotFreed(s: Space, ownCache: number, ownSlot: number, ptr: number, bin: number): void {
  if (!isFreed(s, ownCache, ownSlot, ptr, bin)) return;
  if (((s.i32[ptr >>> 2] ^ ptr) & L.MARK_FRESH_BIT) !== 0) {
    throw invalidPointer(ptr, "is a region that was never allocated (it sits in a thread cache)");
  }
  throw doubleFree(ptr, "was freed already (it is in a thread cache)");
}

/**
 * Whether the small region `ptr` (bitmap: in use) is really in some thread's cache. Only asked
 * when its first word holds the free mark - user data rarely looks like it - so the scan of the
 * caches (this thread's exactly, other live threads' as they are this instant) is rare.
 */
export function isFreed(s: Space, ownCache: number, ownSlot: number, ptr: number, bin: number): boolean {
  if (bin < 0 || !hasFreeMark(s.i32, ptr)) return false;
  if (ownCache !== 0 && cacheHoldsAny(s, ownCache, bin, ptr)) return true;
  const nslots = s.i32[s.hdr + L.H_NSLOTS];
  for (let k = 0; k < nslots; k++) {
    if (k === ownSlot || (Atomics.load(s.i32, s.sl + k * L.SLOT_WORDS + L.S_STATE) & L.SS_MASK) !== L.SS_LIVE) continue;
    const tw = slotCache(s, k);
    if (tw !== 0 && cacheHoldsAny(s, tw, bin, ptr)) return true;
  }
  return false;
}
