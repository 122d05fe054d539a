// lock: a mutex in two words of the shared buffer, built on Atomics.
//
//   +-----------+-----------+
//   | state     | owner     |   state: L.LOCK_FREE, L.LOCK_HELD, or L.LOCK_CONTENDED (held, and a
//   +-----------+-----------+   thread may be asleep in Atomics.wait); owner: slot + 1 of the holder
//
// Acquire is one compareExchange when the lock is free (the common case: locks are taken once per
// batch of regions, never per object). Under contention a thread spins briefly, then - where it may
// block - marks the lock contended and sleeps in Atomics.wait until the holder's release notifies
// it (Drepper's "futexes are tricky" mutex, version 2). Where blocking is not allowed (a browser's
// main thread) it keeps spinning with a growing backoff instead; both kinds mix safely, because a
// sleeper always re-marks the lock contended after it wakes.
//
// The owner word lets reclaim() release a lock whose holder was terminated while holding it.

import { L } from "./layout.js";

const SPINS_BEFORE_SLEEP = 64;
const MAX_BACKOFF = 1024;

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

export function lockAcquire(m: Int32Array, at: number, owner: number, canBlock: boolean): void {
  if (Atomics.compareExchange(m, at, L.LOCK_FREE, L.LOCK_HELD) !== L.LOCK_FREE) {
    lockContended(m, at, canBlock);
  }
  m[at + 1] = owner;
}

function lockContended(m: Int32Array, at: number, canBlock: boolean): void {
  let backoff = 1;
  for (let spin = 0; spin < SPINS_BEFORE_SLEEP || !canBlock; spin++) {
    for (let i = 0; i < backoff; i++) spinPause(m, at);
    if (backoff < MAX_BACKOFF) backoff <<= 1;
    if (Atomics.load(m, at) === L.LOCK_FREE &&
        Atomics.compareExchange(m, at, L.LOCK_FREE, L.LOCK_HELD) === L.LOCK_FREE) return;
  }
  // Sleep: mark the lock contended so that its holder notifies on release.
  let c = Atomics.exchange(m, at, L.LOCK_CONTENDED);
  while (c !== L.LOCK_FREE) {
    Atomics.wait(m, at, L.LOCK_CONTENDED);
    c = Atomics.exchange(m, at, L.LOCK_CONTENDED);
  }
}

/** A cheap pause that the optimizer cannot remove. */
function spinPause(m: Int32Array, at: number): void {
  Atomics.load(m, at);
}

export function lockRelease(m: Int32Array, at: number): void {
  m[at + 1] = 0;
  if (Atomics.exchange(m, at, L.LOCK_FREE) === L.LOCK_CONTENDED) Atomics.notify(m, at, 1);
}

/** Releases a lock held by a thread that is gone (reclaim). True when it was held by `owner`. */
export function lockBreak(m: Int32Array, at: number, owner: number): boolean {
  if (Atomics.load(m, at + 1) !== owner || Atomics.load(m, at) === L.LOCK_FREE) return false;
  lockRelease(m, at);
  return true;
}

/** A lock word can only hold one of three values; anything else is corruption. */
export function lockWordValid(v: number): boolean {
  return v === L.LOCK_FREE || v === L.LOCK_HELD || v === L.LOCK_CONTENDED;
}

/**
 * Like lockAcquire, but gives up after `ms` milliseconds (check() must not hang on a lock that a
 * dead thread holds). True when acquired.
 */
export function lockAcquireWithin(m: Int32Array, at: number, owner: number, canBlock: boolean, ms: number): boolean {
  const deadline = Date.now() + ms;
  let backoff = 1;
  while (Atomics.compareExchange(m, at, L.LOCK_FREE, L.LOCK_HELD) !== L.LOCK_FREE) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    if (canBlock) {
      // A short nap, then look again. It sleeps on the owner word, never notified: a nap on the lock
      // word could swallow the wake-up that lockRelease sends to a thread asleep in lockContended,
      // and as this thread takes the lock "held", not "contended", that thread would sleep on forever.
      if (Atomics.load(m, at) !== L.LOCK_FREE) Atomics.wait(m, at + 1, Atomics.load(m, at + 1), Math.min(left, 1));
    } else {
      for (let i = 0; i < backoff; i++) spinPause(m, at);
      if (backoff < MAX_BACKOFF) backoff <<= 1;
    }
  }
  m[at + 1] = owner;
  return true;
}
