// tcache: a thread's cache of free small regions, one stack per size class - and of free large runs
// of 4 to 16 pages, one stack per length.
//
// The cache lives in the shared buffer (a META page run of the thread's arena, named by its thread
// slot), so that reclaim() can empty the cache of a thread that died without detach(). Only its
// own thread touches it while that thread lives, with plain reads and writes: a cache hit costs no
// lock and no atomic operation.
//
//   cache block (words)
//   +--------------------------------------+----------+-------+-----------------------------------+
//   | record of bin 0 | bin 1 | ... bin 49 | fill[50] | large | 0 | stack of bin 0 | 0 | stack .. |
//   +--------------------------------------+----------+-------+-----------------------------------+
//     record: head | limit | dry | -        (L.TCR_*: 4 words, four bins to a cache line)
//     bins 0..35: the small classes; 36..48: large runs of 4..16 pages; 49: remote frees
//     (L.TC_NBINS in all)
//
//   one stack:   | 0 | oldest | ... | top | (free slots) |
//                  ^ base       ^ stack    ^ head         ^ limit (the last slot)
//
//   head   word index of the top block; when the stack is empty it points at the 0 word below
//          the stack (its base), so malloc tells an empty stack by the block it pops being 0,
//          with no count to read: two loads for a hit, the record's head and the block
//   limit  word index of the stack's last slot: a free finds the stack full when head is there
//          (a constant kept in the record: check() verifies it, the fast paths trust it)
//   dry    1 when the stack ran dry (a fill) since the last GC visit of this bin
//   fill   lg of the fill divisor: a miss takes TC_CAP >> fill regions from the bin
//   large  bytes of the large runs in the cache (at most L.TC_LARGE_TOTAL: cacheTakesLarge)
//
// Blocks in a stack = head - base. The record lives in the buffer view that the fast paths hold
// already (measured: a record of count, capacity and stack address instead of three tables of the
// Heap object, 9.2 -> 8.7 ns per 32-byte malloc+free; the head and the 0 word instead of a count,
// 7.05 -> 6.35 ns in a plain loop).
//
// A large run stays a large run (its page infos unchanged) while it sits in a cache; a miss for a
// large length is served by the arena as usual, one run at a time.
//
// A small region of another arena that this thread frees goes on the remote stack (L.TC_REMOTE),
// never to be handed out by this thread: when the stack is full, or on a GC visit, all of it goes
// back to the regions' arenas, grouped by arena, one lock per group. Reusing such a region here
// would mix two threads' blocks in one cache line - passive false sharing (Hoard's cache-scratch:
// a thread that frees a block another thread allocated next to its own).

//
// A small miss fills the stack from the thread's arena in one locked pass, lowest addresses on top. A free
// into a full stack flushes the older half back, grouped by owning arena (one lock per group) and
// by run (one bitmap update per run: gatherPass, binGiveMany). Every
// GC_BYTES of slow-path traffic (the fast paths count nothing: a counter there costs 10% of a
// malloc+free pair) an incremental GC visits one bin: what stayed unused since the last visit goes
// back (3/4 of it), and the fill size adapts (jemalloc's tcache GC), so an idle cache does not
// hoard memory. What stayed unused is told by the blocks' marks, not by a low-water mark that every
// malloc would have to keep (see cacheGc).

import { arenaLock, arenaUnlock, infoBin, infoSize, keptRetry, largeFree, pageInfo } from "./arena.js";
import { bitCount } from "./bitmap.js";
import { crashPoint, jsave, jset } from "./journal.js";
import { binGive, binGiveMany, binTake, throwIfTakenCorrupt } from "./bin.js";
import { chunkArg, chunkEntry } from "./chunk.js";
import { L } from "./layout.js";
import { BIN_MAGIC, BIN_NREGS, BIN_RUN_PAGES, BIN_SIZE, NBINS, regionIndex, TWO_POW_M32 } from "./sizeclass.js";
import { binWord } from "./arena.js";
import { addrChunk, addrPage, pageAddr, Space } from "./space.js";

/** The largest stack of a cache bin, in blocks. */
const TC_CAP_MAX = 1024;

