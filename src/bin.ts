// bin: the small runs of one size class in one arena.
//
//   bin record                          runs of the class (each one in the arena's chunks)
//   +---------+                         +-----------------+
//   | runcur  |-----------------------> | run, being used |  allocations come from here
//   | runs    |--> tree, by address --> | non-full run    |  lowest address first
//   | stats   |                         | ...             |
//   +---------+                         +-----------------+   full runs: in no structure;
//                                                             found again through the page map
//   arena's table of kept runs
//   +-----------+
//   | head[bin] |--> empty run --> empty run --> 0           linked through their first map
//   | count[bin]|                                           entries (MAP_LEFT), last emptied first
//   +-----------+
//
// A run has no header inside its pages: its class and page index are in each page's info, its
// free-region count in its first page's map entry (L.MAP_NFREE), its region bitmap in its first
// page's aux slot. A run that becomes empty is kept for the class (arena.ts: kept empty runs), or
// goes back to the arena at once when the heap keeps none; a run that was full and gets a region
// back joins the tree (or becomes runcur, when it lies below runcur: jemalloc's policy of filling
// the lowest addresses first, which keeps the heap packed). A bin that needs a run takes the lowest
// non-full one, then a kept one, and only then a new one from the arena.
//
// Only free regions hold anything of the allocator's: a mark in their first word (layout.ts),
// written for every region when a run is carved and again at every free. Handing regions out,
// binTake checks it: a free region without it was written after its free, and is not handed out.
//
// Arena lock held for everything here.

import { arenaWord, binWord, infoSize, keptHead, keptMakeTable, keptPop, keptPush, keptTable, pageInfo, runAlloc, runFree } from "./arena.js";
import { bitCount, bitmapFill, bitmapGet, lowestBit } from "./bitmap.js";
import { corruption } from "./errors.js";
import { jsave, jset } from "./journal.js";
import { L } from "./layout.js";
import { BIN_BITMAP_WORDS, BIN_NREGS, BIN_RUN_PAGES, BIN_SIZE } from "./sizeclass.js";
import { auxIdx, mapIdx, pageAddr, Space } from "./space.js";
import { treeFirst, treeInsert, treeRemove } from "./tree.js";

export function runNfree(s: Space, run: number): number {
  return s.i32[mapIdx(s, run) + L.MAP_NFREE];
}

/** Whether the word at `p` holds a free mark of region `p`: fresh or freed, stale or not (layout.ts). */
export function hasFreeMark(m: Int32Array, p: number): boolean {
  return ((m[p >>> 2] ^ p) | L.MARK_BITS) === L.FRESH_MARK;
}

/** Free regions that binTake found written over since the last throwIfTakenCorrupt(). */
let takeCorrupt = 0;

/** Whether binTake found written-over regions since the last throwIfTakenCorrupt(). */
export function takenCorrupt(): boolean {
  return takeCorrupt !== 0;
}

/**
 * After binTake, with the lock released: throws CORRUPTION when binTake found free regions whose
 * mark was gone (written after they were freed). It left them allocated (leaked) instead of
 * handing them out twice; the regions it did hand out are good.
 */
export function throwIfTakenCorrupt(bin: number): void {
  if (takeCorrupt === 0) return;
  const n = takeCorrupt;
  takeCorrupt = 0;
  throw corruption(`${n} free region(s) of class ${BIN_SIZE[bin]} lost their free mark: written after free` +
    ` (use after free, or a double free that was handed out again); left allocated, not handed out`);
}

/**
 * Takes up to `n` regions of class `bin` from arena `a`, lowest addresses first, and writes their
 * addresses to words dst + n - 1, dst + n - 2, ... (descending: a cache stack filled so hands out
 * its lowest address first, with no pass to reverse it). Returns how many it took, `got`: fewer
 * than `n` only when the heap cannot grow; they are then in words [dst + n - got, dst + n).
 */
