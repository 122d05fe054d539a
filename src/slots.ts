// slots: thread slots - claim, the thread block, release, reclaim - and watch(), which reclaims a
// worker's slots when it exits.
//
//   thread slot (L.S_*, 8 words in the heap header)     thread block (a META page run of its arena)
//   +-------------+-------+--------+-----+              +------------------+---------------------+
//   | state | tag | arena | tcache | gen |  --block-->  | journal (4 pages)| cache (tcache.ts)   |
//   +-------------+-------+--------+-----+              +------------------+---------------------+
//   | block | reclaimer | reclaiming | - |               journal.ts          only with threadCache
//
// A slot goes FREE -> LIVE (claim: one compareExchange that writes the tag too) -> FREE (detach),
// or LIVE -> RECLAIM -> FREE when another thread reclaims it. Reclaim, in phases that can each be
// cut short and run again:
//   1. repair the locks the dead thread held (repair.ts: undo its journal, rebuild, release);
//   2. flush its cache (each pass journaled with the reclaimer's journal: a pass is done or not);
//   3. free its thread block and the slot.
// The reclaimer writes its slot + 1 into the slot (S_RECLAIMER) and the slot's number into its own
// (S_RECLAIMING): if the reclaimer dies too, reclaiming *it* finishes the first reclaim as well.
//
// The thread block is carved and freed while its thread has no journal of its own: those sections
// hold the global lock too and journal into its journal (arena.ts: arenaLock).

import { arenaLock, arenaUnlock, arenaWord, infoSize, keptRetry, pageInfo, runAlloc, runFree } from "./arena.js";
import { HeapError } from "./errors.js";
import { crashPoint, jset } from "./journal.js";
import { L } from "./layout.js";
import { repairLocks } from "./repair.js";
import { addrPage, pageAddr, Space } from "./space.js";
import { cacheFlushAll, cacheInit, regionArena, TC_PAGES } from "./tcache.js";

/** Word index of slot `k`'s record. */
export function slotWord(s: Space, k: number): number {
  return s.sl + k * L.SLOT_WORDS;
}

export function slotStateOf(v: number): number {
  return v & L.SS_MASK;
}

export function slotTagOf(v: number): number {
  return v >>> L.SS_TAG_SHIFT;
}

/** Claims a free slot for this thread, with `tag` (watch(): which worker it is). */
export function claimSlot(s: Space, tag: number): number {
  const m = s.i32;
  const nslots = m[s.hdr + L.H_NSLOTS];
  const live = L.SS_LIVE | (tag << L.SS_TAG_SHIFT);
  for (let k = 0; k < nslots; k++) {
    const sw = slotWord(s, k);
    if (Atomics.compareExchange(m, sw + L.S_STATE, L.SS_FREE, live) === L.SS_FREE) {
      crashPoint(s);
      Atomics.add(m, sw + L.S_GEN, 1);
      return k;
    }
  }
  throw new RangeError(`sabmalloc: all ${nslots} thread slots are in use (HeapOptions.maxThreads; reclaim() slots of threads that are gone)`);
}

/**
 * Carves slot `k`'s thread block from arena `a`: a journal, then (withCache) a thread cache.
 * Returns the block's byte address, or 0 when the heap is full.
 */
export function makeBlock(s: Space, k: number, a: number, withCache: boolean): number {
  const pages = L.JOURNAL_PAGES + (withCache ? TC_PAGES : 0);
  const sw = slotWord(s, k);
  s.jw = 0; // no journal yet: the section journals into the global one
  arenaLock(s, a);
  const run = runAlloc(s, a, pages, L.PS_META, 0);
  const block = run === 0 ? 0 : pageAddr(s, run);
  if (block !== 0) {
    // Fresh pages, nobody's until the slot names them: plain writes.
    const jw = block >>> 2;
    s.i32.fill(0, jw, jw + L.J_ENTRIES);
    if (withCache) cacheInit(s, jw + L.J_WORDS);
    jset(s, sw + L.S_BLOCK, block);
    jset(s, sw + L.S_TCACHE, withCache ? block + L.J_WORDS * 4 : 0);
  }
  arenaUnlock(s, a);
  // No room, but the arena kept empty runs that have gone back since: again.
  if (block === 0 && keptRetry(s)) return makeBlock(s, k, a, withCache);
  s.jw = block >>> 2;
  return block;
}