/**
 * Stack capacity of each cache bin. For a small class the largest of: twice a run's regions, at
 * most 200 (jemalloc: 20 to 200); 48 blocks or 64 KiB of them, whichever is fewer (a batch of
 * 1,000 sizes log-uniform over 8 B..1 KiB, ~36 blocks of a class, then stays in the cache: 36 ->
 * 24 ns a pair); 16 KiB of blocks, at most 1,024 (the classes up to 80 B: a tree of 2,047 16-byte
 * nodes built and freed over and over, 43 -> 22 ns a node, as its halves stay in the cache); 8.
 * For a large length, L.TC_LARGE_BYTES of runs, at least one (2 runs of 4 pages, 1 run of 5 to
 * 16 pages): a few MiB of idle runs per thread would dwarf small live sets (mstress).
 * A flush pass may journal the whole stack (cacheFlush), so TC_CAP_MAX words must leave room in
 * the journal for the runs of a pass (passRunsFor).
 */
export const TC_CAP = Int32Array.from({ length: L.TC_NBINS }, (_, b) =>
  b < NBINS ? Math.max(8, Math.min(48, Math.floor(65536 / BIN_SIZE[b])), Math.min(2 * BIN_NREGS[b], 200), Math.min(TC_CAP_MAX, Math.floor(16384 / BIN_SIZE[b])))
    : b === L.TC_REMOTE ? L.TC_REMOTE_CAP
      : Math.max(1, Math.floor(L.TC_LARGE_BYTES / largeBinBytes(b))));
export const TC_FILL = L.TC_NBINS * L.TCR_WORDS;
/** Word offset of the bytes of large runs in the cache (cacheTakesLarge's budget). */
export const TC_LARGE = TC_FILL + L.TC_NBINS;
export const TC_STACKS = TC_LARGE + 1;
/** Word index of the record of bin `bin` in the cache block at word `tw` (add L.TCR_*). */
export function tcRec(tw: number, bin: number): number {
  return tw + bin * L.TCR_WORDS;
}
/** Word offset of each bin's stack (its oldest block) inside the block; the 0 word is just below. */
export const TC_STACK = new Int32Array(L.TC_NBINS);
{
  let at = TC_STACKS;
  for (let b = 0; b < L.TC_NBINS; b++) {
    TC_STACK[b] = at + 1;
    at += 1 + TC_CAP[b];
  }
}
const TC_WORDS = TC_STACK[L.TC_NBINS - 1] + TC_CAP[L.TC_NBINS - 1];

/** Blocks in the stack of `bin` in the cache block at word `tw`. */
export function tcCount(m: Int32Array, tw: number, bin: number): number {
  return m[tcRec(tw, bin) + L.TCR_HEAD] - (tw + TC_STACK[bin] - 1);
}

/** Sets the number of blocks in the stack of `bin` (its oldest `n` words hold them). */
export function tcSetCount(m: Int32Array, tw: number, bin: number, n: number): void {
  m[tcRec(tw, bin) + L.TCR_HEAD] = tw + TC_STACK[bin] - 1 + n;
}

/**
 * Whether the cache at `tw` takes a freed large run of `npages` pages: a cached length, and its
 * large runs stay within L.TC_LARGE_TOTAL. Per length alone they could add up to 536 KiB per
 * thread (one run of each length from 5 to 16 pages), more than many threads' live data (mstress:
 * a quarter of the peak active bytes was runs in caches); a cap over all lengths keeps a thread
 * that churns one or two lengths fast and bounds one that frees all of them.
 */
export function cacheTakesLarge(m: Int32Array, tw: number, npages: number): boolean {
  return largeCacheBin(npages) >= 0 && m[tw + TC_LARGE] + npages * L.PAGE_SIZE <= L.TC_LARGE_TOTAL;
}

/** Pages of one run of the large cache bin `bin` (0 for the small and remote bins). */
export function largeBinPages(bin: number): number {
  return bin >= NBINS && bin !== L.TC_REMOTE ? bin - NBINS + L.TC_LARGE_MIN : 0;
}