export function binTake(s: Space, a: number, bin: number, dst: number, n: number): number {
  let m = s.i32;
  const bw = binWord(s, a, bin);
  const size = BIN_SIZE[bin];
  const nwords = BIN_BITMAP_WORDS[bin];
  const nregs = BIN_NREGS[bin];
  const top = dst + n - 1;
  let got = 0;
  let bad = 0;
  while (got < n) {
    let run = m[bw + L.B_RUNCUR];
    if (run === 0 || runNfree(s, run) === 0) {
      run = nextRun(s, a, bin);
      if (run === 0) break;
      m = s.i32; // a new run may sit in a new chunk: the views may have been remade
      if (newRun) {
        got += carveTake(s, run, bin, top - got, n - got);
        continue;
      }
    }
    const me = mapIdx(s, run);
    const bm = auxIdx(s, run);
    const base = pageAddr(s, run);
    let nfree = m[me + L.MAP_NFREE];
    if (!(nfree > 0 && nfree <= nregs)) throw corruption(`class ${size} run at ${base}: free count ${nfree}`);
    const had = nfree;
    for (let w = 0; w < nwords && got < n && nfree > 0; w++) {
      let x = m[bm + w];
      if (x === 0) continue;
      while (x !== 0 && got < n) {
        const bit = (w << 5) + lowestBit(x);
        if (bit >= nregs) throw corruption(`class ${size} run at ${base}: bitmap bit ${bit} past its regions`);
        const p = base + bit * size;
        // Free regions carry a mark (layout.ts); one without it was written after it was freed.
        // It is not handed out: it stays allocated (leaked) and the caller reports it.
        if (hasFreeMark(m, p)) m[top - got++] = p;
        else bad++;
        x &= x - 1;
        nfree--;
      }
      jset(s, bm + w, x); // the bitmap is primary state (journal.ts)
    }
    // A pass that took nothing from a run that says it has free regions would loop for ever.
    if (nfree === had) throw corruption(`class ${size} run at ${base}: free count ${nfree}, its bitmap is empty`);
    m[me + L.MAP_NFREE] = nfree;
  }
  // Written-over regions left allocated count as allocated: what the bitmap says.
  takeCorrupt += bad;
  const taken = got + bad;
  if (taken > 0) {
    const aw = arenaWord(s, a);
    m[bw + L.B_CURREGS] += taken;
    s.f64[(bw + L.B_NMALLOC) >>> 1] += taken;
    s.f64[(aw + L.A_SMALL_NMALLOC) >>> 1] += taken;
    s.f64[(aw + L.A_SMALL_ALLOCATED) >>> 1] += taken * size;
  }
  return got;
}

/** Whether the run nextRun returned last is new: allocated, not yet carved (carveTake). */
let newRun = false;

/**
 * Makes the lowest non-full run (else a kept empty one, else a new one) the bin's runcur. Returns
 * it, or 0. A new run (newRun set) is not carved yet: the caller carves it and takes from it in one
 * pass. The bin's first new run makes the arena's table of kept runs, if it has none.
 */
function nextRun(s: Space, a: number, bin: number): number {
  const m = s.i32;
  const bw = binWord(s, a, bin);
  let run = treeFirst(s, m[bw + L.B_RUNS]);
  newRun = false;
  if (run !== 0) {
    m[bw + L.B_RUNS] = treeRemove(s, m[bw + L.B_RUNS], run);
  } else {
    const t = keptTable(s, arenaWord(s, a));
    run = t === 0 ? 0 : keptHead(s, t, bin);
    if (run !== 0) {
      // A kept empty run (arena.ts): binTake scans it as any other, reading back every mark.
      keptPop(s, t, bin, run);
    } else {
      if (t === 0) keptMakeTable(s, a);
      run = runAlloc(s, a, BIN_RUN_PAGES[bin], L.PS_SMALL, bin);
      if (run === 0) return 0;
      s.i32[bw + L.B_CURRUNS]++;
      newRun = true;
    }
  }
  s.i32[bw + L.B_RUNCUR] = run;
  return run;
}

/**
 * Sets up the new run at `run` for class `bin` and takes its lowest `want` regions (at most all)
 * at once: every region gets its free mark (layout.ts), those taken are written to words
 * `at`, `at - 1`, ... as binTake writes them, and the bitmap and free count say the rest are free.
 * One pass over the regions, no bit scan and no mark read back: a bulk fill's runs are mostly new
 * ones. Plain writes: the run was allocated in this section, which undoes it whole if cut short.
 * Returns how many it took.
 */
function carveTake(s: Space, run: number, bin: number, at: number, want: number): number {
  const m = s.i32; // read after runAlloc, which may have remade the views
  const size = BIN_SIZE[bin];
  const nregs = BIN_NREGS[bin];
  const take = want < nregs ? want : nregs;
  let p = pageAddr(s, run);
  for (let i = 0; i < take; i++, p += size) {
    m[p >>> 2] = L.FRESH_MARK ^ p;
    m[at - i] = p;
  }
  for (let i = take; i < nregs; i++, p += size) m[p >>> 2] = L.FRESH_MARK ^ p;
  bitmapFill(m, auxIdx(s, run), nregs, take);
  m[mapIdx(s, run) + L.MAP_NFREE] = nregs - take;
  return take;
}

/**
 * Returns region `idx` of the run at `run` (class `bin`) to the bin. False, changing nothing, when
 * the region is already free (a double free that got past the thread cache's checks).
 */
export function binGive(s: Space, a: number, bin: number, run: number, idx: number): boolean {
  const m = s.i32;
  const bm = auxIdx(s, run);
  if (bitmapGet(m, bm, idx)) return false;
  jset(s, bm + (idx >>> 5), m[bm + (idx >>> 5)] | (1 << (idx & 31)));
  runGained(s, a, bin, run, 1);
  return true;
}