/** Frees slot `k`'s thread block (its cache flushed already), if it has one. */
function freeBlock(s: Space, k: number): void {
  const sw = slotWord(s, k);
  const block = s.i32[sw + L.S_BLOCK] >>> 0;
  if (block === 0) return;
  const own = s.jw;
  s.jw = 0; // this thread's own journal may be the one in that block
  try {
    const a = regionArena(s, block);
    arenaLock(s, a);
    const run = addrPage(s, block);
    runFree(s, a, run, infoSize(pageInfo(s, run)));
    jset(s, sw + L.S_TCACHE, 0);
    jset(s, sw + L.S_BLOCK, 0);
    arenaUnlock(s, a);
  } finally {
    s.jw = own === block >>> 2 ? 0 : own;
  }
}

/** Frees slot `k`'s block and the slot (its cache flushed already). */
export function releaseSlot(s: Space, k: number): void {
  const m = s.i32;
  const sw = slotWord(s, k);
  const a = m[sw + L.S_ARENA];
  freeBlock(s, k);
  crashPoint(s);
  // The slot first: cut short after it, the arena's thread count stays one too high (it only
  // steers which arena new threads pick), never one too low.
  m[sw + L.S_ARENA] = -1;
  Atomics.store(m, sw + L.S_RECLAIMER, 0);
  Atomics.store(m, sw + L.S_RECLAIMING, 0);
  Atomics.store(m, sw + L.S_STATE, L.SS_FREE);
  crashPoint(s);
  if (a >= 0 && a < m[s.hdr + L.H_NARENAS]) Atomics.sub(m, arenaWord(s, a) + L.A_NTHREADS, 1);
}

/**
 * Reclaims slot `k` (its thread is gone) for this thread (slot `me`). Returns the double frees
 * found in its cache. A free slot, or one that a live thread is reclaiming: nothing to do.
 */
export function reclaimSlot(s: Space, k: number, me: number): number {
  const m = s.i32;
  const sw = slotWord(s, k);
  const mw = slotWord(s, me);
  // Who reclaims k is decided by one compareExchange on its S_RECLAIMER. The claimant names k in
  // its own slot first, so that a live claimant is always seen at work on k (and left alone), and
  // one that died is taken over - by whoever wins the exchange, its own reclaimer included.
  Atomics.store(m, mw + L.S_RECLAIMING, k + 1);
  for (;;) {
    if (slotStateOf(Atomics.load(m, sw + L.S_STATE)) === L.SS_FREE) {
      Atomics.store(m, mw + L.S_RECLAIMING, 0);
      return 0;
    }
    const r = Atomics.load(m, sw + L.S_RECLAIMER);
    if (r === me + 1) break;
    if (r > 0 && r <= m[s.hdr + L.H_NSLOTS]) {
      const rw = slotWord(s, r - 1);
      if (slotStateOf(Atomics.load(m, rw + L.S_STATE)) === L.SS_LIVE && Atomics.load(m, rw + L.S_RECLAIMING) === k + 1) {
        Atomics.store(m, mw + L.S_RECLAIMING, 0);
        return 0;
      }
    }
    if (Atomics.compareExchange(m, sw + L.S_RECLAIMER, r, me + 1) === r) break;
  }
  for (;;) {
    const v = Atomics.load(m, sw + L.S_STATE);
    if (slotStateOf(v) !== L.SS_LIVE) break;
    if (Atomics.compareExchange(m, sw + L.S_STATE, v, (v & ~L.SS_MASK) | L.SS_RECLAIM) === v) break;
  }
  // 1. Its locks: undo what it was doing, rebuild, release - and the journals of the slot it was
  //    reclaiming itself, if any (finished in 4).
  const of = Atomics.load(m, sw + L.S_RECLAIMING) - 1;
  crashPoint(s);
  repairLocks(s, k, of);
  crashPoint(s);
  // 2. Its cache. 3. Its block and the slot.
  let bad = 0;
  const tc = m[sw + L.S_TCACHE] >>> 0;
  if (tc !== 0) bad += cacheFlushAll(s, tc >>> 2);
  releaseSlot(s, k);
  Atomics.store(m, mw + L.S_RECLAIMING, 0);
  // 4. The reclaim it was running, if any.
  if (of >= 0 && of !== me && of !== k) bad += reclaimSlot(s, of, me);
  return bad;
}

// ---- watch ---------------------------------------------------------------------------------------

/** What watch() needs of a worker: a Node Worker, or a browser Worker. */
export interface WatchedWorker {
  terminate(): unknown;
}

interface NodeLikeWorker extends WatchedWorker {
  once(event: "exit", listener: () => void): unknown;
}

/**
 * How long after its terminate() a watched worker counts as gone. terminate() only asks the
 * worker's thread to stop; no event says when it has (Node's 'exit' comes through the parent's
 * event loop, which a thread blocked on a lock does not run). Chromium lets a worker that is running
 * script go on for 2 s after terminate() before it stops its engine (Blink's worker thread:
 * kForcibleTerminationDelay); Node and Firefox stop it at its next interrupt check. So 3 s: a
 * worker reclaimed while it still runs would go on using the cache that reclaim returned
 * (measured with 1 s: Chromium's worker, busy in malloc/free, refilled its emptied cache after the
 * reclaim and took 128 regions with it, in 3 of 20 runs on a loaded machine).
 */