/** Bytes of one run of the large cache bin `bin` (0 for the small and remote bins). */
export function largeBinBytes(bin: number): number {
  return largeBinPages(bin) * L.PAGE_SIZE;
}

/** The cache bin of a large run of `npages` pages, or -1 when runs that long are not cached. */
export function largeCacheBin(npages: number): number {
  return npages >= L.TC_LARGE_MIN && npages <= L.TC_LARGE_MAX ? L.NBINS + npages - L.TC_LARGE_MIN : -1;
}
/** Pages of one cache block. */
export const TC_PAGES = Math.ceil((TC_WORDS * 4) / L.PAGE_SIZE);
/**
 * GC pacing: one GC step (one bin) per GC_BYTES of slow-path traffic (jemalloc: per 64 KiB
 * allocated). An event counts its bytes, at least GC_EVENT_MIN (so that 8192 events sweep all the
 * small bins, as in jemalloc, however small the blocks) and at most GC_EVENT_MAX (so that a thread
 * churning one big block does not run a step on every call); a large run taken from or put into
 * the cache counts GC_EVENT_MIN (64 KiB malloc+free pairs: 36 ns, 43 ns when counted by bytes).
 */
export const GC_BYTES = 65536;
export const GC_EVENT_MIN = Math.ceil(GC_BYTES / (8192 / NBINS));
export const GC_EVENT_MAX = 16384;
const INITIAL_FILL_SHIFT = 1;
/**
 * Large runs a flush returns under one lock at most: bounds what one section writes to its journal
 * (a run's pages, merged with its neighbours: a dozen journal entries) - L.J_CAP holds 64 such.
 */
const FLUSH_PASS = 64;

/** Sets up an empty cache in the block at word `tw`. */
export function cacheInit(s: Space, tw: number): void {
  const m = s.i32;
  m.fill(0, tw, tw + TC_STACKS);
  for (let b = 0; b < L.TC_NBINS; b++) {
    m[tw + TC_STACK[b] - 1] = 0; // the 0 word that an empty stack's head points at
    tcSetCount(m, tw, b, 0);
    m[tcRec(tw, b) + L.TCR_LIMIT] = tw + TC_STACK[b] + TC_CAP[b] - 1;
  }
  m.fill(INITIAL_FILL_SHIFT, tw + TC_FILL, tw + TC_FILL + L.TC_NBINS);
}

/**
 * Refills the empty stack of `bin` from arena `a`. Returns the number of regions now in it (0 when
 * the heap is out of memory).
 */
export function cacheFill(s: Space, tw: number, a: number, bin: number): number {
  const want = Math.max(1, TC_CAP[bin] >> s.i32[tw + TC_FILL + bin]);
  const stack = tw + TC_STACK[bin];
  arenaLock(s, a);
  // The stack is empty: binTake writes above its head, words nobody reads until the head moves.
  const got = binTake(s, a, bin, stack, want); // descending: the lowest address on top
  const m = s.i32; // read after the fill: it may have grown the heap and remade the views
  if (got < want) m.copyWithin(stack, stack + want - got, stack + want); // the heap is full: rare
  // The regions keep the mark they had in their run (layout.ts): a cached region is a free region.
  // The head moves inside the section, journaled with the bitmap words that gave the regions up:
  // a section cut short gives them back to the bitmap and takes them out of the stack together.
  jset(s, tcRec(tw, bin) + L.TCR_HEAD, tw + TC_STACK[bin] - 1 + got);
  s.f64[(binWord(s, a, bin) + L.B_NFILLS) >>> 1]++;
  arenaUnlock(s, a);
  crashPoint(s);
  m[tcRec(tw, bin) + L.TCR_DRY] = 1; // ran dry since the last GC visit
  throwIfTakenCorrupt(bin);
  // No room, but the arena kept empty runs of other classes that have gone back since: again.
  if (got === 0 && keptRetry(s)) return cacheFill(s, tw, a, bin);
  return got;
}

