// journal: undo journals, so that a critical section cut short anywhere can be rolled back.
//
// A thread can be stopped between any two statements (worker.terminate(), a closed page), lock
// held or not, and an exception can leave a section half done. So every critical section writes
// its *primary* state - the words that say what is free and what is not - through a journal:
//
//   journal (words)
//   +-------+-------+-------+---+---------------+---------------+-----+
//   | state | arena | count | - | word  | old   | word  | old   | ... |   J_CAP entries (GJ_CAP for
//   +-------+-------+-------+---+---------------+---------------+-----+   the global journal)
//     state  1 while a section is open (its derived state may be half-updated), 0 once it committed
//     arena  the arena whose lock the section holds
//
//   jset(w, v):  entry = (w, m[w]);  count++;  m[w] = v        - the entry first, then the write
//
// Primary state: page infos, region bitmaps, the cache stacks and heads that a section changes, a
// slot's block words, chunk table entries of arena chunks and the first chunk of huge blocks.
// Everything else that sections write is *derived* from it and is not journaled: the trees of free
// runs and non-full runs, free counts, runcur, every counter, huge blocks' later chunk entries. A
// section that did not commit is undone by playing its entries backwards (the state as it was when
// the lock was taken), then the derived state is rebuilt from the primary (repair.ts). Playing the
// entries again is harmless, so a repair that is itself cut short can simply be run again.
//
// Each thread has its own journal at the start of its thread block (slots.ts); it serves the arena
// lock the thread holds (never two). The global lock has one journal in the heap header, written
// by whoever holds that lock; a thread that has no journal of its own (while its thread block is
// carved or freed) holds the global lock for its whole arena section and journals into that one.

import { corruption } from "./errors.js";
import { L } from "./layout.js";
import type { Space } from "./space.js";

/** Thrown at a crash point (tests): the thread "dies" there, with nothing cleaned up. */
export class ThreadDeath extends Error {
  constructor() {
    super("sabmalloc: simulated thread death (a test's crash point)");
  }
}

/** Tests: the crash countdown a new Heap (attach, create) starts with (0 = none). */
export const testHooks = { crashInAttach: 0 };

/**
 * Crash points for tests: when s.crashIn counts down to 0 here, the thread stops as if terminated
 * (no rollback, no unlock). One field test on slow paths only; the fast paths have none.
 */
export function crashPoint(s: Space): void {
  if (s.crashIn !== 0 && --s.crashIn === 0) {
    s.dead = true;
    throw new ThreadDeath();
  }
}

export function journalOpen(m: Int32Array, j: number, arena: number): void {
  m[j + L.J_COUNT] = 0;
  m[j + L.J_ARENA] = arena;
  m[j + L.J_STATE] = 1;
}

/** Commits: what the section wrote stands. One word, so a section is committed or it is not. */
export function journalClose(m: Int32Array, j: number): void {
  m[j + L.J_STATE] = 0;
}

export function journalIsOpen(m: Int32Array, j: number): boolean {
  return m[j + L.J_STATE] !== 0;
}

/** Capacity of the journal at word `j`: the global journal is the one in the heap header. */
function journalCap(s: Space, j: number): number {
  return j === s.gj ? L.GJ_CAP : L.J_CAP;
}

function journalWrite(s: Space, j: number, w: number, v: number): void {
  const m = s.i32;
  const old = m[w];
  if (old === v) return;
  crashPoint(s);
  const n = m[j + L.J_COUNT];
  if (n >= journalCap(s, j)) throw corruption(`a critical section wrote more than its journal holds (${n} words)`);
  const e = j + L.J_ENTRIES + 2 * n;
  m[e] = w;
  m[e + 1] = old;
  m[j + L.J_COUNT] = n + 1;
  m[w] = v;
}

/** A journaled write of primary state under an arena lock (into the journal of the section). */
export function jset(s: Space, w: number, v: number): void {
  journalWrite(s, s.jcur, w, v);
}

/** A journaled write of primary state under the global lock. */
export function gset(s: Space, w: number, v: number): void {
  journalWrite(s, s.gj, w, v);
}

/**
 * Undoes the entries of the open journal at `j`, newest first, and closes it (a closed one: nothing). Bounded: a count or an
 * index out of range (the journal itself damaged) is corruption, not a write anywhere.
 */
export function journalRollback(s: Space, j: number): void {
  const m = s.i32;
  if (!journalIsOpen(m, j)) return; // committed: what it wrote stands
  const n = m[j + L.J_COUNT];
  if (!(n >= 0 && n <= journalCap(s, j))) throw corruption(`an undo journal holds ${n} entries`);
  for (let i = n - 1; i >= 0; i--) {
    const e = j + L.J_ENTRIES + 2 * i;
    const w = m[e];
    if (!(w > s.hw && w < m.length)) throw corruption(`undo journal entry ${i} names word ${w}`);
    m[w] = m[e + 1];
  }
  journalClose(m, j);
}
