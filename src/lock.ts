// lock: a mutex in one word of the shared buffer, built on Atomics.
//
//   bit 31                          1   0
//      +-----------------------------+----+
//      |  owner (thread slot + 1)    | C  |     0 = free
//      +-----------------------------+----+     C = contended: a thread may be asleep on the word
//
// The holder's identity is part of the word it takes with one compareExchange, so there is no
// moment when a lock is held by nobody in particular: reclaim() can always tell, and release, a
// lock that a terminated thread held (lockSteal, then repair.ts undoes what it was doing).
//
// Acquire is one compareExchange when the lock is free (the common case: locks are taken once per
// batch of regions, never per object). Under contention a thread spins briefly, then - where it may
// block - sets C and sleeps in Atomics.wait until the holder's release (which notifies when C is set)
// wakes it; a thread that has slept takes the lock with C set, since others may still sleep
// (Drepper's "futexes are tricky" mutex, version 2). Where blocking is not allowed (a browser's main
// thread) it keeps spinning with a growing backoff instead; both kinds mix on one lock.
//
// The word after the lock word (L.*_LOCK_OWNER) is a nap word: check() sleeps on it between looks
// at a busy lock, so that it never swallows a wake-up meant for a sleeper on the lock word.

import { L } from "./layout.js";

const SPINS_BEFORE_SLEEP = 64;
const MAX_BACKOFF = 1024;
const CONTENDED = 1;
/** A waiter looks up every this many milliseconds whether the holder is still alive (slots.ts). */
const WAIT_SLICE_MS = 20;

/**
 * Told, every WAIT_SLICE_MS while a thread waits, which slot holds the lock and how long it has
 * waited. It may repair a dead holder's lock (which frees it) or throw: a waiter never waits for
 * ever unnoticed.
 */
export type LockWaitHook = (holder: number, waitedMs: number) => void;