/**
 * Returns the oldest regions of `bin`'s stack to their arenas, keeping the newest `keep`. Regions
 * of one arena go back under one lock, grouped by run: each run's bitmap is saved and written once
 * and its counts and place in the bin updated once, however many of its regions come back
 * (jemalloc's tcache flush groups by slab likewise). Returns how many regions turned out to be
 * free already (double frees that got past the checks on free); they are dropped, the heap stays
 * consistent.
 */
export function cacheFlush(s: Space, tw: number, bin: number, keep: number): number {
  let m = s.i32;
  const stack = tw + TC_STACK[bin];
  const n = tcCount(m, tw, bin);
  let end = n - keep; // the stack: [end blocks to flush | keep newer blocks]
  if (end <= 0) return 0;
  const large = largeBinBytes(bin);
  let bad = 0;
  while (end > 0) {
    // One pass: under the lock of the first block's arena, its blocks go back (those of PASS_RUNS
    // runs, or FLUSH_PASS large runs, at most) and the rest moves down. Every pass leaves the
    // stack as it leaves the bitmaps - its writes are journaled together - so a pass cut short is
    // undone whole (journal.ts).
    const a = regionArena(s, m[stack] >>> 0);
    arenaLock(s, a);
    m = s.i32; // locking refreshes the views
    let kept = 0;
    let given = 0;
    if (large !== 0) {
      jsave(s, stack, end + keep, 1); // the stack as it is: the pass rewrites it plainly
      for (let i = 0; i < end; i++) {
        const p = m[stack + i];
        if (given < FLUSH_PASS && regionArena(s, p >>> 0) === a) {
          if (!giveRegion(s, a, bin, p >>> 0)) bad++;
          given++;
        } else {
          m[stack + kept++] = p;
        }
      }
      jset(s, tw + TC_LARGE, m[tw + TC_LARGE] - given * large);
    } else {
      kept = gatherPass(s, m, stack, end, bin, passRunsFor(end + keep));
      // The words the pass rewrites, as they are (most passes keep no block: only `keep` words),
      // then the blocks left for a later pass go to the bottom.
      jsave(s, stack, kept + keep, 1);
      for (let i = 0; i < kept; i++) m[stack + i] = passKept[i];
      bad += passBad;
      // The regions gathered, run by run (the pass's journal holds them: see PASS_RUNS).
      for (let k = 0; k < passRuns; k++) bad += binGiveMany(s, a, passBin[k], passRun[k], passMask, k * L.AUX_SLOT_WORDS);
      passRuns = 0; // binGiveMany cleared every mask word it read
      if (bin < NBINS) s.f64[(binWord(s, a, bin) + L.B_NFLUSHES) >>> 1]++;
    }
    m.copyWithin(stack + kept, stack + end, stack + end + keep);
    jset(s, tcRec(tw, bin) + L.TCR_HEAD, tw + TC_STACK[bin] - 1 + kept + keep);
    arenaUnlock(s, a);
    m = s.i32;
    end = kept;
  }
  if (bad > 0) Atomics.add(m, s.hdr + L.H_DOUBLE_FREES, bad);
  return bad;
}

// A flush pass gathers its small regions by run before it gives them back: the run of each (its
// first page and class) and a mask of the regions, laid out as the run's bitmap.
/**
 * Runs one flush pass gathers at most (passRunsFor: fewer when the stack is long). A full remote
 * stack (64 blocks) goes back in one pass.
 */
const PASS_RUNS = 64;
/**
 * Journal words one run of a pass writes at most: its bitmap (16 words and an entry's 2), its
 * count and place in the bin, and its page infos and its neighbours' when it empties (~32).
 */
const RUN_JOURNAL_WORDS = 56;
/** Journal words of a pass besides its stack and its runs: the stack head, the flush count. */
const PASS_OTHER_WORDS = 16;
/**
 * Runs a pass may gather when it journals a stack of `stackWords`: all of its journal entries fit
 * in the thread's journal (2 * L.J_CAP words): 64 runs with stacks up to 456 blocks, 54 with a
 * full stack of TC_CAP_MAX.
 */