export const TERMINATE_GRACE_MS = 3000;

/** Workers this realm watches, by tag: whether each is gone. */
const watched = new Map<number, () => boolean>();

/** Whether the thread with `tag` is known (to this realm's watch()) to be gone. */
function tagGone(tag: number): boolean {
  const gone = watched.get(tag);
  return gone !== undefined && gone();
}

/**
 * Registers `worker` under a fresh tag and returns the tag. `reclaimTag(tag)` runs when the worker
 * is gone: Node, on its 'exit' event; a browser (no such event), TERMINATE_GRACE_MS after its
 * terminate(). A thread blocked on a lock that the worker held repairs it on its own once the
 * worker counts as gone (onLockWait): the worker's terminate() was called TERMINATE_GRACE_MS ago.
 */
export function watchWorker(s: Space, worker: WatchedWorker, reclaimTag: (tag: number) => void): number {
  const tag = (Atomics.add(s.i32, s.hdr + L.H_NEXT_TAG, 1) + 1) & 0x3fffffff;
  let terminatedAt = 0;
  let exited = false;
  watched.set(tag, () => exited || (terminatedAt !== 0 && Date.now() - terminatedAt >= TERMINATE_GRACE_MS));
  const done = (): void => {
    exited = true;
    reclaimTag(tag);
    watched.delete(tag);
  };
  const terminate = worker.terminate.bind(worker);
  worker.terminate = (): unknown => {
    if (terminatedAt === 0) terminatedAt = Date.now();
    return terminate();
  };
  const w = worker as Partial<NodeLikeWorker>;
  if (typeof w.once === "function") {
    (worker as NodeLikeWorker).once("exit", done); // Node: exits of every kind, terminate() or not
  } else {
    // A browser. Run late (a busy main thread), this timer may come right after the engine's own
    // termination task, before the worker has reached the interrupt check where it stops: then it
    // waits a little longer. (No word in the heap tells that a worker still runs: a malloc+free
    // pair on its cache leaves its thread block as it was.)
    const t = worker.terminate;
    worker.terminate = (): unknown => {
      const r = t();
      const due = Date.now() + TERMINATE_GRACE_MS;
      setTimeout(() => (Date.now() - due > LATE_MS ? setTimeout(done, LATE_MS) : done()), TERMINATE_GRACE_MS);
      return r;
    };
  }
  return tag;
}

/** A grace timer (watchWorker) that runs more than this late waits this much longer before it reclaims. */
const LATE_MS = 100;

/** Slots now claimed with `tag`. */
export function slotsOfTag(s: Space, tag: number): number[] {
  const m = s.i32;
  const out: number[] = [];
  for (let k = 0, n = m[s.hdr + L.H_NSLOTS]; k < n; k++) {
    const v = Atomics.load(m, slotWord(s, k) + L.S_STATE);
    if (slotStateOf(v) !== L.SS_FREE && slotTagOf(v) === tag) out.push(k);
  }
  return out;
}

/**
 * The lock-wait hook of a thread (lock.ts): a holder that watch() knows to be gone is repaired on
 * the spot when this thread holds no lock itself (else it would take a second arena's lock: it
 * gets LOCK_TIMEOUT at once, its section undone); past the heap's lock timeout, LOCK_TIMEOUT.
 */
export function onLockWait(s: Space, holder: number, waitedMs: number): void {
  const m = s.i32;
  if (holder >= 0 && holder < m[s.hdr + L.H_NSLOTS]) {
    const v = Atomics.load(m, slotWord(s, holder) + L.S_STATE);
    if (slotStateOf(v) === L.SS_LIVE && tagGone(slotTagOf(v))) {
      if (s.heldArena < 0 && s.gDepth === 0) {
        repairLocks(s, holder, m[slotWord(s, holder) + L.S_RECLAIMING] - 1);
        return;
      }
      throw new HeapError("LOCK_TIMEOUT", `a lock is held by thread slot ${holder}, whose worker is gone; ` +
        `this call was undone: call it again (the worker's slot is reclaimed when its 'exit' event runs)`);
    }
  }
  const limit = m[s.hdr + L.H_LOCK_TIMEOUT];
  if (limit > 0 && waitedMs > limit) {
    throw new HeapError("LOCK_TIMEOUT", `waited ${waitedMs} ms for a lock held by thread slot ${holder}: if that ` +
      `thread is gone, reclaim(${holder}) it (heap.watch(worker) does it when a worker exits); this call was undone`);
  }
}
