// repair: puts the heap back together after a critical section that did not finish - its thread
// died (reclaim, or a waiter that finds the lock holder dead), or it threw (abortSections).
//
//   1. take over the locks the section held         (lockSteal: the holder is gone)
//   2. undo its journals, newest first               (journal.ts: the primary state as it was)
//   3. rebuild what is derived from the primary state:
//        global  huge blocks' later chunk entries, the pool count, the huge counters
//        arena   the free-run tree, bins (runcur, run trees, curregs, curruns), free counts,
//                chunk and page counts, allocated bytes, the spare chunk
//   4. release the locks
//
// Each step can itself be cut short and run again: undoing a journal twice writes the same old
// values, a rebuild starts from nothing. Cumulative counters (nmalloc, nfree, ...) cannot be
// rebuilt; nfree is set so that nmalloc - nfree is what is live, as it is in a heap at rest.

import { arenaWord, binWord, infoBin, infoSize, isKeptTable, keptPush, keptTable, pageInfo } from "./arena.js";
import { bitmapCount } from "./bitmap.js";
import { chunkArg, chunkEntry, chunkKind, firstDataPage, hugeSpan, setChunkEntry, zeroRangeOf } from "./chunk.js";
import { corruption } from "./errors.js";
import { journalIsOpen, journalRollback } from "./journal.js";
import { L } from "./layout.js";
import { lockRelease, lockSteal } from "./lock.js";
import { BIN_BITMAP_WORDS, BIN_NREGS, BIN_RUN_PAGES, BIN_SIZE, NBINS } from "./sizeclass.js";
import { auxIdx, chunkWord, mapIdx, Space } from "./space.js";
import { treeInsert } from "./tree.js";

/** Rebuilds the derived state of the global lock's data from the chunk table. Global lock held. */
export function repairGlobal(s: Space): void {
  const m = s.i32;
  const nchunks = Atomics.load(m, s.hdr + L.H_NCHUNKS);
  s.refresh();
  let pool = 0;
  let hugeBytes = 0;
  let blocks = 0;
  for (let c = 0; c < nchunks; c++) {
    const e = chunkEntry(s, c);
    const kind = chunkKind(e);
    if (kind === L.CK_HUGE) {
      const npages = chunkArg(e);
      const n = hugeSpan(e);
      if (npages < 1 || c + n > nchunks) throw corruption(`chunk ${c}: huge block of ${npages} pages overruns the heap`);
      for (let k = 1; k < n; k++) setChunkEntry(s, c + k, L.CK_HUGE_BODY | (k << L.CK_ARG_SHIFT));
      hugeBytes += npages * L.PAGE_SIZE;
      blocks++;
      c += n - 1;
    } else if (kind === L.CK_HUGE_BODY) {
      setChunkEntry(s, c, L.CK_FREE); // a later chunk whose first chunk is not a huge block's
      pool++;
    } else if (kind === L.CK_FREE) {
      pool++;
    }
  }
  m[s.hdr + L.H_POOL_CHUNKS] = pool;
  s.f64[(s.hdr + L.H_HUGE_ALLOCATED) >>> 1] = hugeBytes;
  settle(s.f64, (s.hdr + L.H_HUGE_NMALLOC) >>> 1, (s.hdr + L.H_HUGE_NFREE) >>> 1, blocks);
}

/** nfree := nmalloc - live (nmalloc raised when it is below live). */
function settle(f64: Float64Array, nmalloc: number, nfree: number, live: number): void {
  if (!(f64[nmalloc] >= live)) f64[nmalloc] = live;
  f64[nfree] = f64[nmalloc] - live;
}

/**
 * Rebuilds arena `a`'s derived state from its chunks' page maps and bitmaps (its lock held, its
 * journal undone). Bounded: a page map that does not tile its chunk is CORRUPTION.
 */