function passRunsFor(stackWords: number): number {
  const room = 2 * L.J_CAP - (stackWords + 2) - PASS_OTHER_WORDS;
  return Math.max(1, Math.min(PASS_RUNS, Math.floor(room / RUN_JOURNAL_WORDS)));
}
const passRun = new Int32Array(PASS_RUNS);
/** The blocks gatherPass leaves for a later pass, in stack order. */
const passKept = new Int32Array(Math.max(...TC_CAP));
const passBin = new Int32Array(PASS_RUNS);
const passMask = new Int32Array(PASS_RUNS * L.AUX_SLOT_WORDS);
/** Hash table from a run to its entry + 1 (0: none), four times the entries, open addressing. */
const PASS_HASH_BITS = 8;
const PASS_HASH = 1 << PASS_HASH_BITS;
const passSlot = new Int32Array(PASS_HASH);
/** The hash table word of each run of the pass (gatherPass clears those before it returns). */
const passRunSlot = new Int32Array(PASS_RUNS);
/**
 * Runs gathered by the last gatherPass(), whose masks may hold bits until cacheFlush has given them
 * back (it sets it to 0 then; an exception on the way leaves it, and the next pass clears them).
 */
let passRuns = 0;
/** Blocks the last gatherPass() dropped as bad. */
let passBad = 0;

/**
 * Gathers into the pass (passRun, passBin, passMask) the small regions among the `end` oldest
 * blocks of the stack at word `stack` (cache bin `bin`: a class, or the remote stack) that belong
 * to the arena of the first one, as long as their runs number at most `maxRuns`. The others go to
 * passKept, in order (the stack is not written); returns how many. Blocks that are not regions of their class in use
 * (their page is no longer a small run of that class, or the pass has them already: double frees)
 * are dropped and counted in passBad.
 *
 * It reads each block's chunk entry and page info straight from the chunk table and the page map,
 * as free's fast path does, and keeps its state in locals (measured: a call per lookup, and the
 * state in module variables, cost 2x here).
 */
