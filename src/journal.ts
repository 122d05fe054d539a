// journal: undo journals, so that a critical section cut short anywhere can be rolled back.
//
// A thread can be stopped between any two statements (worker.terminate(), a closed page), lock
// held or not, and an exception can leave a section half done. So every critical section writes
// its *primary* state - the words that say what is free and what is not - through a journal:
//
//   journal (words)
//   +-------+-------+------+---+--------------+---------------------------------+-----+
//   | state | arena | used | - | word | old   | old[0] .. old[n-1] | -w-1 | n,k | ... |  2 * J_CAP words
//   +-------+-------+------+---+--------------+---------------------------------+-----+  (GJ_CAP: global)
//     state  1 while a section is open (its derived state may be half-updated), 0 once it committed
//     arena  the arena whose lock the section holds
//     used   words of entries written
//
//   jset(w, v):          entry (w, m[w]), then m[w] = v            one word
//   jsave(w, n, k):      entry (m[w], m[w+k], .., -w-1, n << 3 | k)  n words k apart, saved before
//                        a loop writes them plainly (a run's page infos, a cache stack)
//
// An entry is read backwards from its last two words: a first word >= 0 is a word index (a one-word
// entry), a negative one -w-1 starts a saved range.
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

/**
 * Tests: the crash countdown a new Heap (attach, create) starts with (0 = none); keptDecayNow: the
 * next unlock of a changing section looks for kept runs due to go back at once, whatever the
 * clock and the count of sections say (arena.ts: keptDecay).
 */
export const testHooks = { crashInAttach: 0, keptDecayNow: false };

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
  const used = m[j + L.J_COUNT];
  const e = j + L.J_ENTRIES + used;
  // The same word as the last entry (a flush gives back region after region of one bitmap word):
  // that entry holds its value from before the section already.
  if (used >= 2 && m[e - 2] === w) {
    m[w] = v;
    return;
  }
  if (used + 2 > 2 * journalCap(s, j)) overflow(used);
  m[e] = w;
  m[e + 1] = old;
  m[j + L.J_COUNT] = used + 2;
  if (used + 2 > s.journalHigh) s.journalHigh = used + 2;
  m[w] = v;
}

function overflow(used: number): never {
  throw corruption(`a critical section wrote more than its journal holds (${used} words)`);
}

/**
 * Saves the `n` words w, w + k, w + 2k, ... (k = 1..7) in the section's journal: the section may
 * then write them plainly, in a loop (one entry instead of one per word: a large run's page infos,
 * a cache stack being compacted).
 */
export function jsave(s: Space, w: number, n: number, k: number): void {
  crashPoint(s);
  const m = s.i32;
  const j = s.jcur;
  const used = m[j + L.J_COUNT];
  if (used + n + 2 > 2 * journalCap(s, j)) overflow(used);
  const e = j + L.J_ENTRIES + used;
  if (k === 1) m.copyWithin(e, w, w + n); // a native memmove: a cache stack of 200 words in ~50 ns
  else for (let i = 0; i < n; i++) m[e + i] = m[w + i * k];
  m[e + n] = -w - 1;
  m[e + n + 1] = (n << 3) | k;
  m[j + L.J_COUNT] = used + n + 2;
  if (used + n + 2 > s.journalHigh) s.journalHigh = used + n + 2;
}

/** Words still free in the journal of the open arena section. */
export function journalRoom(s: Space): number {
  return 2 * journalCap(s, s.jcur) - s.i32[s.jcur + L.J_COUNT];
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
  const used = m[j + L.J_COUNT];
  if (!(used >= 0 && used <= 2 * journalCap(s, j))) throw corruption(`an undo journal holds ${used} words`);
  const base = j + L.J_ENTRIES;
  for (let e = used; e > 0;) {
    if (e < 2) throw corruption("an undo journal's entries do not add up");
    const x = m[base + e - 2];
    const y = m[base + e - 1];
    if (x >= 0) {
      if (!(x > s.hw && x < m.length)) throw corruption(`an undo journal entry names word ${x}`);
      m[x] = y;
      e -= 2;
      continue;
    }
    const w = -x - 1;
    const n = y >>> 3;
    const k = y & 7;
    if (e < n + 2 || k === 0 || !(w > s.hw && w + (n - 1) * k < m.length)) throw corruption(`an undo journal range (${w}, ${n}, ${k}) is out of place`);
    const from = base + e - 2 - n;
    for (let i = 0; i < n; i++) m[w + i * k] = m[from + i];
    e -= n + 2;
  }
  journalClose(m, j);
}
