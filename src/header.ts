// header: a new heap's options and its header - reading HeapOptions, laying out the heap header,
// the chunk table, the arena records, the thread slots and the global journal, and chunk 0.
//
// The layout of the header is drawn in layout.ts (L.H_*); every offset in it is written here once,
// when the heap is made, and read back by every thread that attaches (heap.ts) and by check().

import { ARENA_WORDS, arenaWord, KEPT_DECAY_DEFAULT_MS } from "./arena.js";
import { initArenaChunk, setChunkEntry } from "./chunk.js";
import { L } from "./layout.js";
import { Space } from "./space.js";
import { ProfileOptions, readProfileFrames, readProfileOption } from "./profile.js";
import { treeInsert } from "./tree.js";

export interface HeapOptions {
  /** Bytes of buffer reserved at creation (default 4 MiB), rounded up to whole chunks (1 MiB). */
  initialBytes?: number;
  /** The heap never grows past this (default 1 GiB, at most 4 GiB); for fromMemory, from base. */
  maxBytes?: number;
  /** Number of arenas (default 4 x available CPUs, at most 256). */
  arenas?: number;
  /** Per-thread caches (default true). */
  threadCache?: boolean;
  /** Junk-fill freed memory and verify on every free (default false). */
  debug?: boolean;
  /**
   * Arenas keep the small runs that empty, for the next blocks of their class (default true): a
   * program that frees many blocks and makes as many again skips giving runs back and carving
   * them anew. Kept runs go back when their arena needs pages, when the heap has had to grow, when
   * their class has not needed them for `keptDecayMs`, and on `heap.trim()`. false: every run that
   * empties goes back at once.
   */
  keepEmptyRuns?: boolean;
  /**
   * Milliseconds an arena keeps empty runs it does not need (default 10000, as jemalloc's
   * dirty_decay_ms; Infinity: until their pages are needed or `heap.trim()`). An arena looks now
   * and then, at the end of its threads' slow-path calls: the runs of a class that were never
   * taken since it last looked, that long ago, go back to its free pages. No thread runs in the
   * background: an arena nobody calls keeps its runs until the heap needs their pages.
   */
  keptDecayMs?: number;
  /** Thread slots: how many threads may be attached at once (default 1024, at most 4096). */
  maxThreads?: number;
  /**
   * Milliseconds a thread waits for a lock before it gives up with HeapError LOCK_TIMEOUT, its
   * call undone (default 10000; 0: wait for ever). Locks are held for microseconds: a long wait
   * means the holder died and nobody reclaimed it (see `watch`).
   */
  lockTimeout?: number;
  /** Sampled heap profiles (heap.profile()): true, or the mean bytes between samples (default 512 KiB). */
  profile?: boolean | ProfileOptions;
}

const DEFAULT_INITIAL = 4 * L.CHUNK_SIZE;
const DEFAULT_MAX = 2 ** 30;
const DEFAULT_LOCK_TIMEOUT = 10_000;
const MAX_ARENAS = 256;
const MAX_SLOTS = 4096;

let cpuCount = globalThis.navigator?.hardwareConcurrency ?? 0;
if (!cpuCount && typeof process !== "undefined" && process.versions?.node) {
  try {
    cpuCount = (await import("node:os")).availableParallelism();
  } catch {
    cpuCount = 0;
  }
}
if (!(cpuCount > 0)) cpuCount = 4;

export interface ResolvedOptions {
  initialChunks: number;
  maxChunks: number;
  arenas: number;
  slots: number;
  flags: number;
  lockTimeout: number;
  profileMean: number;
  profileFrames: number;
  keptDecayMs: number;
}

export function checkInteger(name: string, v: unknown): asserts v is number {
  if (typeof v !== "number") throw new TypeError(`sabmalloc: ${name} must be a number, not ${typeof v}`);
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`sabmalloc: ${name} must be a non-negative integer, not ${v}`);
}

export function readOptions(o: HeapOptions, base: number): ResolvedOptions {
  if (o === null || typeof o !== "object") throw new TypeError("sabmalloc: options must be an object");
  const maxBytes = o.maxBytes ?? Math.min(DEFAULT_MAX, L.MAX_BUFFER_BYTES - base);
  checkInteger("maxBytes", maxBytes);
  const maxChunks = Math.floor(Math.min(maxBytes, L.MAX_BUFFER_BYTES - base) / L.CHUNK_SIZE);
  if (maxChunks < 1) throw new RangeError(`sabmalloc: maxBytes ${maxBytes} is too small: the header alone needs ${L.CHUNK_SIZE}`);
  const initialBytes = o.initialBytes ?? Math.min(DEFAULT_INITIAL, maxChunks * L.CHUNK_SIZE);
  checkInteger("initialBytes", initialBytes);
  if (initialBytes > maxBytes) throw new RangeError(`sabmalloc: initialBytes ${initialBytes} > maxBytes ${maxBytes}`);
  const initialChunks = Math.min(maxChunks, Math.max(1, Math.ceil(initialBytes / L.CHUNK_SIZE)));
  const arenas = o.arenas ?? Math.min(MAX_ARENAS, 4 * cpuCount);
  checkInteger("arenas", arenas);
  if (arenas < 1 || arenas > MAX_ARENAS) throw new RangeError(`sabmalloc: arenas must be 1 .. ${MAX_ARENAS}, not ${arenas}`);
  const slots = o.maxThreads ?? L.DEFAULT_SLOTS;
  checkInteger("maxThreads", slots);
  if (slots < 1 || slots > MAX_SLOTS) throw new RangeError(`sabmalloc: maxThreads must be 1 .. ${MAX_SLOTS}, not ${slots}`);
  for (const k of ["threadCache", "debug", "keepEmptyRuns"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "boolean") throw new TypeError(`sabmalloc: ${k} must be a boolean`);
  }
  const profileMean = readProfileOption(o.profile);
  const profileFrames = readProfileFrames(o.profile);
  const flags = (o.threadCache === false ? 0 : L.HF_THREAD_CACHE) | (o.debug ? L.HF_DEBUG : 0) |
    (profileMean > 0 ? L.HF_PROFILE : 0) | (o.keepEmptyRuns === false ? L.HF_NO_KEEP : 0);
  const lockTimeout = o.lockTimeout ?? DEFAULT_LOCK_TIMEOUT;
  checkInteger("lockTimeout", lockTimeout);
  if (lockTimeout > 2 ** 31 - 1) throw new RangeError(`sabmalloc: lockTimeout must be at most 2^31 - 1 ms, not ${lockTimeout}`);
  const keptDecayMs = readKeptDecay(o.keptDecayMs);
  return { initialChunks, maxChunks, arenas, slots, flags, lockTimeout, profileMean, profileFrames, keptDecayMs };
}