function gatherPass(s: Space, m: Int32Array, stack: number, end: number, bin: number, maxRuns: number): number {
  const runs = passRun;
  const mask = passMask;
  const slots = passSlot;
  if (passRuns !== 0) mask.fill(0, 0, passRuns * L.AUX_SLOT_WORDS);
  const hb = s.hb;
  const ct = s.ct;
  const hw = s.hw;
  const entry = m[ct + ((((m[stack] >>> 0) - hb) >>> 0) >>> L.CHUNK_SHIFT)];
  let kept = 0;
  let bad = 0;
  let nruns = 0;
  let cw = -1; // the mask word being gathered (-1: none yet)
  let acc = 0; // and its bits so far
  let i = 0;
  while (i < end) {
    // Block i is not in the run of the block before: look its page up.
    const p = m[stack + i];
    const off = ((p >>> 0) - hb) >>> 0;
    const c = off >>> L.CHUNK_SHIFT;
    if (m[ct + c] !== entry) {
      passKept[kept++] = p; // another arena's: a later pass
      i++;
      continue;
    }
    const gpage = off >>> L.PAGE_SHIFT;
    const info = m[hw + c * L.CHUNK_WORDS + (gpage & (L.CHUNK_PAGES - 1)) * L.MAP_ENTRY_WORDS + L.MAP_INFO];
    const rb = (info >>> L.PI_BIN_SHIFT) & L.PI_BIN_MASK;
    if ((info & L.PI_STATE_MASK) !== L.PS_SMALL || (bin !== L.TC_REMOTE && rb !== bin)) {
      bad++;
      i++;
      continue;
    }
    const run = gpage - ((info >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK);
    // The run's entry, through a small hash table (blocks of scattered runs - random frees, a
    // remote stack - would make a linear search quadratic: 64 runs, 2,000 compares a pass).
    let h = Math.imul(run, 0x9e3779b1) >>> (32 - PASS_HASH_BITS);
    while (slots[h] !== 0 && runs[slots[h] - 1] !== run) h = (h + 1) & (PASS_HASH - 1);
    let j = slots[h] - 1;
    if (j < 0) {
      if (nruns >= maxRuns) {
        passKept[kept++] = p; // one run too many: a later pass
        i++;
        continue;
      }
      j = nruns++;
      runs[j] = run;
      passBin[j] = rb;
      passRunSlot[j] = h;
      slots[h] = j + 1;
    }
    // Then block i and every block after it in the same run (they come mostly run by run), in a
    // loop of their own: few locals, so V8 keeps them in registers (measured: in one loop with
    // the lookup above, 9-11 ns a block, its state spilled to the stack).
    const runOff = run * L.PAGE_SIZE;
    const runBytes = BIN_RUN_PAGES[rb] * L.PAGE_SIZE;
    const scale = BIN_MAGIC[rb] * TWO_POW_M32; // regionIndex's factor, kept for the run
    const kw = j * L.AUX_SLOT_WORDS; // the run's mask
    let at = off - runOff;
    for (;;) {
      const idx = (at * scale) | 0;
      const w = kw + (idx >>> 5);
      const bit = 1 << (idx & 31);
      // The bits of one mask word gather in a local while the blocks stay in its 32 regions, and
      // reach the mask when they leave it: no load and store of the mask per block, each waiting
      // on the one before (measured: 5.7 -> 4.0 ns a block).
      if (w !== cw) {
        if (cw >= 0) {
          bad += bitCount(mask[cw] & acc); // already gathered: double frees
          mask[cw] |= acc;
        }
        cw = w;
        acc = 0;
      }
      if ((acc & bit) !== 0) bad++;
      else acc |= bit;
      if (++i >= end) break;
      at = ((((m[stack + i] >>> 0) - hb) >>> 0) - runOff) >>> 0;
      if (at >= runBytes) break;
    }
  }
  if (cw >= 0) {
    bad += bitCount(mask[cw] & acc);
    mask[cw] |= acc;
  }
  // Its entries out of the hash table, for the next pass (only the words it used: a pass gathers
  // a few runs, the table has 256 words).
  for (let j = 0; j < nruns; j++) slots[passRunSlot[j]] = 0;
  passRuns = nruns;
  passBad = bad;
  return kept;
}

/** Arena owning the chunk of region `p`. */
export function regionArena(s: Space, p: number): number {
  return chunkArg(chunkEntry(s, addrChunk(s, p)));
}

/**
 * Returns cached block `p` of cache bin `bin` to arena `a` (lock held): a small region to its run,
 * a large run to the arena's free pages. False, changing nothing, when it is free already.
 */
export function giveRegion(s: Space, a: number, bin: number, p: number): boolean {
  const gpage = addrPage(s, p);
  const info = pageInfo(s, gpage);
  if (bin === L.TC_REMOTE) {
    // A small region of any class: its page says which.
    if ((info & L.PI_STATE_MASK) !== L.PS_SMALL) return false;
    bin = infoBin(info);
  } else if (bin >= NBINS) {
    const npages = infoSize(info);
    if ((info & (L.PI_STATE_MASK | L.PI_HEAD)) !== (L.PS_LARGE | L.PI_HEAD)) return false;
    // Clear its free mark: the arena hands the run out again as it is (mallocLarge writes nothing),
    // and a live run with the mark is looked up in every cache, where a thread flushing this very
    // run still lists it for a moment - a live block reported as freed. (Journaled: a pass undone
    // puts the run back in the stack, where it must carry its mark.)
    jset(s, p >>> 2, 0);
    largeFree(s, a, gpage, npages);
    return true;
  }
  const run = gpage - infoSize(info);
  return binGive(s, a, bin, run, regionIndex(bin, p - pageAddr(s, run)));
}

/** Flushes every bin of the cache at `tw` completely. Returns the double frees found. */
export function cacheFlushAll(s: Space, tw: number): number {
  let bad = 0;
  for (let b = 0; b < L.TC_NBINS; b++) bad += cacheFlush(s, tw, b, 0);
  return bad;
}

/**
 * One incremental GC step on `bin`. Returns the double frees found.
 *
 * jemalloc's GC flushes what stayed below the stack's low-water mark since the last visit: blocks
 * that no malloc took. Keeping a low-water mark costs a load and a compare on every malloc; here
 * the visit marks the blocks it leaves in the stack "stale" (L.MARK_USED_BIT cleared), a free
 * writes a new mark, and so the next visit finds the blocks nobody took as the stale ones at the
 * bottom of the stack - the same blocks, with nothing done on the fast paths.
 */
export function cacheGc(s: Space, tw: number, bin: number): number {
  if (bin === L.TC_REMOTE) return cacheFlush(s, tw, bin, 0); // nothing to wait for: all of it goes
  let m = s.i32;
  const rec = tcRec(tw, bin);
  const stack = tw + TC_STACK[bin];
  const n = tcCount(m, tw, bin);
  let stale = 0;
  while (stale < n && (m[(m[stack + stale] >>> 0) >>> 2] & L.MARK_USED_BIT) === 0) stale++;
  let bad = 0;
  if (m[rec + L.TCR_DRY] !== 0) {
    // The stack ran dry: fill more next time.
    if (m[tw + TC_FILL + bin] > 1) m[tw + TC_FILL + bin]--;
  } else if (stale > 0) {
    bad = cacheFlush(s, tw, bin, n - stale + (stale >> 2)); // 3/4 of the stale ones, oldest first
    m = s.i32; // flushing takes locks, which may remake the views
    // Blocks sat unused: fill fewer next time.
    if (TC_CAP[bin] >> (m[tw + TC_FILL + bin] + 1) >= 1) m[tw + TC_FILL + bin]++;
  }
  m[rec + L.TCR_DRY] = 0;
  for (let i = 0, left = tcCount(m, tw, bin); i < left; i++) m[(m[stack + i] >>> 0) >>> 2] &= ~L.MARK_USED_BIT;
  return bad;
}

/** Whether the cache at `tw` holds `p` in the stack of `bin`, or (small bins) in the remote stack. */
export function cacheHoldsAny(s: Space, tw: number, bin: number, p: number): boolean {
  return cacheHolds(s, tw, bin, p) || (bin < NBINS && cacheHolds(s, tw, L.TC_REMOTE, p));
}

/** Whether the stack of `bin` in the cache at `tw` holds `p` (bounded by the stack's capacity). */
export function cacheHolds(s: Space, tw: number, bin: number, p: number): boolean {
  const m = s.i32;
  const stack = tw + TC_STACK[bin];
  const n = Math.min(Math.max(tcCount(m, tw, bin), 0), TC_CAP[bin]);
  const v = p | 0;
  for (let i = 0; i < n; i++) if (m[stack + i] === v) return true;
  return false;
}


/**
 * Word index of the cache block of thread slot `k`, or 0 when it has none or the block lies past
 * this thread's view (read without a lock: for scans of other threads' caches).
 */
export function slotCache(s: Space, k: number): number {
  const tcb = s.i32[s.sl + k * L.SLOT_WORDS + L.S_TCACHE] >>> 0;
  return tcb !== 0 && tcb + TC_PAGES * L.PAGE_SIZE <= s.bytes ? tcb >>> 2 : 0;
}

/**
 * Bytes of the blocks held in the cache at `tw`: what its thread freed or took ahead and nobody
 * uses. Read without a lock (stats): while the thread runs, a snapshot that may be off by a block.
 */
export function cacheBytes(s: Space, tw: number): number {
  const m = s.i32;
  let bytes = 0;
  for (let b = 0; b < L.TC_NBINS; b++) {
    const n = Math.min(Math.max(tcCount(m, tw, b), 0), TC_CAP[b]);
    if (b < NBINS) bytes += n * BIN_SIZE[b];
    else if (b !== L.TC_REMOTE) bytes += n * largeBinBytes(b);
    else {
      // Regions of any class: each one's page says which.
      for (let i = 0; i < n; i++) {
        const p = m[tw + TC_STACK[b] + i] >>> 0;
        if (p < s.hb || p >= s.bytes) continue;
        const info = pageInfo(s, addrPage(s, p));
        if ((info & L.PI_STATE_MASK) === L.PS_SMALL) bytes += BIN_SIZE[infoBin(info)];
      }
    }
  }
  return bytes;
}