export function rebuildArena(s: Space, a: number): void {
  s.refresh();
  const m = s.i32;
  const aw = arenaWord(s, a);
  const nchunks = s.nchunks;
  const curregs = new Int32Array(NBINS);
  const curruns = new Int32Array(NBINS);
  const bins = new Int32Array(NBINS); // tree roots
  let freeRoot = 0;
  let chunks = 0;
  let active = 0;
  let meta = 0;
  let largePages = 0;
  let largeRuns = 0;
  let emptyChunk = -1;
  const spare = m[aw + L.A_SPARE] - 1;
  let spareOk = false;
  // The table of kept empty runs (arena.ts): its page number is primary state, its lists derived.
  const kept = m[aw + L.A_EMPTY];
  if (kept !== 0 && !isKeptTable(s, a, kept)) throw corruption(`arena ${a}: its table of kept runs, page ${kept}, is no meta run of the arena`);
  const t = keptTable(s, aw);
  if (t !== 0) {
    m.fill(0, t + L.ET_HEAD, t + L.ET_EPOCH);
    m.fill(0, t + L.ET_LOW, t + L.ET_END); // no run is due for want of use until the decay looks again
  }
  for (let c = 0; c < nchunks; c++) {
    const e = chunkEntry(s, c);
    if (chunkKind(e) !== L.CK_ARENA || chunkArg(e) !== a) continue;
    chunks++;
    m[chunkWord(s, c) + L.CHUNK_ZERO_RANGE] = zeroRangeOf(s, c);
    const base = c * L.CHUNK_PAGES;
    const first = firstDataPage(s, c);
    for (let p = first; p < L.CHUNK_PAGES;) {
      const g = base + p;
      const info = pageInfo(s, g);
      const state = info & L.PI_STATE_MASK;
      if ((info & L.PI_HEAD) === 0) throw corruption(`chunk ${c} page ${p}: a run starts here but the page is no run head (info ${info})`);
      let len = infoSize(info);
      if (state === L.PS_SMALL) {
        const bin = infoBin(info);
        if (bin >= NBINS) throw corruption(`chunk ${c} page ${p}: small run of class ${bin}`);
        len = BIN_RUN_PAGES[bin];
        const me = mapIdx(s, g);
        const nfree = bitmapCount(m, auxIdx(s, g), BIN_BITMAP_WORDS[bin]);
        m[me + L.MAP_NFREE] = nfree;
        curregs[bin] += BIN_NREGS[bin] - nfree;
        curruns[bin]++;
        active += len;
        if (nfree === BIN_NREGS[bin] && t !== 0) {
          keptPush(s, t, bin, g);
        } else if (nfree > 0) {
          bins[bin] = treeInsert(s, bins[bin], g);
        }
      } else {
        if (len < 1 || p + len > L.CHUNK_PAGES) throw corruption(`chunk ${c} page ${p}: run of ${len} pages does not fit its chunk`);
        if (state === L.PS_FREE) {
          freeRoot = treeInsert(s, freeRoot, g);
          if (p === first && len === L.CHUNK_PAGES - first && c !== 0) {
            if (c === spare) spareOk = true;
            else if (emptyChunk < 0) emptyChunk = c;
          }
        } else if (state === L.PS_LARGE) {
          active += len;
          largePages += len;
          largeRuns++;
        } else {
          meta += len;
        }
      }
      if (p + len > L.CHUNK_PAGES) throw corruption(`chunk ${c} page ${p}: run overruns its chunk`);
      p += len;
    }
  }
  m[aw + L.A_RUNS] = freeRoot;
  m[aw + L.A_NCHUNKS] = chunks;
  m[aw + L.A_ACTIVE_PAGES] = active;
  m[aw + L.A_META_PAGES] = meta;
  m[aw + L.A_SPARE] = spareOk ? spare + 1 : emptyChunk + 1;
  const f64 = s.f64;
  let small = 0;
  let smallRegs = 0;
  for (let b = 0; b < NBINS; b++) {
    const bw = binWord(s, a, b);
    m[bw + L.B_RUNCUR] = 0; // the next take starts from the lowest non-full run
    m[bw + L.B_RUNS] = bins[b];
    m[bw + L.B_CURRUNS] = curruns[b];
    m[bw + L.B_CURREGS] = curregs[b];
    settle(f64, (bw + L.B_NMALLOC) >>> 1, (bw + L.B_NFREE) >>> 1, curregs[b]);
    small += curregs[b] * BIN_SIZE[b];
    smallRegs += curregs[b];
  }
  f64[(aw + L.A_SMALL_ALLOCATED) >>> 1] = small;
  settle(f64, (aw + L.A_SMALL_NMALLOC) >>> 1, (aw + L.A_SMALL_NFREE) >>> 1, smallRegs);
  f64[(aw + L.A_LARGE_ALLOCATED) >>> 1] = largePages * L.PAGE_SIZE;
  settle(f64, (aw + L.A_LARGE_NMALLOC) >>> 1, (aw + L.A_LARGE_NFREE) >>> 1, largeRuns);
}