/** HeapOptions.keptDecayMs as the header keeps it (L.H_KEPT_DECAY): 1 .. 2^31 - 1 ms (Infinity: the largest). */
function readKeptDecay(v: unknown): number {
  if (v === undefined) return KEPT_DECAY_DEFAULT_MS;
  if (v === Infinity) return 2 ** 31 - 1; // 24.8 days: never, for a program's phases
  checkInteger("keptDecayMs", v);
  if (v < 1 || v > 2 ** 31 - 1) {
    throw new RangeError(`sabmalloc: keptDecayMs must be 1 .. 2^31 - 1 ms or Infinity, not ${v} (keepEmptyRuns: false keeps no run at all)`);
  }
  return v;
}

/**
 * Lays out a new heap: its header, the chunk table, arena records, slots, and chunk 0. Bytes from
 * `fresh` up are known to be zero (new from growth); below it, a memory may hold anything.
 */
export function writeHeader(buf: SharedArrayBuffer, base: number, o: ResolvedOptions, fresh: number): void {
  const chunktab = L.HEADER_WORD + L.H_FIXED_WORDS;
  const arenas = chunktab + o.maxChunks + ((chunktab + o.maxChunks) & 1); // even: f64 counters
  const slots = arenas + o.arenas * ARENA_WORDS;
  const gjournal = slots + o.slots * L.SLOT_WORDS;
  const end = gjournal + L.GJ_WORDS + L.ROOTS_WORDS; // roots: the header pages' last words (roots.ts)
  const headerPages = Math.ceil((end - L.HEADER_WORD) * 4 / L.PAGE_SIZE);
  if (L.CHUNK_HEADER_PAGES + headerPages + 8 > L.CHUNK_PAGES) {
    throw new RangeError("sabmalloc: too many arenas and thread slots for the heap header");
  }
  const s = new Space(buf, base);
  const m = s.i32;
  const hdr = s.hdr;
  m.fill(0, hdr, s.hw + end);
  m.fill(0, hdr + headerPages * (L.PAGE_SIZE / 4) - L.ROOTS_WORDS, hdr + headerPages * (L.PAGE_SIZE / 4)); // roots.ts
  m[hdr + L.H_VERSION] = L.HEAP_VERSION;
  m[hdr + L.H_FLAGS] = o.flags;
  m[hdr + L.H_MAX_CHUNKS] = o.maxChunks;
  m[hdr + L.H_NARENAS] = o.arenas;
  m[hdr + L.H_NSLOTS] = o.slots;
  m[hdr + L.H_LOCK_TIMEOUT] = o.lockTimeout;
  m[hdr + L.H_KEPT_DECAY] = o.keptDecayMs;
  m[hdr + L.H_PROF_MEAN] = o.profileMean;
  m[hdr + L.H_PROF_FRAMES] = o.profileFrames;
  m[hdr + L.H_HEADER_PAGES] = headerPages;
  m[hdr + L.H_CHUNKTAB] = chunktab;
  m[hdr + L.H_ARENAS] = arenas;
  m[hdr + L.H_SLOTS] = slots;
  m[hdr + L.H_GJOURNAL] = gjournal;
  for (let k = 0; k < o.slots; k++) m[s.hw + slots + k * L.SLOT_WORDS + L.S_ARENA] = -1; // none yet
  s.ct = s.hw + chunktab;
  s.ar = s.hw + arenas;
  s.sl = s.hw + slots;
  s.gj = s.hw + gjournal;
  const zero = (c: number): boolean => base + c * L.CHUNK_SIZE >= fresh;
  for (let c = 0; c < o.initialChunks; c++) setChunkEntry(s, c, L.CK_FREE | (zero(c) ? L.CK_ZERO : 0));
  m[hdr + L.H_POOL_CHUNKS] = o.initialChunks - 1; // all but chunk 0
  m[hdr + L.H_NCHUNKS] = o.initialChunks;
  // Chunk 0 belongs to arena 0 and carries this header.
  const run = initArenaChunk(s, 0, 0, zero(0));
  const aw = arenaWord(s, 0);
  m[aw + L.A_NCHUNKS] = 1;
  m[aw + L.A_RUNS] = treeInsert(s, 0, run);
  Atomics.store(m, hdr + L.H_MAGIC, L.HEAP_MAGIC); // last: attach() trusts a heap with its magic
}