/**
 * Returns to the bin the regions of the run at `run` (class `bin`) whose bits are set in the
 * `BIN_BITMAP_WORDS[bin]` words of `mask` from `at`, and clears those mask words. One journal
 * entry for the run's bitmap and one update of its counts and of its place in the bin, however
 * many regions come back (a cache flush groups its blocks by run: tcache.ts). Returns how many of
 * them were free already (double frees that got past the thread cache's checks): those are dropped.
 */
export function binGiveMany(s: Space, a: number, bin: number, run: number, mask: Int32Array, at: number): number {
  const m = s.i32;
  const bm = auxIdx(s, run);
  const nwords = BIN_BITMAP_WORDS[bin];
  // How many come back, and how many were free already; and the words that change.
  let dup = 0;
  let n = 0;
  let changed = 0;
  for (let w = 0; w < nwords; w++) {
    const x = mask[at + w];
    if (x === 0) continue;
    const old = m[bm + w];
    dup += bitCount(old & x);
    n += bitCount(x & ~old);
    changed++;
  }
  if (n > 0 && m[mapIdx(s, run) + L.MAP_NFREE] + n === BIN_NREGS[bin] && keptTable(s, arenaWord(s, a)) === 0) {
    // The run comes back whole and goes back to the arena (runGained): its bitmap is dead, not
    // written (a bulk flush empties most of its runs so). A run the arena keeps needs its bitmap.
    for (let w = 0; w < nwords; w++) mask[at + w] = 0;
    runGained(s, a, bin, run, n);
    return dup;
  }
  // The bitmap is primary state (journal.ts): saved whole when most of its words change (a run
  // coming back in bulk), else word by word (a few scattered regions: remote frees, random ones).
  const whole = 2 * changed > nwords + 2;
  if (whole) jsave(s, bm, nwords, 1);
  for (let w = 0; w < nwords; w++) {
    const x = mask[at + w];
    if (x === 0) continue;
    mask[at + w] = 0;
    const old = m[bm + w];
    if (whole) m[bm + w] = old | x;
    else jset(s, bm + w, old | x);
  }
  if (n > 0) runGained(s, a, bin, run, n);
  return dup;
}

/**
 * The run at `run` (class `bin`) got `n` regions back (their bitmap bits are set): its free count,
 * the bin's counters, and its place in the bin follow. An empty run goes back to the arena; a run
 * that was full (in no structure) becomes runcur when it lies lower, else joins the tree.
 */
function runGained(s: Space, a: number, bin: number, run: number, n: number): void {
  const m = s.i32;
  const me = mapIdx(s, run);
  const had = m[me + L.MAP_NFREE];
  const nfree = had + n;
  if (!(had >= 0 && nfree <= BIN_NREGS[bin])) throw corruption(`class ${BIN_SIZE[bin]} run at ${pageAddr(s, run)}: free count ${nfree}`);
  m[me + L.MAP_NFREE] = nfree;
  const bw = binWord(s, a, bin);
  const aw = arenaWord(s, a);
  m[bw + L.B_CURREGS] -= n;
  s.f64[(bw + L.B_NFREE) >>> 1] += n;
  s.f64[(aw + L.A_SMALL_NFREE) >>> 1] += n;
  s.f64[(aw + L.A_SMALL_ALLOCATED) >>> 1] -= n * BIN_SIZE[bin];
  const cur = m[bw + L.B_RUNCUR];
  if (nfree === BIN_NREGS[bin]) {
    // Empty: out of runcur or the tree (a run that was full is in no structure), into the arena's
    // list of kept runs of this class, or back to the arena when it keeps none (arena.ts).
    if (cur === run) m[bw + L.B_RUNCUR] = 0;
    else if (had > 0) m[bw + L.B_RUNS] = treeRemove(s, m[bw + L.B_RUNS], run);
    const t = keptTable(s, aw);
    if (t !== 0) {
      keptPush(s, t, bin, run);
    } else {
      m[bw + L.B_CURRUNS]--;
      runFree(s, a, run, BIN_RUN_PAGES[bin]);
    }
  } else if (had === 0 && cur !== run) {
    // Was full, so in no structure: it becomes runcur when it lies lower, else joins the tree.
    if (cur === 0 || run < cur) {
      if (cur !== 0 && runNfree(s, cur) > 0) m[bw + L.B_RUNS] = treeInsert(s, m[bw + L.B_RUNS], cur);
      m[bw + L.B_RUNCUR] = run;
    } else {
      m[bw + L.B_RUNS] = treeInsert(s, m[bw + L.B_RUNS], run);
    }
  }
}

/** First page of the small run holding global page `gpage` (whose info says L.PS_SMALL). */
export function smallRunOf(s: Space, gpage: number): number {
  return gpage - infoSize(pageInfo(s, gpage));
}