/** Word index of slot `k`'s journal, or 0 (none, or out of this thread's views). */
function slotJournal(s: Space, k: number): number {
  const b = s.i32[s.sl + k * L.SLOT_WORDS + L.S_BLOCK] >>> 0;
  return b !== 0 && b + L.J_WORDS * 4 <= s.bytes ? b >>> 2 : 0;
}

/**
 * Repairs every lock that thread slot `k` (gone) holds: steps 1-4 above. The caller holds no lock
 * (or holds none that `k` could hold: `k` is dead, so its locks are free to take over). `alsoOf`
 * is the slot whose reclaim `k` was running (0-based, or -1): its journals may be open too.
 */
export function repairLocks(s: Space, k: number, alsoOf: number): void {
  const m = s.i32;
  s.refresh();
  const dead = k + 1;
  const narenas = m[s.hdr + L.H_NARENAS];
  // The profile lock: its tables are written so that a cut leaves them readable (profile.ts).
  if (lockSteal(m, s.hdr + L.H_PROF_LOCK, dead, s.owner)) lockRelease(m, s.hdr + L.H_PROF_LOCK);
  const g = lockSteal(m, s.hdr + L.H_LOCK, dead, s.owner);
  let arena = -1;
  for (let a = 0; a < narenas && arena < 0; a++) if (lockSteal(m, arenaWord(s, a) + L.A_LOCK, dead, s.owner)) arena = a;
  if (!g && arena < 0) return;
  repairHeld(s, g, arena, [slotJournal(s, k), alsoOf >= 0 ? slotJournal(s, alsoOf) : 0]);
}

/**
 * After an exception inside a section of this thread: the same repair of the locks it holds itself,
 * so that the caller gets the error and the heap is as it was before the call, no lock held. An
 * error found by the repair itself is dropped: the caller's error is the one to report.
 */
export function abortSections(s: Space): void {
  if (s.dead) return; // a crash point fired: this thread is "gone", its repair is reclaim()'s
  s.emptied.length = 0;
  if (s.profHeld) {
    s.profHeld = false; // (the profile's tables: see repairLocks)
    lockRelease(s.i32, s.hdr + L.H_PROF_LOCK);
  }
  const arena = s.heldArena;
  const g = s.gDepth > 0;
  s.gDepth = 0;
  s.heldArena = -1;
  if (!g && arena < 0) return;
  try {
    s.refresh();
    repairHeld(s, g, arena, [s.jw]);
  } catch (e) {
    if (s.dead) throw e; // "died" at a crash point inside the repair: the locks stay held for reclaim()
  }
}

/**
 * Steps 2-4 for the global lock (`g`) and arena lock `arena` (-1: none) this thread holds now:
 * undoes the global journal and those of `journals` open for that arena, rebuilds, releases.
 */
function repairHeld(s: Space, g: boolean, arena: number, journals: number[]): void {
  const m = s.i32;
  try {
    if (g) journalRollback(s, s.gj);
    if (arena >= 0) {
      for (const j of journals) {
        if (j !== 0 && journalIsOpen(m, j) && m[j + L.J_ARENA] === arena) journalRollback(s, j);
      }
    }
    if (g) repairGlobal(s);
    if (arena >= 0) rebuildArena(s, arena);
  } catch (e) {
    // A repair that found corruption still frees the locks (every later call gets an error or
    // works, never a hang); one whose thread "died" at a crash point leaves them to the next repair.
    if (!s.dead) release(s, g, arena);
    throw e;
  }
  release(s, g, arena);
}

function release(s: Space, g: boolean, arena: number): void {
  if (g) lockRelease(s.i32, s.hdr + L.H_LOCK);
  if (arena >= 0) lockRelease(s.i32, arenaWord(s, arena) + L.A_LOCK);
}