/** Whether this thread may call Atomics.wait (false on a browser's main thread). */
export function threadCanBlock(m: Int32Array): boolean {
  try {
    // The value never matches, so this returns "not-equal" at once - unless blocking is forbidden,
    // which throws before the value is even read.
    Atomics.wait(m, 0, ~Atomics.load(m, 0), 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes the lock at word `at` for `owner` (thread slot + 1). */
export function lockAcquire(m: Int32Array, at: number, owner: number, canBlock: boolean, onWait: LockWaitHook | null = null): void {
  if (Atomics.compareExchange(m, at, L.LOCK_FREE, owner << 1) !== L.LOCK_FREE) {
    lockContended(m, at, owner, canBlock, onWait);
  }
}

function lockContended(m: Int32Array, at: number, owner: number, canBlock: boolean, onWait: LockWaitHook | null): void {
  if (m === primeWord) Atomics.store(m, at, L.LOCK_FREE); // lockPrime's word frees itself
  let backoff = 1;
  const start = Date.now();
  let told = start;
  for (let spin = 0; spin < SPINS_BEFORE_SLEEP || !canBlock; spin++) {
    for (let i = 0; i < backoff; i++) spinPause(m, at);
    if (backoff < MAX_BACKOFF) backoff <<= 1;
    const v = Atomics.load(m, at);
    if (v === L.LOCK_FREE) {
      if (Atomics.compareExchange(m, at, L.LOCK_FREE, owner << 1) === L.LOCK_FREE) return;
    } else if (!canBlock && onWait !== null && (spin & 63) === 63) {
      const now = Date.now();
      if (now - told >= WAIT_SLICE_MS) {
        told = now;
        onWait(lockOwner(v) - 1, now - start);
      }
    }
  }
  // Sleep until the lock is free; then take it marked contended (others may be asleep too).
  for (;;) {
    let v = Atomics.load(m, at);
    if (v === L.LOCK_FREE) {
      if (Atomics.compareExchange(m, at, L.LOCK_FREE, (owner << 1) | CONTENDED) === L.LOCK_FREE) return;
      continue;
    }
    if ((v & CONTENDED) === 0) {
      if (Atomics.compareExchange(m, at, v, v | CONTENDED) !== v) continue;
      v |= CONTENDED;
    }
    if (Atomics.wait(m, at, v, onWait === null ? Infinity : WAIT_SLICE_MS) === "timed-out" && onWait !== null) {
      onWait(lockOwner(v) - 1, Date.now() - start);
    }
  }
}

/** A cheap pause that the optimizer cannot remove. */
function spinPause(m: Int32Array, at: number): void {
  Atomics.load(m, at);
}

export function lockRelease(m: Int32Array, at: number): void {
  if ((Atomics.exchange(m, at, L.LOCK_FREE) & CONTENDED) !== 0) Atomics.notify(m, at, 1);
}

/** The lock word of lockPrime(), in a buffer of its own (made on first use). */
let primeWord: Int32Array | null = null;
/** Rounds of lockPrime(): V8 gives a function its feedback only after a few calls. */
const PRIME_ROUNDS = 16;

/**
 * Runs the contended paths of lockAcquire and lockRelease once per round, on a word of its own, so
 * that V8 has seen them before it optimizes their callers (heap.ts calls it once per module, as it
 * primes free). Unprimed, the first contended lock of a thread's life meets a call with no type
 * feedback in optimized code and deoptimizes its caller (arenaLock, which inlines lockAcquire),
 * which V8 compiles again while the thread runs. Measured, the bench's larson with 2 workers that
 * free each other's blocks: 0-66 contended locks in a 2 million operation run, and in most runs
 * lockAcquire and arenaLock deoptimized in the timed window; primed, none (the throughput moved
 * less than the noise of 2 A/B runs: scaling 1.90x and 1.85x against 1.86x and 1.84x). Here the
 * word is held by another owner when lockAcquire tries it and frees itself in lockContended
 * before the first look, so nothing waits; then it is released with C set (a notify that wakes
 * nobody).
 */
export function lockPrime(owner: number): void {
  if (typeof SharedArrayBuffer !== "function") return; // no shared memory, no heap to lock
  const m = primeWord ?? (primeWord = new Int32Array(new SharedArrayBuffer(4)));
  for (let i = 0; i < PRIME_ROUNDS; i++) {
    m[0] = ((owner + 1) << 1) | CONTENDED;
    lockAcquire(m, 0, owner, true, null);
    m[0] |= CONTENDED;
    lockRelease(m, 0);
  }
}

/** The thread slot + 1 holding the lock word value `v`, or 0 when free. */
export function lockOwner(v: number): number {
  return v >>> 1;
}

/**
 * Takes over the lock at `at` from `dead` (slot + 1 of a thread that is gone) for `owner`, keeping
 * the contended bit so that the release wakes the sleepers. True when `dead` held it.
 */
export function lockSteal(m: Int32Array, at: number, dead: number, owner: number): boolean {
  for (;;) {
    const v = Atomics.load(m, at);
    if (v === L.LOCK_FREE || lockOwner(v) !== dead) return false;
    if (Atomics.compareExchange(m, at, v, (owner << 1) | (v & CONTENDED)) === v) return true;
  }
}

/** A lock word is free or held by an existing slot; anything else is corruption. */
export function lockWordValid(v: number, nslots: number): boolean {
  return v === L.LOCK_FREE || (v > 0 && lockOwner(v) >= 1 && lockOwner(v) <= nslots);
}

/**
 * Like lockAcquire, but gives up after `ms` milliseconds (check() must not hang on a lock that a
 * dead thread holds). True when acquired.
 */
export function lockAcquireWithin(m: Int32Array, at: number, owner: number, canBlock: boolean, ms: number): boolean {
  const deadline = Date.now() + ms;
  let backoff = 1;
  while (Atomics.compareExchange(m, at, L.LOCK_FREE, owner << 1) !== L.LOCK_FREE) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    if (canBlock) {
      // A short nap on the nap word (never notified), then look again: a nap on the lock word could
      // swallow the wake-up meant for a thread asleep in lockContended.
      Atomics.wait(m, at + 1, Atomics.load(m, at + 1), Math.min(left, 1));
    } else {
      for (let i = 0; i < backoff; i++) spinPause(m, at);
      if (backoff < MAX_BACKOFF) backoff <<= 1;
    }
  }
  return true;
}
