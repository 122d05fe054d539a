// arena: runs of pages. An arena owns chunks and hands out page runs from them: to its bins (small
// runs), to large allocations, and to thread cache blocks. Free page runs of all its chunks sit in
// one tree ordered by (length, address), so an allocation takes the best fit, lowest address first,
// in O(log n); a freed run merges with free neighbours in O(1) using the lengths kept on the first
// and last page of every run.
//
//   ... | large run (3 pages)  | free run (2 pages) | small run, class 48 (3 pages) | ...
//       | L+H,3 | L     | L,3  | F+H,2   | F,2      | S+H,0  | S,1      | S,2        |
//                          page infos: state (+HEAD), size field
//
// Every function here runs under the arena's lock (L.A_LOCK), which guards the arena record, its bins,
// and the page maps and bitmaps of its chunks. Taking a chunk for the arena also takes the global
// lock, always after the arena's (lock order: arena, then global; never two arenas).
//
// A section under a lock writes page infos (and bitmaps, cache stacks) through its undo journal
// (journal.ts), so that one cut short can be rolled back; the trees and counters are derived from
// them and rebuilt after a rollback (repair.ts).
//
// An arena keeps one empty chunk as a spare (still in its tree, ready for the next burst); a second
// chunk that empties goes back to the global pool for any arena or huge allocation to use - at the
// section's commit, never inside it: once in the pool another arena may take it, and a rollback of
// the section must not write into a chunk that is no longer its own.

import { chunkArg, chunkEntry, chunkKind, firstDataPage, growthGate, hugeAddr, hugeChunks, hugeResize, hugeSpan, initArenaChunk, poolGive, poolTake, poolTakeZero, setHuge } from "./chunk.js";
import { corruption } from "./errors.js";
import { crashPoint, gset, jsave, jset, journalClose, journalOpen, journalRoom, testHooks } from "./journal.js";
import { L } from "./layout.js";
import { lockAcquire, lockAcquireWithin, lockOwner, lockRelease } from "./lock.js";
import { BIN_RUN_PAGES, NBINS } from "./sizeclass.js";
import { chunkWord, fillBytes, mapIdx, pageAddr, Space } from "./space.js";
import { freeRunKey, treeInsert, treeKey, treeKeyBelow, treeLowerBound, treeRemove } from "./tree.js";

export const ARENA_WORDS = L.A_BINS + NBINS * L.BIN_WORDS;

/** Word index of arena `a`'s record. */
export function arenaWord(s: Space, a: number): number {
  return s.ar + a * ARENA_WORDS;
}

/** Word index of bin `bin` of arena `a`. */
export function binWord(s: Space, a: number, bin: number): number {
  return s.ar + a * ARENA_WORDS + L.A_BINS + bin * L.BIN_WORDS;
}

// ---- Critical sections ---------------------------------------------------------------------------

/**
 * Takes arena `a`'s lock and opens a section in this thread's journal. A thread without a journal
 * of its own (its thread block is being made or freed: slots.ts) takes the global lock too and
 * journals into the global journal.
 */
export function arenaLock(s: Space, a: number): void {
  lockAcquire(s.i32, arenaWord(s, a) + L.A_LOCK, s.owner, s.canBlock, s.onLockWait);
  s.heldArena = a;
  crashPoint(s); // held, nothing written yet
  s.refresh(); // another thread may have grown the heap: its chunks must be in our views
  if (s.jw === 0) {
    globalLock(s);
    s.jcur = s.gj;
  } else {
    s.jcur = s.jw;
    journalOpen(s.i32, s.jw, a);
  }
}

/**
 * Commits the section, gives chunks it emptied back to the pool, and releases the lock. Before the
 * lock goes, the arena's kept empty runs go back, in sections of their own, when they are due
 * (keptDue): keptLate then says how many pages went back, for a caller that found no room to retry.
 */
export function arenaUnlock(s: Space, a: number): void {
  keptLate = 0;
  if (s.jw !== 0) {
    journalClose(s.i32, s.jw);
    giveEmptied(s, a);
    if (keptDue(s, a)) keptLate = keptDrain(s, a);
    else keptDecay(s, a);
  } else {
    releaseEmptied(s, a); // under the global lock, whose journal holds the whole section
    globalUnlock(s);
  }
  crashPoint(s); // committed, still held
  s.heldArena = -1;
  lockRelease(s.i32, arenaWord(s, a) + L.A_LOCK);
}

/**
 * Gives the chunks this section emptied to the pool, in a new section with an empty journal: the
 * releases change only derived state here (the chunk table is the global lock's), so a rollback has
 * nothing to undo, only to rebuild.
 */
function giveEmptied(s: Space, a: number): void {
  if (s.emptied.length === 0) return;
  journalOpen(s.i32, s.jw, a);
  releaseEmptied(s, a);
  journalClose(s.i32, s.jw);
}

/** Takes the global lock (again, when this thread holds it already) and opens its journal. */
export function globalLock(s: Space): void {
  if (s.gDepth !== 0) {
    s.gDepth++;
    return;
  }
  // Counted only once held: a wait that throws (LOCK_TIMEOUT) must not make abortSections undo
  // the journal of whoever does hold it.
  lockAcquire(s.i32, s.hdr + L.H_LOCK, s.owner, s.canBlock, s.onLockWait);
  s.gDepth = 1;
  crashPoint(s);
  journalOpen(s.i32, s.gj, -1);
}

export function globalUnlock(s: Space): void {
  if (--s.gDepth !== 0) return;
  journalClose(s.i32, s.gj);
  crashPoint(s);
  lockRelease(s.i32, s.hdr + L.H_LOCK);
}

/** The lock words in the lock order: the profile lock, the arenas by index, the global lock. */
export function allLocks(s: Space): number[] {
  const locks = [s.hdr + L.H_PROF_LOCK];
  for (let a = 0, n = s.i32[s.hdr + L.H_NARENAS]; a < n; a++) locks.push(arenaWord(s, a) + L.A_LOCK);
  locks.push(s.hdr + L.H_LOCK);
  return locks;
}

/**
 * Takes every lock in the lock order, each within `ms` milliseconds (check(), snapshots and heap
 * maps must not hang on a lock whose holder died): returns the words taken, for unlockAll. A lock
 * that stays held is CORRUPTION, naming its holder; nothing stays taken then.
 */
export function lockAll(s: Space, ms: number, who: string): number[] {
  const m = s.i32;
  const taken: number[] = [];
  try {
    for (const at of allLocks(s)) {
      if (!lockAcquireWithin(m, at, s.owner, s.canBlock, ms)) {
        throw corruption(`${who}: the lock at byte ${at * 4} stayed held by slot ${lockOwner(m[at]) - 1} for ${ms} ms`);
      }
      taken.push(at);
    }
  } catch (e) {
    unlockAll(s, taken);
    throw e;
  }
  return taken;
}

