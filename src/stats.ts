// stats: the heap's counters, gathered from the arena records and the heap header.
//
// Each arena's numbers are read under its lock, so each arena is self-consistent; the totals of a
// heap that other threads are changing are a snapshot taken arena by arena.

import { arenaLock, arenaUnlock, arenaWord, binWord, keptPages, keptTable } from "./arena.js";
import { L } from "./layout.js";
import { BIN_NREGS, BIN_RUN_PAGES, BIN_SIZE, NBINS } from "./sizeclass.js";
import { Space } from "./space.js";
import { cacheBytes, slotCache } from "./tcache.js";

export interface BinStats {
  /** Region size of the class. */
  size: number;
  /** Regions in one run. */
  nregs: number;
  /** Pages in one run. */
  runPages: number;
  /** Regions handed out now (held by thread caches included). */
  curregs: number;
  /** Runs of this class now. */
  curruns: number;
  /** Of those, empty runs the arena keeps for this class (HeapOptions.keepEmptyRuns). */
  keptRuns: number;
  /** Regions handed out from runs, ever. */
  nmalloc: number;
  /** Regions returned to runs, ever. */
  nfree: number;
  /** Thread cache fills from this bin. */
  nfills: number;
  /** Thread cache flushes into this bin. */
  nflushes: number;
}

export interface ClassCounts {
  allocated: number;
  nmalloc: number;
  nfree: number;
}

export interface ArenaStats {
  /** Threads attached to this arena. */
  threads: number;
  small: ClassCounts;
  large: ClassCounts;
  bins: BinStats[];
  /** Chunks owned (its spare included). */
  chunks: number;
  /** Bytes of pages in this arena's small and large runs. */
  active: number;
  /** Bytes of pages in the empty runs it keeps (counted in `active`; `heap.trim()` gives them back). */
  kept: number;
}

export interface HeapStats {
  /** Bytes of live allocations (usable sizes), regions held in thread caches included. */
  allocated: number;
  /**
   * Bytes of the free blocks that thread caches hold (small regions and large runs, counted in
   * `allocated` and `active`): allocated - cached is what the program holds. A snapshot: other
   * threads' caches are read without their locks.
   */
  cached: number;
  /** Bytes of pages in active runs and huge allocations. */
  active: number;
  /**
   * Bytes of pages in empty small runs that arenas keep for their classes (counted in `active`):
   * they go back when an arena needs pages, when the heap grows, when their class has not needed
   * them for `keptDecayMs`, and on `heap.trim()`.
   */
  kept: number;
  /** Bytes the allocator uses for itself: headers, page maps, bitmaps, thread caches. */
  metadata: number;
  /** Bytes of chunks in use (by arenas or huge allocations). */
  mapped: number;
  /** Bytes of the buffer now. */
  capacity: number;
  /** Thread slots in use (attached threads, and exited ones not yet reclaimed). */
  threads: number;
  arenas: ArenaStats[];
  huge: ClassCounts;
  /** Chunks in the buffer, and how many of them sit unused in the global pool. */
  chunks: number;
  poolChunks: number;
  /** Double frees found late (while a thread cache was flushed), ever. */
  lateDoubleFrees: number;
}

export function gatherStats(s: Space): HeapStats {
  const m = s.i32;
  const f = s.f64;
  const narenas = m[s.hdr + L.H_NARENAS];
  const arenas: ArenaStats[] = [];
  let allocated = 0;
  let active = 0;
  let kept = 0;
  let metaPages = L.CHUNK_HEADER_PAGES + m[s.hdr + L.H_HEADER_PAGES]; // chunk 0's headers
  for (let a = 0; a < narenas; a++) {
    const aw = arenaWord(s, a);
    arenaLock(s, a);
    const bins: BinStats[] = [];
    const t = keptTable(s, aw);
    for (let b = 0; b < NBINS; b++) {
      const bw = binWord(s, a, b);
      const keptRuns = t === 0 ? 0 : m[t + L.ET_COUNT + b];
      bins.push({
        size: BIN_SIZE[b], nregs: BIN_NREGS[b], runPages: BIN_RUN_PAGES[b],
        curregs: m[bw + L.B_CURREGS], curruns: m[bw + L.B_CURRUNS], keptRuns,
        nmalloc: f[(bw + L.B_NMALLOC) >>> 1], nfree: f[(bw + L.B_NFREE) >>> 1],
        nfills: f[(bw + L.B_NFILLS) >>> 1], nflushes: f[(bw + L.B_NFLUSHES) >>> 1],
      });
    }
    const st: ArenaStats = {
      threads: Atomics.load(m, aw + L.A_NTHREADS),
      small: counts(f, aw + L.A_SMALL_ALLOCATED, aw + L.A_SMALL_NMALLOC, aw + L.A_SMALL_NFREE),
      large: counts(f, aw + L.A_LARGE_ALLOCATED, aw + L.A_LARGE_NMALLOC, aw + L.A_LARGE_NFREE),
      bins,
      chunks: m[aw + L.A_NCHUNKS],
      active: m[aw + L.A_ACTIVE_PAGES] * L.PAGE_SIZE,
      kept: keptPages(s, aw) * L.PAGE_SIZE,
    };
    metaPages += m[aw + L.A_META_PAGES] + (a === 0 ? st.chunks - 1 : st.chunks) * L.CHUNK_HEADER_PAGES;
    arenaUnlock(s, a);
    arenas.push(st);
    allocated += st.small.allocated + st.large.allocated;
    active += st.active;
    kept += st.kept;
  }
  const huge = counts(f, s.hdr + L.H_HUGE_ALLOCATED, s.hdr + L.H_HUGE_NMALLOC, s.hdr + L.H_HUGE_NFREE);
  const nchunks = Atomics.load(m, s.hdr + L.H_NCHUNKS);
  const pool = m[s.hdr + L.H_POOL_CHUNKS];
  let threads = 0;
  let cached = 0;
  const nslots = m[s.hdr + L.H_NSLOTS];
  for (let k = 0; k < nslots; k++) {
    if ((Atomics.load(m, s.sl + k * L.SLOT_WORDS + L.S_STATE) & L.SS_MASK) === L.SS_FREE) continue;
    threads++;
    const tw = slotCache(s, k);
    if (tw !== 0) cached += cacheBytes(s, tw);
  }
  return {
    allocated: allocated + huge.allocated,
    cached,
    active: active + huge.allocated,
    kept,
    metadata: metaPages * L.PAGE_SIZE,
    mapped: (nchunks - pool) * L.CHUNK_SIZE,
    capacity: s.buffer().byteLength - s.hb,
    threads,
    arenas,
    huge,
    chunks: nchunks,
    poolChunks: pool,
    lateDoubleFrees: Atomics.load(m, s.hdr + L.H_DOUBLE_FREES),
  };
}

function counts(f: Float64Array, allocated: number, nmalloc: number, nfree: number): ClassCounts {
  return { allocated: f[allocated >>> 1], nmalloc: f[nmalloc >>> 1], nfree: f[nfree >>> 1] };
}