export function unlockAll(s: Space, taken: number[]): void {
  for (let i = taken.length - 1; i >= 0; i--) lockRelease(s.i32, taken[i]);
}

export function pageInfo(s: Space, gpage: number): number {
  return s.i32[mapIdx(s, gpage) + L.MAP_INFO];
}

/** Page infos are primary state: every write goes through the section's journal. */
function setPageInfo(s: Space, gpage: number, info: number): void {
  jset(s, mapIdx(s, gpage) + L.MAP_INFO, info);
}

/** The same, through the global lock's journal (a chunk that is not yet an arena's: insetToSpare). */
function gsetPageInfo(s: Space, gpage: number, info: number): void {
  gset(s, mapIdx(s, gpage) + L.MAP_INFO, info);
}

export function infoSize(info: number): number {
  return (info >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK;
}

/** The size class in a small page's info. */
export function infoBin(info: number): number {
  return (info >>> L.PI_BIN_SHIFT) & L.PI_BIN_MASK;
}

// ---- Allocating runs ----------------------------------------------------------------------------

/** Whether every page of the last run allocated was known to be zero. */
export let runZero = false;

/**
 * Allocates a run of `npages` pages and marks it `state` (L.PS_LARGE, L.PS_META, or L.PS_SMALL of class
 * `bin`). Returns its first global page, or 0 when the heap cannot grow.
 */
export function runAlloc(s: Space, a: number, npages: number, state: number, bin: number): number {
  const aw = arenaWord(s, a);
  let run = treeLowerBound(s, s.i32[aw + L.A_RUNS], freeRunKey(npages, 0));
  if (run === 0 && keptTable(s, aw) !== 0) {
    // No fit: kept empty runs go back (merged with their free neighbours) before a new chunk. A
    // small run needs one kept run as long, from the class that keeps most; a large run needs all
    // of them back before any is used, or a run cut from the first few would leave them in pieces.
    // (A thread carving its own thread block journals into the small global journal, and its unlock
    // gives nothing back: it takes a new chunk instead.)
    if (state === L.PS_LARGE || !keptReleaseOne(s, a, npages)) {
      if (!keptReleaseAll(s, a) && s.jw !== 0) return 0;
    }
    run = treeLowerBound(s, s.i32[aw + L.A_RUNS], freeRunKey(npages, 0));
  }
  if (run === 0) {
    if (arenaAddChunk(s, a) < 0) return 0;
    run = treeLowerBound(s, s.i32[aw + L.A_RUNS], freeRunKey(npages, 0));
  }
  const head = pageInfo(s, run);
  const have = infoSize(head);
  if ((head & (L.PI_STATE_MASK | L.PI_HEAD)) !== (L.PS_FREE | L.PI_HEAD) || have < npages ||
      (run & (L.CHUNK_PAGES - 1)) + have > L.CHUNK_PAGES) {
    throw corruption(`arena ${a}: the free-run tree names page ${run}, which heads no free run of ${npages}+ pages (info ${head})`);
  }
  return takeRun(s, aw, run, have, head, npages, state, bin);
}

/**
 * Takes `npages` pages of the free run at `run` (`have` pages, first page info `head`) for a run
 * of `state`: marks and counts it, and leaves the rest a free run. Returns the new run's first page.
 */
function takeRun(s: Space, aw: number, run: number, have: number, head: number, npages: number, state: number, bin: number): number {
  let got = run;
  // Small runs and the table of kept runs (one meta page) come off the end: they never grow, and
  // the start stays free for large runs, which grow into the pages after them.
  const fromEnd = state === L.PS_SMALL || (state === L.PS_META && npages === L.ET_PAGES);
  if (fromEnd && have > npages &&
      treeKeyBelow(s, s.i32[aw + L.A_RUNS], freeRunKey(have, run)) < freeRunKey(have - npages, run)) {
    // A small run comes off the free run's end: the free run keeps its first page, so its node
    // stays where it is in the tree (its shorter key still sorts after every smaller one), and
    // only its length changes: no tree removal and insertion (a bulk fill takes run after run
    // from one free run).
    got = run + have - npages;
    setFreeRun(s, run, have - npages, head & L.PI_ZERO);
  } else {
    s.i32[aw + L.A_RUNS] = treeRemove(s, s.i32[aw + L.A_RUNS], freeRunKey(have, run));
    if (have > npages) freeRunInsert(s, aw, run + npages, have - npages, L.PI_ZERO & pageInfo(s, run + npages));
  }
  markRun(s, got, npages, state, bin);
  s.i32[aw + (state === L.PS_META ? L.A_META_PAGES : L.A_ACTIVE_PAGES)] += npages;
  return got;
}

/**
 * Writes the page infos of a newly allocated run, noting in runZero whether it was all zero.
 *
 * A large run's pages between its first and last are not written: nothing reads them (a large
 * run is found from its first page, and its neighbours from its first and last), so they keep
 * what they said as part of a free run, PS_FREE, and a large malloc+free writes O(1) infos, not
 * O(pages) (measured: 300 KiB malloc+free 0.59-0.82x the time in A/B runs). Only a page between
 * that was a run's first or last one (a run grown over its neighbour, a split) is rewritten, and
 * one that says ZERO loses it (the run will be written to). Nor are they read when none of them
 * lies in the chunk's ZERO range (L.CHUNK_ZERO_RANGE: outside it no page says ZERO, and in a chunk
 * that is not fresh it is empty): the inside of a free run is clean PS_FREE (check.ts), so only the
 * two pages at `from` can have been a run's first or last (runGrow: the old last page and the next
 * run's first). Small runs write every page (free() finds the run's first page from any of them),
 * and so do meta runs. Either way no page of the run says ZERO afterwards, and the range shrinks
 * when the run covers one of its ends.
 */
function markRun(s: Space, run: number, npages: number, state: number, bin: number, from = 0): void {
  const m = s.i32;
  const at = mapIdx(s, run) + L.MAP_INFO;
  // The chunk's ZERO range [lo, hi), and the run's pages [r0, r1) in its chunk.
  const zw = chunkWord(s, run >>> L.CHUNK_PAGE_SHIFT) + L.CHUNK_ZERO_RANGE;
  const zr = m[zw];
  let lo = zr & L.ZERO_LO_MASK;
  let hi = zr >>> L.ZERO_HI_SHIFT;
  const r0 = run & (L.CHUNK_PAGES - 1);
  const r1 = r0 + npages;
  let zero = L.PI_ZERO;
  if (state === L.PS_LARGE) {
    // A run grown in place or split (runGrow, runSplit) passes `from`: the pages before it are
    // already the inside of this run. Outside the ZERO range, the walk stops after two pages
    // (measured: 300 KiB malloc+free, which read all 75, 899-905 -> 667-678 ns in A/B runs).
    const end = (r0 + from >= hi || r1 <= lo) && from + 2 < npages ? from + 2 : npages;
    if (end < npages) zero = 0;
    for (let i = from; i < end; i++) {
      const w = at + i * L.MAP_ENTRY_WORDS;
      const old = m[w];
      zero &= old;
      // The first and last page are written below; inside, PS_FREE (the inside of a free run) stays.
      if (i === 0 || i === npages - 1 || old === L.PS_FREE) continue;
      if ((old & L.PI_HEAD) !== 0 || ((old >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK) !== 0) jset(s, w, L.PS_FREE); // was primary
      else m[w] = old & ~L.PI_ZERO; // a ZERO bit lost in a rollback only costs a memset
    }
    const sized = npages << L.PI_SIZE_SHIFT;
    if (npages > 1) jset(s, at + (npages - 1) * L.MAP_ENTRY_WORDS, L.PS_LARGE | sized);
    jset(s, at, L.PS_LARGE | L.PI_HEAD | sized);
  } else {
    saveInfos(s, run, npages); // then plain writes: the journal holds them all (journal.ts)
    if (state === L.PS_SMALL) {
      const base = L.PS_SMALL | (bin << L.PI_BIN_SHIFT);
      for (let i = 0; i < npages; i++) {
        zero &= m[at + i * L.MAP_ENTRY_WORDS];
        m[at + i * L.MAP_ENTRY_WORDS] = base | (i << L.PI_SIZE_SHIFT);
      }
      m[at] = base | L.PI_HEAD;
    } else {
      for (let i = 0; i < npages; i++) {
        zero &= m[at + i * L.MAP_ENTRY_WORDS];
        m[at + i * L.MAP_ENTRY_WORDS] = state;
      }
      m[at] = state | L.PI_HEAD | (npages << L.PI_SIZE_SHIFT);
      m[at + (npages - 1) * L.MAP_ENTRY_WORDS] |= npages << L.PI_SIZE_SHIFT;
    }
  }
  // No page of the run says ZERO now: the range loses an end that the run covers. Derived state,
  // like the trees: a rollback rebuilds it (repair.ts: rebuildArena).
  if (lo < hi) {
    if (r0 <= lo && lo < r1) lo = r1;
    if (r0 < hi && hi <= r1) hi = r0;
    m[zw] = lo < hi ? lo | (hi << L.ZERO_HI_SHIFT) : 0;
  }
  runZero = zero !== 0;
}

/** Journals the page infos of pages [run, run + npages) (one chunk) before a loop writes them. */
function saveInfos(s: Space, run: number, npages: number): void {
  jsave(s, mapIdx(s, run) + L.MAP_INFO, npages, L.MAP_ENTRY_WORDS);
}

/** Records a free run (infos of its first and last page) and inserts it into the arena's tree. */
function freeRunInsert(s: Space, aw: number, run: number, npages: number, zeroHead: number): void {
  setFreeRun(s, run, npages, zeroHead);
  s.i32[aw + L.A_RUNS] = treeInsert(s, s.i32[aw + L.A_RUNS], run);
}

/**
 * Writes the infos of the free run of `npages` pages at `run`: its first page (with `zeroHead`)
 * and its last carry the length. Interior pages already say L.PS_FREE with their own ZERO bits.
 */
function setFreeRun(s: Space, run: number, npages: number, zeroHead: number): void {
  const last = run + npages - 1;
  setPageInfo(s, last, (pageInfo(s, last) & L.PI_ZERO) | L.PS_FREE | (npages << L.PI_SIZE_SHIFT));
  setPageInfo(s, run, zeroHead | L.PS_FREE | L.PI_HEAD | (npages << L.PI_SIZE_SHIFT));
}

/**
 * Gives the arena a chunk from the pool (or the buffer's growth): returns it, or -1 when the heap
 * cannot grow. Arena lock held.
 */
function arenaAddChunk(s: Space, a: number): number {
  globalLock(s);
  const c = poolTake(s, 1);
  const zero = poolTakeZero;
  if (c >= 0) initArenaChunk(s, c, a, zero);
  globalUnlock(s);
  if (c < 0) return -1;
  const aw = arenaWord(s, a);
  crashPoint(s);
  s.i32[aw + L.A_NCHUNKS]++;
  const first = firstDataPage(s, c);
  s.i32[aw + L.A_RUNS] = treeInsert(s, s.i32[aw + L.A_RUNS], c * L.CHUNK_PAGES + first);
  return c;
}

/**
 * Allocates a large run of `npages` pages at the first data page of an empty chunk: the arena's
 * spare, else a new one - only while the arena has less than two chunks' worth of free pages, so
 * that runs placed so, each leaving the rest of a chunk free, add at most that much free space
 * (with more free, the caller grows the run where it is). Such a run can grow in place to the
 * whole chunk and then become huge without moving (runToHuge). Returns its first global page, or
 * 0 when there is no such chunk.
 */
export function runAllocChunkStart(s: Space, a: number, npages: number): number {
  const aw = arenaWord(s, a);
  let c = s.i32[aw + L.A_SPARE] - 1;
  if (c <= 0 || !chunkEmpty(s, c)) {
    // Kept empty runs count as free pages: runAlloc gives them back when it finds no fit.
    const free = s.i32[aw + L.A_NCHUNKS] * L.DATA_PAGES - s.i32[aw + L.A_ACTIVE_PAGES] - s.i32[aw + L.A_META_PAGES] + keptPages(s, aw);
    c = free < 2 * L.DATA_PAGES ? arenaAddChunk(s, a) : -1;
  }
  if (c < 0) return 0;
  const run = c * L.CHUNK_PAGES + L.CHUNK_HEADER_PAGES;
  return takeRun(s, aw, run, L.DATA_PAGES, pageInfo(s, run), npages, L.PS_LARGE, 0);
}

// ---- Kept empty runs -------------------------------------------------------------------------------
//
// A small run that empties stays with its class instead of going back to the arena (bin.ts):
// a program that frees a million blocks and makes a million more would otherwise give back and
// carve again some 25,000 runs, each costing page infos, neighbour merges and free-run tree walks
// (jemalloc's dirty extents wait in a cache for the same reason). The arena's table of kept runs is
// a one-page meta run made at a bin's first new run (L.A_EMPTY, layout in layout.ts): a list per
// class, linked through the runs' first map entries. Kept runs stay small runs of their class
// (active pages), their regions free in their bitmaps, every one with its free mark.
//
// They go back to the arena's free runs (keptRelease):
//   - when it has no fit for a request (runAlloc): one as long for a small run, all for a large one
//     (those the section's journal has no room for at its unlock, and the caller tries again);
//   - when the heap has grown since the arena last looked: another arena, or a huge block, needed
//     new chunks (keptDue, at the unlock of a section that changed something);
//   - when a call finds no room at all, in every arena, and the call is tried again (keptRetry):
//     also when a growth of the buffer was refused because arenas keep as many pages (growthGate);
//   - when they have not been needed for a while (keptDecay: HeapOptions.keptDecayMs): the runs
//     of a class that its list never ran below since the arena last looked, that long ago;
//   - on heap.trim(), with the table's page (keptGiveBackAll).

/** Journal words that giving back one kept run may take, at most (runFree of up to 14 pages). */
const KEPT_RELEASE_WORDS = 64;
/**
 * Journal words a section that gives kept runs back for want of pages leaves free for the rest of
 * its work: a large run's page infos (at most 253 words), a fill's few new runs and bitmaps.
 */
const KEPT_RESERVE = 1024;

/** Word index of the table of kept runs of the arena whose record is at `aw`, or 0: none yet. */
export function keptTable(s: Space, aw: number): number {
  const t = s.i32[aw + L.A_EMPTY];
  return t === 0 ? 0 : pageAddr(s, t) >>> 2;
}

/**
 * Makes arena `a`'s table of kept runs, unless the heap keeps none (keepEmptyRuns: false) or has
 * no page for it. Fresh pages: plain writes; the table's page number goes through the journal, so
 * that a rollback, which gives the page back, forgets it too.
 */
export function keptMakeTable(s: Space, a: number): void {
  if ((s.i32[s.hdr + L.H_FLAGS] & L.HF_NO_KEEP) !== 0) return;
  const run = runAlloc(s, a, L.ET_PAGES, L.PS_META, 0);
  if (run === 0) return;
  const m = s.i32;
  const t = pageAddr(s, run) >>> 2;
  m.fill(0, t, t + (L.ET_PAGES * L.PAGE_SIZE) / 4);
  m[t + L.ET_EPOCH] = m[s.hdr + L.H_TRIM_EPOCH];
  s.f64[(t + L.ET_STAMP) >>> 1] = Date.now();
  jset(s, arenaWord(s, a) + L.A_EMPTY, run);
}

/** Pages in the kept runs of the arena whose record is at `aw`. */
export function keptPages(s: Space, aw: number): number {
  const t = keptTable(s, aw);
  let pages = 0;
  if (t !== 0) for (let b = 0; b < NBINS; b++) pages += s.i32[t + L.ET_COUNT + b] * BIN_RUN_PAGES[b];
  return pages;
}

/** Whether global page `run` heads a meta run of ET_PAGES pages in a chunk of arena `a` (a table of kept runs). */
export function isKeptTable(s: Space, a: number, run: number): boolean {
  if (!(run > 0 && run < s.nchunks * L.CHUNK_PAGES)) return false;
  const c = run >>> L.CHUNK_PAGE_SHIFT;
  const e = chunkEntry(s, c);
  if (chunkKind(e) !== L.CK_ARENA || chunkArg(e) !== a || (run & (L.CHUNK_PAGES - 1)) < firstDataPage(s, c)) return false;
  const info = pageInfo(s, run);
  return (info & (L.PI_STATE_MASK | L.PI_HEAD)) === (L.PS_META | L.PI_HEAD) && infoSize(info) === L.ET_PAGES;
}

/** The kept run at the head of class `bin`'s list in table `t`, checked: CORRUPTION if it is no empty run of the class. */
export function keptHead(s: Space, t: number, bin: number): number {
  const run = s.i32[t + L.ET_HEAD + bin];
  if (run === 0) return 0;
  const info = run > 0 && run < s.nchunks * L.CHUNK_PAGES ? s.i32[mapIdx(s, run) + L.MAP_INFO] : -1;
  if ((info & (L.PI_STATE_MASK | L.PI_HEAD)) !== (L.PS_SMALL | L.PI_HEAD) || infoBin(info) !== bin) {
    throw corruption(`the list of kept empty runs of class ${bin} names page ${run}, which heads no run of that class (info ${info})`);
  }
  return run;
}

/** Puts the empty run `run` (class `bin`) at the head of its list in table `t`. Derived state: plain writes. */
export function keptPush(s: Space, t: number, bin: number, run: number): void {
  const m = s.i32;
  m[mapIdx(s, run) + L.MAP_LEFT] = m[t + L.ET_HEAD + bin];
  m[t + L.ET_HEAD + bin] = run;
  m[t + L.ET_COUNT + bin]++;
}

/** Takes `run`, the head of class `bin`'s list in table `t` (keptHead), off the list; keeps its low-water mark. */
export function keptPop(s: Space, t: number, bin: number, run: number): void {
  const m = s.i32;
  m[t + L.ET_HEAD + bin] = m[mapIdx(s, run) + L.MAP_LEFT];
  const n = --m[t + L.ET_COUNT + bin];
  if (n < m[t + L.ET_LOW + bin]) m[t + L.ET_LOW + bin] = n;
}

/** Whether the last keptRelease gave back every kept run (else the section's journal ran short). */
let keptAllReleased = true;
/** A section ran out of pages while the arena kept runs it could not give back: all go at its unlock. */
let keptShort = false;
/** Pages of kept runs the last arenaUnlock gave back (keptDrain): a caller that got no room tries again. */
export let keptLate = 0;

/**
 * Gives the kept runs of arena `a` back to its free runs, as many as the section's journal has room
 * for while keeping `reserve` words of it for the rest of the section (each run's page infos are
 * journaled: a few dozen words); with `due`, only the runs each class has due (ET_DUE: keptDecay).
 * Returns how many pages went back; keptAllReleased says if all of them did.
 */
export function keptRelease(s: Space, a: number, reserve: number, due = false): number {
  keptAllReleased = true;
  const t = keptTable(s, arenaWord(s, a));
  if (t === 0) return 0;
  const m = s.i32;
  let pages = 0;
  for (let b = 0; b < NBINS; b++) {
    if (m[t + L.ET_COUNT + b] === 0 && m[t + L.ET_HEAD + b] === 0) continue;
    for (let run = keptHead(s, t, b); run !== 0 && (!due || m[t + L.ET_DUE + b] > 0); run = keptHead(s, t, b)) {
      if (journalRoom(s) < reserve + KEPT_RELEASE_WORDS) {
        keptAllReleased = false;
        return pages;
      }
      keptFree(s, a, t, b, run);
      if (due) m[t + L.ET_DUE + b]--;
      pages += BIN_RUN_PAGES[b];
    }
  }
  return pages;
}

/**
 * In a section that needs a small run (or a meta run) of `npages` pages: gives back one kept run
 * of at least as many pages, of the class that keeps the most of them. False when there is none.
 */
function keptReleaseOne(s: Space, a: number, npages: number): boolean {
  const t = keptTable(s, arenaWord(s, a));
  let best = -1;
  for (let b = 0; b < NBINS; b++) {
    if (BIN_RUN_PAGES[b] >= npages && s.i32[t + L.ET_COUNT + b] > (best < 0 ? 0 : s.i32[t + L.ET_COUNT + best])) best = b;
  }
  if (best < 0) return false;
  const run = keptHead(s, t, best);
  if (run === 0) throw corruption(`arena ${a}: its list of kept runs of class ${best} counts ${s.i32[t + L.ET_COUNT + best]} runs, holds none`);
  keptFree(s, a, t, best, run);
  return true;
}

/** Takes `run`, the head of class `bin`'s list in table `t`, off the list and gives it back to arena `a`. */
function keptFree(s: Space, a: number, t: number, bin: number, run: number): void {
  keptPop(s, t, bin, run);
  s.i32[binWord(s, a, bin) + L.B_CURRUNS]--;
  runFree(s, a, run, BIN_RUN_PAGES[bin]);
}

/**
 * In a section that needs pages: gives every kept run of arena `a` back, or, when the section's
 * journal has no room for all of them (KEPT_RESERVE words stay for the rest of the section), none
 * more: false then, and the caller finds no room; the unlock gives them all back in sections of
 * their own (keptShort) and the caller tries again (keptRetry).
 */
function keptReleaseAll(s: Space, a: number): boolean {
  keptRelease(s, a, KEPT_RESERVE);
  if (!keptAllReleased && s.jw !== 0) keptShort = true;
  return keptAllReleased;
}

/**
 * At an unlock (section committed): whether all of arena `a`'s kept runs must go back now, because
 * a section ran short of pages while it kept some (keptShort), or the heap has grown since the
 * arena last looked (another arena or a huge block needed chunks its kept pages might have spared).
 */
function keptDue(s: Space, a: number): boolean {
  const short = keptShort;
  keptShort = false;
  const t = keptTable(s, arenaWord(s, a));
  if (t === 0) return false;
  const epoch = s.i32[s.hdr + L.H_TRIM_EPOCH];
  // A section that changed nothing (stats(), a profile read) leaves the kept runs as they are.
  if (!short && (s.i32[t + L.ET_EPOCH] === epoch || s.i32[s.jw + L.J_COUNT] === 0)) return false;
  s.i32[t + L.ET_EPOCH] = epoch;
  return true;
}

/**
 * Gives every kept run of arena `a` back (with `due`, those keptDecay made due), in as many
 * sections as their journal entries need. Lock held, no section open.
 */
function keptDrain(s: Space, a: number, due = false): number {
  let pages = 0;
  do {
    journalOpen(s.i32, s.jw, a);
    pages += keptRelease(s, a, 0, due);
    journalClose(s.i32, s.jw);
    giveEmptied(s, a);
  } while (!keptAllReleased);
  return pages;
}

/** Default of HeapOptions.keptDecayMs: jemalloc's dirty_decay_ms. */
export const KEPT_DECAY_DEFAULT_MS = 10_000;
/**
 * Unlocks of this thread between two looks at the clock: Date.now() takes ~50 ns here,
 * which at every unlock would add a third to a 300 KiB malloc+free pair (two sections, ~350 ns).
 */
const DECAY_EVERY = 64;
let decayTick = 0;

/**
 * At the unlock of a section that changed something (lock held, no section open): when arena
 * `a` last looked at least H_KEPT_DECAY ms ago, the runs each class kept all that time without
 * needing them (the lowest its list went since: ET_LOW, as jemalloc's tcache GC counts a bin's
 * unused blocks by its low-water mark) go back, in sections of their own, and the marks start
 * again from the lists as they are. An arena that keeps working thus keeps what it uses and gives
 * back, within two decay times, what it stopped using; one nobody calls keeps its runs (no thread
 * runs in the background) until the heap needs pages or trim() is called.
 */
function keptDecay(s: Space, a: number): void {
  const forced = testHooks.keptDecayNow;
  if (!forced && (++decayTick & (DECAY_EVERY - 1)) !== 0) return;
  const m = s.i32;
  const t = keptTable(s, arenaWord(s, a));
  if (t === 0 || m[s.jw + L.J_COUNT] === 0) return;
  testHooks.keptDecayNow = false;
  const now = Date.now();
  const stamp = (t + L.ET_STAMP) >>> 1;
  const last = s.f64[stamp];
  const decay = m[s.hdr + L.H_KEPT_DECAY] > 0 ? m[s.hdr + L.H_KEPT_DECAY] : KEPT_DECAY_DEFAULT_MS;
  if (!forced && now - last < decay && now >= last) return; // (a clock set back starts a new period)
  s.f64[stamp] = now;
  let due = 0;
  for (let b = 0; b < NBINS; b++) {
    const n = Math.max(0, Math.min(m[t + L.ET_LOW + b], m[t + L.ET_COUNT + b]));
    m[t + L.ET_DUE + b] = n;
    due += n;
  }
  if (due > 0) keptDrain(s, a, true);
  for (let b = 0; b < NBINS; b++) {
    m[t + L.ET_DUE + b] = 0;
    m[t + L.ET_LOW + b] = m[t + L.ET_COUNT + b];
  }
}

/** A growth was refused while arenas kept runs (growthGate): keptRetry gives them back, then the call again. */
let growthRefused = false;
/** The next growth goes ahead whatever arenas keep: keptRetry has just given their runs back. */
let growAnyway = false;

growthGate.mayGrow = (s: Space, chunks: number): boolean => {
  if (growAnyway) {
    growAnyway = false;
    return true;
  }
  // As many pages kept as the growth would add (fewer cannot make as many free: whole chunks are
  // what a huge block or another arena takes). Read without the other arenas' locks: a hint, a
  // wrong one costs a retry, not a failure.
  let kept = 0;
  for (let a = 0, n = s.i32[s.hdr + L.H_NARENAS]; a < n; a++) kept += keptPages(s, arenaWord(s, a));
  if (kept < chunks * L.DATA_PAGES) return true;
  growthRefused = true;
  return false;
};

/**
 * For a caller that just found no room (no lock held): whether kept runs went back since, so that
 * trying again may succeed. Those the last unlock gave back count (keptLate); else every arena's
 * go back here, one arena at a time (their chunks that empty go to the pool, for any arena or a
 * huge block), in sections under the global journal for a thread that has none of its own yet.
 * After a growth refused for them (growthGate), the next try may grow.
 */
export function keptRetry(s: Space): boolean {
  if (keptLate > 0) {
    keptLate = 0; // counted once: a caller that fails again does not try for ever
    return true;
  }
  const refused = growthRefused;
  growthRefused = false;
  if (refused) growAnyway = true;
  return keptGiveBackAll(s, false) > 0 || refused;
}

/**
 * Gives every arena's kept runs back (no lock held): one arena at a time, each in as many sections
 * as its journal entries need; with `tables` (heap.trim()), each table's page too, once its lists
 * are empty (the next new run of a bin makes it again). Returns the pages given back.
 */
export function keptGiveBackAll(s: Space, tables: boolean): number {
  let pages = 0;
  for (let a = 0, n = s.i32[s.hdr + L.H_NARENAS]; a < n; a++) {
    const aw = arenaWord(s, a);
    if (keptTable(s, aw) === 0) continue;
    let all = false;
    while (!all) {
      arenaLock(s, a);
      pages += keptRelease(s, a, 0);
      all = keptAllReleased;
      const table = s.i32[aw + L.A_EMPTY];
      if (all && tables && table !== 0) {
        jset(s, aw + L.A_EMPTY, 0);
        runFree(s, a, table, L.ET_PAGES);
        pages += L.ET_PAGES;
      }
      arenaUnlock(s, a);
    }
  }
  return pages;
}

// ---- Freeing runs ---------------------------------------------------------------------------------

/** Returns the run of `npages` pages at `run` to the arena, merging it with free neighbours. */
export function runFree(s: Space, a: number, run: number, npages: number): void {
  const aw = arenaWord(s, a);
  const state = pageInfo(s, run) & L.PI_STATE_MASK;
  s.i32[aw + (state === L.PS_META ? L.A_META_PAGES : L.A_ACTIVE_PAGES)] -= npages;
  const at = mapIdx(s, run) + L.MAP_INFO;
  if (state === L.PS_LARGE) {
    // Its pages between say PS_FREE already (markRun): only the first and last change.
    if (npages > 1) jset(s, at + (npages - 1) * L.MAP_ENTRY_WORDS, L.PS_FREE);
    jset(s, at, L.PS_FREE);
  } else {
    saveInfos(s, run, npages);
    for (let i = 0; i < npages; i++) s.i32[at + i * L.MAP_ENTRY_WORDS] = L.PS_FREE;
  }
  const c = run >>> L.CHUNK_PAGE_SHIFT;
  const chunkFirst = c * L.CHUNK_PAGES + firstDataPage(s, c);
  const chunkEnd = (c + 1) * L.CHUNK_PAGES;
  let start = run;
  let end = run + npages;
  // The page before is the last page of a free run when it is free: it holds that run's length.
  // That run's node may stay in the tree, as the merged run's (same first page, longer): below.
  let beforeKey = -1;
  if (start > chunkFirst) {
    const before = pageInfo(s, start - 1);
    if ((before & L.PI_STATE_MASK) === L.PS_FREE) {
      const len = infoSize(before);
      if (len < 1 || start - len < chunkFirst) throw corruption(`page ${start - 1}: free run of ${len} pages before page ${start} overruns its chunk`);
      start -= len;
      beforeKey = freeRunKey(len, start);
      // Its last page is no longer one; when that is its first page too, the key stays as it is
      // until the tree is done with it (its first page's info is written below either way).
      if (len > 1) setPageInfo(s, run - 1, before & (L.PI_ZERO | L.PI_STATE_MASK));
    }
  }
  if (end < chunkEnd) {
    const after = pageInfo(s, end);
    if ((after & L.PI_STATE_MASK) === L.PS_FREE) {
      const len = infoSize(after);
      if (len < 1 || end + len > chunkEnd) throw corruption(`page ${end}: free run of ${len} pages overruns its chunk`);
      s.i32[aw + L.A_RUNS] = treeRemove(s, s.i32[aw + L.A_RUNS], freeRunKey(len, end));
      setPageInfo(s, end, after & (L.PI_ZERO | L.PI_STATE_MASK));
      setPageInfo(s, end + len - 1, pageInfo(s, end + len - 1) & (L.PI_ZERO | L.PI_STATE_MASK));
      end += len;
    }
  }
  const above = beforeKey < 0 ? 0 : treeLowerBound(s, s.i32[aw + L.A_RUNS], beforeKey + 1); // its successor
  if (beforeKey >= 0 && (above === 0 || treeKey(s, above) > freeRunKey(end - start, start))) {
    // The run before grows in place: its node keeps its place in the tree (its longer key still
    // sorts before every larger one), only its length changes (runAlloc's split, reversed).
    setFreeRun(s, start, end - start, pageInfo(s, start) & L.PI_ZERO);
  } else {
    if (beforeKey >= 0) s.i32[aw + L.A_RUNS] = treeRemove(s, s.i32[aw + L.A_RUNS], beforeKey);
    freeRunInsert(s, aw, start, end - start, pageInfo(s, start) & L.PI_ZERO);
  }
  if (start === chunkFirst && end === chunkEnd && c !== 0) keepOrRelease(s, a, c);
}

/**
 * Chunk `c` of arena `a` has become empty. Keeps it as the spare when there is none (or the spare
 * has been used since), else notes it for the pool: arenaUnlock gives it back after the commit.
 */
function keepOrRelease(s: Space, a: number, c: number): void {
  const aw = arenaWord(s, a);
  const spare = s.i32[aw + L.A_SPARE] - 1;
  if (spare < 0 || spare === c || !chunkEmpty(s, spare)) s.i32[aw + L.A_SPARE] = c + 1;
  else if (s.emptied.indexOf(c) < 0) s.emptied.push(c);
}

/** Returns the chunks noted by keepOrRelease to the pool, those still empty. Section open. */
function releaseEmptied(s: Space, a: number): void {
  const aw = arenaWord(s, a);
  while (s.emptied.length > 0) {
    const c = s.emptied.pop() as number;
    if (!chunkEmpty(s, c) || s.i32[aw + L.A_SPARE] - 1 === c) continue;
    const first = c * L.CHUNK_PAGES + firstDataPage(s, c);
    s.i32[aw + L.A_RUNS] = treeRemove(s, s.i32[aw + L.A_RUNS], freeRunKey(L.CHUNK_PAGES - firstDataPage(s, c), first));
    globalLock(s);
    poolGive(s, c, 1);
    globalUnlock(s);
    crashPoint(s);
    s.i32[aw + L.A_NCHUNKS]--;
  }
}

/** Whether arena chunk `c` is one free run from its first data page to its end. */
function chunkEmpty(s: Space, c: number): boolean {
  const first = firstDataPage(s, c);
  const info = pageInfo(s, c * L.CHUNK_PAGES + first);
  return (info & L.PI_STATE_MASK) === L.PS_FREE && (info & L.PI_HEAD) !== 0 &&
    infoSize(info) === L.CHUNK_PAGES - first;
}

// ---- Large runs --------------------------------------------------------------------------------------

/** Frees the large run of `npages` pages at `run` (arena lock held), with its counters. */
export function largeFree(s: Space, a: number, run: number, npages: number): void {
  runFree(s, a, run, npages);
  const aw = arenaWord(s, a);
  s.f64[(aw + L.A_LARGE_NFREE) >>> 1]++;
  s.f64[(aw + L.A_LARGE_ALLOCATED) >>> 1] -= npages * L.PAGE_SIZE;
}

// ---- Resizing large runs in place ------------------------------------------------------------------

/**
 * Splits the large run at `run` (`have` pages) into two large runs, of `at` and `have - at` pages.
 * Only the pages around the cut and the two first pages change: the rest is the inside of a large
 * run before and after (measured: a run grown from 32 to 256 KiB and shrunk back, 1.22-1.70 ->
 * 1.00-1.22 us the pair).
 */
function runSplit(s: Space, run: number, have: number, at: number): void {
  markRun(s, run, at, L.PS_LARGE, 0, at - 1);
  markRun(s, run + at, have - at, L.PS_LARGE, 0, have - at - 1);
}

/**
 * Page-info bits of a large run's first page that resizing it in place keeps: a heap profile's
 * marks of a sampled block (profile.ts), which its free must still find.
 */
const RUN_MARKS = L.PI_SAMPLED | (L.PI_SCLASS_MASK << L.PI_SCLASS_SHIFT);

/** Sets `marks` (RUN_MARKS bits) again on the first page of `run`, after markRun saved and rewrote it. */
function keepMarks(s: Space, run: number, marks: number): void {
  if (marks !== 0) s.i32[mapIdx(s, run) + L.MAP_INFO] |= marks;
}

/** Shrinks the large run at `run` from `have` to `keep` pages; the tail goes back to the arena. */
export function runShrink(s: Space, a: number, run: number, have: number, keep: number): void {
  const marks = pageInfo(s, run) & RUN_MARKS;
  runSplit(s, run, have, keep);
  keepMarks(s, run, marks);
  runFree(s, a, run + keep, have - keep);
}

/** Gives back the first `lead` pages of the large run at `run` (`have` pages long). */
export function runTrimHead(s: Space, a: number, run: number, have: number, lead: number): void {
  runSplit(s, run, have, lead);
  runFree(s, a, run, lead);
}

/**
 * Grows the large run at `run` from `have` to `want` pages into the free run right after it,
 * keeping its marks (RUN_MARKS). False, changing nothing, when that run is missing or too short.
 */
export function runGrow(s: Space, a: number, run: number, have: number, want: number): boolean {
  const next = run + have;
  if ((next & (L.CHUNK_PAGES - 1)) === 0) return false; // the run ends its chunk
  const info = pageInfo(s, next);
  const len = infoSize(info);
  const need = want - have;
  if ((info & L.PI_STATE_MASK) !== L.PS_FREE || (info & L.PI_HEAD) === 0 || len < need) return false;
  const aw = arenaWord(s, a);
  s.i32[aw + L.A_RUNS] = treeRemove(s, s.i32[aw + L.A_RUNS], freeRunKey(len, next));
  if (len > need) freeRunInsert(s, aw, next + need, len - need, L.PI_ZERO & pageInfo(s, next + need));
  const marks = pageInfo(s, run) & RUN_MARKS;
  markRun(s, run, want, L.PS_LARGE, 0, have - 1);
  keepMarks(s, run, marks);
  s.i32[aw + L.A_ACTIVE_PAGES] += need;
  return true;
}

// ---- A large run made huge -------------------------------------------------------------------------

/**
 * Makes the large run at `run` (`have` pages) a huge block of `npages` pages without moving it
 * (realloc past the largest large run). It must start at its chunk's first data page and have the
 * chunk to itself (the rest of it one free run); then the chunk leaves the arena and, with the
 * unused chunks right after it (taken from the pool, or from the buffer's growth), becomes an inset
 * huge block (chunk.ts: CK_INSET) that starts where the run does. Arena lock held. False, changing
 * nothing, when the run or the chunks after it do not allow it.
 *
 *   chunk c (arena a)                              chunk c (huge, inset)   c+1 ...
 *   | header | large run, have | free run, rest |  ->  | (unused) | block, npages ...........  |
 *
 * Crash safety: the arena's side (its tree, counters) is derived state and is written first, while
 * the chunk is still the arena's; the chunk entries, written last under the global lock, are what
 * makes it so. Cut short before the global section commits, the arena is rebuilt with the chunk
 * still in it (repair.ts); after, without it.
 */
export function runToHuge(s: Space, a: number, run: number, have: number, npages: number): boolean {
  const c = run >>> L.CHUNK_PAGE_SHIFT;
  const page = run & (L.CHUNK_PAGES - 1);
  const rest = L.CHUNK_PAGES - page - have;
  if (c === 0 || page !== firstDataPage(s, c) || npages <= have) return false;
  const head = pageInfo(s, run);
  if ((head & (L.PI_STATE_MASK | L.PI_HEAD | RUN_MARKS)) !== (L.PS_LARGE | L.PI_HEAD) || infoSize(head) !== have) return false;
  if (rest > 0) {
    const next = pageInfo(s, run + have); // the rest of the chunk must be one free run
    if ((next & (L.PI_STATE_MASK | L.PI_HEAD)) !== (L.PS_FREE | L.PI_HEAD) || infoSize(next) !== rest) return false;
  }
  const span = hugeChunks(page + npages);
  globalLock(s);
  if (!hugeResize(s, c, 1, span)) {
    globalUnlock(s);
    return false;
  }
  const aw = arenaWord(s, a);
  if (rest > 0) s.i32[aw + L.A_RUNS] = treeRemove(s, s.i32[aw + L.A_RUNS], freeRunKey(rest, run + have));
  s.i32[aw + L.A_NCHUNKS]--;
  s.i32[aw + L.A_ACTIVE_PAGES] -= have;
  if (s.i32[aw + L.A_SPARE] - 1 === c) s.i32[aw + L.A_SPARE] = 0;
  s.f64[(aw + L.A_LARGE_NFREE) >>> 1]++;
  s.f64[(aw + L.A_LARGE_ALLOCATED) >>> 1] -= have * L.PAGE_SIZE;
  crashPoint(s); // the arena's derived state without the chunk, its entry still the arena's
  setHuge(s, c, span, npages, L.CK_INSET);
  s.f64[(s.hdr + L.H_HUGE_NMALLOC) >>> 1]++;
  s.f64[(s.hdr + L.H_HUGE_ALLOCATED) >>> 1] += npages * L.PAGE_SIZE;
  globalUnlock(s);
  return true;
}

/**
 * The reverse of runToHuge, at free: the inset huge block at `ptr` (first chunk `c`) is freed, and
 * chunk `c` becomes arena `a`'s spare instead of going to the pool with the rest of the block.
 * Its page map is still there under its unused header pages, as runToHuge left it (a large run
 * at the first data page, the rest one free run), so making it one free run again writes a few
 * page infos, not the whole map (initArenaChunk): realloc by doubling then takes it back at its
 * small-to-large step (runAllocChunkStart) without the pool. Arena lock held; takes the global
 * lock. Returns the block's pages, or 0, changing nothing, when the block is not an inset huge
 * block at `ptr` (the caller's free goes the usual way, which tells a double free), its map is
 * not as runToHuge left it, or the arena has an empty spare already. `junk` (debug): the block's
 * bytes are junk-filled once it is known to be freed here, before another thread can take it.
 *
 *   chunk c (huge, inset)          c+1 ...         chunk c (arena a, its spare)   c+1 ... (pool)
 *   | (map) | block .............................  ->  | header | free run, 251 pages |
 *
 * Crash safety: the page infos and the chunk entries are written under the global lock, through
 * its journal: cut short, the block is whole again; committed, the arena's derived state (tree,
 * counts, spare) follows, rebuilt if this is cut short (repair.ts).
 */
export function insetToSpare(s: Space, a: number, ptr: number, junk: boolean): number {
  const aw = arenaWord(s, a);
  const spare = s.i32[aw + L.A_SPARE] - 1;
  if (spare > 0 && chunkEmpty(s, spare)) return 0;
  globalLock(s);
  const c = (ptr - s.hb) >>> L.CHUNK_SHIFT;
  const e = c > 0 && c < s.nchunks ? chunkEntry(s, c) : 0;
  const npages = chunkArg(e);
  if ((e & (L.CK_MASK | L.CK_INSET)) !== (L.CK_HUGE | L.CK_INSET) || hugeAddr(s, c, e) !== ptr || !insetMapIntact(s, c)) {
    globalUnlock(s);
    return 0;
  }
  if (junk) fillBytes(s, ptr, npages * L.PAGE_SIZE, L.JUNK_FREE);
  const span = hugeSpan(e);
  const first = firstDataPage(s, c);
  const base = c * L.CHUNK_PAGES;
  const have = infoSize(pageInfo(s, base + first));
  // The run's last page and the free rest's first are inside the free run now; pages the block
  // wrote over lose ZERO (they lie in the chunk's ZERO range, journaled too: a rollback must find
  // them again).
  if (have > 1 && first + have - 1 < L.CHUNK_PAGES - 1) gsetPageInfo(s, base + first + have - 1, L.PS_FREE);
  if (first + have < L.CHUNK_PAGES - 1) gsetPageInfo(s, base + first + have, L.PS_FREE);
  const zw = chunkWord(s, c) + L.CHUNK_ZERO_RANGE;
  const zr = s.i32[zw];
  for (let p = Math.max(zr & L.ZERO_LO_MASK, first), hi = Math.min(zr >>> L.ZERO_HI_SHIFT, L.CHUNK_PAGES); p < hi; p++) {
    const v = pageInfo(s, base + p);
    if ((v & L.PI_ZERO) !== 0) gsetPageInfo(s, base + p, v & ~L.PI_ZERO);
  }
  if (zr !== 0) gset(s, zw, 0);
  const free = L.CHUNK_PAGES - first;
  gsetPageInfo(s, base + L.CHUNK_PAGES - 1, L.PS_FREE | (free << L.PI_SIZE_SHIFT));
  gsetPageInfo(s, base + first, L.PS_FREE | L.PI_HEAD | (free << L.PI_SIZE_SHIFT));
  crashPoint(s); // the map says arena chunk, its entry still says huge: a rollback undoes the map
  gset(s, s.ct + c, L.CK_ARENA | (a << L.CK_ARG_SHIFT));
  if (span > 1) poolGive(s, c + 1, span - 1);
  s.f64[(s.hdr + L.H_HUGE_NFREE) >>> 1]++;
  s.f64[(s.hdr + L.H_HUGE_ALLOCATED) >>> 1] -= npages * L.PAGE_SIZE;
  globalUnlock(s);
  crashPoint(s); // the chunk is the arena's; its derived state is not yet: rebuilt (repair.ts)
  s.i32[aw + L.A_NCHUNKS]++;
  s.i32[aw + L.A_RUNS] = treeInsert(s, s.i32[aw + L.A_RUNS], base + first);
  s.i32[aw + L.A_SPARE] = c + 1;
  return npages;
}

/** Whether the map of inset huge chunk `c` is as runToHuge left it: header, a large run, the free rest. */
function insetMapIntact(s: Space, c: number): boolean {
  const first = firstDataPage(s, c);
  const base = c * L.CHUNK_PAGES;
  const hdr = pageInfo(s, base);
  if ((hdr & (L.PI_STATE_MASK | L.PI_HEAD)) !== (L.PS_META | L.PI_HEAD) || infoSize(hdr) !== first) return false;
  const head = pageInfo(s, base + first);
  const have = infoSize(head);
  if ((head & (L.PI_STATE_MASK | L.PI_HEAD)) !== (L.PS_LARGE | L.PI_HEAD) || have < 1 || first + have > L.CHUNK_PAGES) return false;
  const rest = L.CHUNK_PAGES - first - have;
  if (rest === 0) return true;
  const next = pageInfo(s, base + first + have);
  return (next & (L.PI_STATE_MASK | L.PI_HEAD)) === (L.PS_FREE | L.PI_HEAD) && infoSize(next) === rest;
}
