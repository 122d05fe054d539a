// heap: the public Heap - malloc, free and friends for one thread's view of a shared heap.
//
// A Heap object is one thread's handle on a heap that lives entirely in a shared buffer. Every
// thread that uses the heap has its own Heap object (made by create/fromMemory, or by attach in a
// worker), its own thread slot in the buffer, and its own thread cache.
//
//   malloc(n <= 14336) --hit--> pop from the thread cache           no lock, no atomic
//                      --miss-> mallocSlow: fill the cache from the arena (one lock per batch)
//   malloc(16-64 KiB)  --hit--> mallocSlow's first lines: pop a large run from the cache, no lock
//   malloc(larger)     -------> mallocSlow: a page run of the arena, or whole chunks (huge)
//   free(p)            --------> validate p (chunk table, page map, region boundary, free mark),
//                                push on the cache
//                                a large run of 16-64 KiB: freeLargeCached, the same push
//                                full cache / large / huge / bad p: freeSlow
//   realloc(p, n)      --same class or page count--> p (quickRealloc: free's checks, no lock)
//
// The two fast paths (malloc and free on a cache hit) are written for the optimizer: plain typed-
// array reads and writes on locals, no objects, no closures, no exceptions; anything unusual - bad
// input, a detached heap, debug mode, an empty or full stack - falls through to a *Slow method.

import {
  arenaLock, arenaUnlock, arenaWord, globalLock, globalUnlock, infoBin, insetToSpare, keptGiveBackAll, keptRetry, largeFree,
  pageInfo, runAllocChunkStart, runGrow, runShrink, runToHuge, runTrimHead, runZero, runAlloc,
} from "./arena.js";
import { binTake, hasFreeMark, takenCorrupt, throwIfTakenCorrupt } from "./bin.js";
import { bitmapCount } from "./bitmap.js";
import { checkHeap } from "./check.js";
import { statsAtExit, withConf } from "./conf.js";
import {
  chunkArg, chunkEntry, chunkKind, hugeAddr, hugeChunks, hugeResize, hugeSpan, poolGive, poolTake,
  poolTakeAligned, poolTakeZero, setHuge,
} from "./chunk.js";
import { corruption, doubleFree, HeapError, invalidPointer } from "./errors.js";
import { checkInteger, HeapOptions, readOptions, writeHeader } from "./header.js";
import { crashPoint, gset, testHooks } from "./journal.js";
import { L } from "./layout.js";
import { lockPrime, threadCanBlock } from "./lock.js";
import { abortSections } from "./repair.js";
import {
  claimSlot, makeBlock, onLockWait, reclaimSlot, releaseSlot, slotsOfTag, slotWord, watchWorker, WatchedWorker,
} from "./slots.js";
import {
  BIN_BITMAP_WORDS, BIN_DIV, BIN_NREGS, BIN_SIZE, NBINS, SMALL_MAX, sizeToBin,
} from "./sizeclass.js";
import {
  captureStack, dropSample, ErrorV8, HeapProfile, markSampled, MAX_MAX_FRAMES, ProfileAlloc, readProfile,
  recordSample, resizeSample, sampleFrames, sampleCount, sampleGap, StackMemo, stackHere, unmarkSampled,
} from "./profile.js";
import { addrChunk, addrPage, auxIdx, Backing, copyBlock, fillBytes, mapIdx, pageAddr, Space, zeroBytes } from "./space.js";
import { getRoot, setRoot } from "./roots.js";
import { loadSnapshot, restoreSnapshot, restoreSnapshotInto, saveSnapshot, takeSnapshot } from "./snapshot.js";
import { gatherStats, HeapStats } from "./stats.js";
import {
  assertNotFreed, cacheBinOf, isFreed, K_HUGE, K_LARGE, K_SMALL, locArena, locate, locBin, locIdx, locPages, locRun, locSampled,
  locSClass,
} from "./locate.js";
import {
  cacheFill, cacheFlush, cacheFlushAll, cacheGc, GC_BYTES, GC_EVENT_MAX, GC_EVENT_MIN, giveRegion,
  cacheTakesLarge, largeBinBytes, largeCacheBin, TC_CAP, TC_LARGE, tcCount, tcRec,
} from "./tcache.js";

/** What a worker needs to join a heap: post it, then `Heap.attach(handle)`. Structured-cloneable. */
export interface HeapHandle {
  readonly backing: SharedArrayBuffer | WebAssembly.Memory;
  readonly base: number;
  /** Set by `heap.watch(worker)`: the slot a worker attaches with is reclaimed when it exits. */
  readonly tag?: number;
}

const WASM_PAGE = 65536;
/** What realloc's quick path says (quickRealloc); any other answer is a small class size. */
const enum Quick {
  LONG_WAY = 0,
  IN_PLACE = -1,
}
const MAX_ALIGNMENT = 2 ** 31;

/** DOUBLE_FREE for `bad` regions found free already while `where` was flushed. */
function lateDoubleFrees(bad: number, where: string): HeapError {
  return doubleFree(0, `${bad} region(s) were found freed twice while flushing ${where}`);
}

const NO_WORDS = new Int32Array(0);

/**
 * Calls of free(0) that prime free's slow-path call (Heap.primeFree): more than V8 needs before it
 * gives free a feedback vector (it waits until a function has run about 8 times its own bytecode:
 * --interrupt-budget-factor-for-feedback-allocation; 48 calls were enough in Node 20), once per
 * thread. Each call takes ~50 ns once optimized, a microsecond or so before.
 */
const FREE_PRIMING_CALLS = 128;
/** Whether this thread (this JavaScript realm's module instance) has primed Heap.free. */
let freePrimed = false;

export type { HeapOptions } from "./header.js";

/**
 * Whether a large run of `have` pages serves a realloc to `need` pages where it is: as many pages,
 * or fewer by at most an eighth (the room a growing run takes ahead: Heap.resizeLarge).
 */
function largeFits(need: number, have: number): boolean {
  return need <= have && need >= have - (have >>> 3);
}

/**
 * CORRUPTION for a region that a thread cache held and that lost its free mark: written after it
 * was freed. It is out of the cache now and stays allocated (leaked), not handed out.
 */
function writtenInCache(p: number, bin: number): HeapError {
  return corruption(`the free block at ${p} (class ${BIN_SIZE[bin]}) in this thread's cache lost its free mark:` +
    " written after free (use after free); left allocated, not handed out");
}

export class Heap {
  /** Structured-cloneable: post it to a worker, then `Heap.attach(handle)` there. */
  readonly handle: HeapHandle;
  /** This thread's slot in the heap (for reclaim()). */
  readonly slot: number;

  private readonly s: Space;
  // Copies of what the fast paths read from the Space, one load closer: its word view (kept
  // current through s.onRemap), the heap base in bytes and words, the chunk table's word index
  // and length (entries of chunks that do not exist yet are zero: CK_FREE).
  private m: Int32Array = NO_WORDS;
  private readonly hb: number = 0;
  private readonly hw: number = 0;
  private readonly ct: number = 0;
  private readonly maxChunks: number = 0;
  /** Word index of the cache block (its bin records) when the fast paths are on, else 0. */
  private tc = 0;
  /** Word index of this thread's cache block, or 0 (no cache: threadCache false, or detached). */
  private cache = 0;
  private readonly arena: number;
  /** The chunk table entry of this thread's arena's chunks (free tells local blocks by it). */
  private readonly arenaEntry: number = 0;
  private readonly debug: boolean = false;
  /** Slow-path bytes left before the next GC step (tcache.ts: GC_BYTES). */
  private gcCredit = GC_BYTES;
  private gcBin = 0;
  private detached = false;
  /** Whether the last large or huge allocation was known to be zero (calloc skips the memset). */
  private lastZero = false;
  // The size-class tables, as fields: in V8 a field load is cheaper than a read of an imported
  // binding (measured: 15 -> 11 ns per malloc+free pair). So is the function that computes a
  // request's class (sizeclass.ts: sizeToBin): a field, read in the fast paths.
  private readonly sizeToBin = sizeToBin;
  private readonly binDiv = BIN_DIV;
  private readonly binSize = BIN_SIZE;
  /** Heap profiles (profile.ts): the mean bytes between samples, 0 when profiling is off. */
  private readonly profMean: number = 0;
  /** Bytes of large and huge blocks this thread may still allocate before its next sample. */
  private profLeft = 0;
  /** Small allocations left before the next sample, per class, when there is no cache record. */
  private readonly profCount = new Int32Array(NBINS);
  private readonly profAlloc: ProfileAlloc | null = null;
  private readonly stackMemo = new StackMemo();
  /** Error.stackTraceLimit while a sample's stack is taken (profile.ts: sampleFrames). */
  private readonly sampleFrames: number = 0;

  private constructor(backing: Backing, base: number, tag = 0, adopt = -1) {
    this.handle = Object.freeze({ backing, base });
    const s = (this.s = new Space(backing, base));
    s.crashIn = testHooks.crashInAttach;
    const m = s.i32;
    if (s.bytes < base + L.CHUNK_SIZE || m[s.hdr + L.H_MAGIC] !== L.HEAP_MAGIC) {
      throw new TypeError("sabmalloc: this buffer holds no sabmalloc heap at base " + base);
    }
    if (m[s.hdr + L.H_VERSION] !== L.HEAP_VERSION) {
      throw new TypeError(`sabmalloc: heap layout version ${m[s.hdr + L.H_VERSION]}, expected ${L.HEAP_VERSION}`);
    }
    s.ct = s.hw + m[s.hdr + L.H_CHUNKTAB];
    s.ar = s.hw + m[s.hdr + L.H_ARENAS];
    s.sl = s.hw + m[s.hdr + L.H_SLOTS];
    s.gj = s.hw + m[s.hdr + L.H_GJOURNAL];
    this.m = s.i32;
    s.onRemap = () => {
      this.m = s.i32;
    };
    this.hb = s.hb;
    this.hw = s.hw;
    this.ct = s.ct;
    this.maxChunks = m[s.hdr + L.H_MAX_CHUNKS];
    s.canBlock = threadCanBlock(m);
    s.refresh();
    const flags = m[s.hdr + L.H_FLAGS];
    this.debug = (flags & L.HF_DEBUG) !== 0;
    s.onLockWait = (holder, ms) => onLockWait(s, holder, ms);
    if (adopt >= 0) {
      // A restored heap's slot, taken over with its arena, journal and cache (snapshot.ts).
      const sw = slotWord(s, adopt);
      this.slot = adopt;
      s.owner = adopt + 1;
      this.arena = m[sw + L.S_ARENA];
      this.arenaEntry = L.CK_ARENA | (this.arena << L.CK_ARG_SHIFT);
      m[sw + L.S_RECLAIMER] = 0;
      m[sw + L.S_RECLAIMING] = 0;
      Atomics.store(m, sw + L.S_STATE, L.SS_LIVE);
      s.jw = (m[sw + L.S_BLOCK] >>> 2);
      const tc = m[sw + L.S_TCACHE] >>> 2;
      this.cache = tc;
      if (!this.debug) this.tc = tc;
    } else {
      this.slot = claimSlot(s, tag);
      s.owner = this.slot + 1;
      this.arena = this.pickArena();
      this.arenaEntry = L.CK_ARENA | (this.arena << L.CK_ARG_SHIFT);
      m[slotWord(s, this.slot) + L.S_ARENA] = this.arena;
      this.makeBlock((flags & L.HF_THREAD_CACHE) !== 0);
    }
    if ((flags & L.HF_PROFILE) !== 0) {
      this.profMean = m[s.hdr + L.H_PROF_MEAN];
      const frames = m[s.hdr + L.H_PROF_FRAMES]; // 0: a heap from before maxFrames
      if (frames > 0 && frames <= MAX_MAX_FRAMES) this.stackMemo.maxFrames = frames;
      this.sampleFrames = sampleFrames(this.stackMemo.maxFrames);
      this.profLeft = sampleGap(this.profMean);
      for (let bin = 0; bin < NBINS; bin++) this.setSampleCount(bin, sampleCount(this.profMean, BIN_SIZE[bin]));
      this.profAlloc = { alloc: (n) => this.profileBlock(n), free: (p) => this.freeProfileBlock(p) };
      // This Heap's malloc counts allocations; Heap.malloc stays as it is (profiling off costs nothing).
      (this as unknown as { malloc: (size: number) => number }).malloc = this.mallocProfiled;
    }
    if (!freePrimed) this.primeFree();
  }

  /**
   * Makes free's call of freeSlow known to V8 before any caller's loop is optimized. V8 inlines free
   * into a hot loop; when it compiles that loop before any free took the slow path, the call has
   * no type feedback and becomes a deoptimization exit. The first free that misses the cache (a
   * full stack, another arena's block) then deoptimizes the loop, and a loop function that is
   * called seldom (one long call) is re-entered through on-stack replacement only, in code that
   * ran 2x slower. Measured, a larson-style loop in a fresh worker: 6 workers of 12 at 80 ms
   * (their loop left in baseline code, entered into OSR code) and 6 at 42 ms, for the rest of
   * their lives; primed, 12 of 12 at 40-48 ms. free(0) takes the slow path and returns.
   */
  private primeFree(): void {
    freePrimed = true;
    for (let i = 0; i < FREE_PRIMING_CALLS; i++) this.free(0);
    lockPrime(this.s.owner); // and the locks' contended paths, for the same reason (lock.ts)
  }

  /**
   * Snapshots: takes over live (or half-reclaimed) thread slot `slot` of a restored image for this
   * thread, with its block and cached blocks, instead of claiming a free one. Its thread is gone.
   */
  private static adoptSlot(handle: HeapHandle, slot: number): Heap {
    return new Heap(handle.backing, handle.base, 0, slot);
  }

  /** What snapshot.ts attaches a restorer with: attach, or adopt slot `adopt`. */
  private static restorer(this: void, handle: HeapHandle, adopt?: number): Heap {
    return adopt === undefined ? Heap.attach(handle) : Heap.adoptSlot(handle, adopt);
  }

  // ---- Making and joining heaps ------------------------------------------------------------------

  /** A new heap on a growable SharedArrayBuffer; this thread takes slot 0. */
  static create(options: HeapOptions = {}): Heap {
    const o = readOptions(withConf(options), 0); // SABMALLOC_CONF under the explicit options (conf.ts)
    const buf = new SharedArrayBuffer(o.initialChunks * L.CHUNK_SIZE, { maxByteLength: o.maxChunks * L.CHUNK_SIZE });
    writeHeader(buf, 0, o, 0);
    return statsAtExit(new Heap(buf, 0));
  }

  /**
   * A new heap inside a shared WebAssembly.Memory, from byte `base` (rounded up to a 64 KiB wasm
   * page; default: the memory's current end) up. Bytes below base are never touched.
   */
  static fromMemory(memory: WebAssembly.Memory, options: HeapOptions & { base?: number } = {}): Heap {
    if (!(memory instanceof WebAssembly.Memory) || !(memory.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError("sabmalloc: fromMemory needs a shared WebAssembly.Memory");
    }
    const rawBase = options.base ?? (memory.buffer as unknown as SharedArrayBuffer).byteLength;
    checkInteger("base", rawBase);
    const base = Math.ceil(rawBase / WASM_PAGE) * WASM_PAGE;
    const o = readOptions(withConf(options), base); // SABMALLOC_CONF under the explicit options (conf.ts)
    const need = base + o.initialChunks * L.CHUNK_SIZE;
    const have = (memory.buffer as unknown as SharedArrayBuffer).byteLength;
    if (need > have) {
      try {
        memory.grow(Math.ceil((need - have) / WASM_PAGE));
      } catch {
        throw new RangeError(`sabmalloc: the memory cannot grow to ${need} bytes (its maximum is lower)`);
      }
    }
    writeHeader(memory.buffer as unknown as SharedArrayBuffer, base, o, have);
    return statsAtExit(new Heap(memory, base));
  }

  /** Joins the heap of `handle` (from another thread's `heap.handle`), taking a free thread slot. */
  static attach(handle: HeapHandle): Heap {
    if (handle === null || typeof handle !== "object" || typeof handle.base !== "number" ||
        !(handle.backing instanceof SharedArrayBuffer || handle.backing instanceof WebAssembly.Memory)) {
      throw new TypeError("sabmalloc: attach needs a heap handle (heap.handle)");
    }
    const tag = handle.tag ?? 0;
    if (!Number.isInteger(tag) || tag < 0 || tag > 0x3fffffff) throw new TypeError("sabmalloc: a heap handle's tag is not one watch() made");
    return new Heap(handle.backing, handle.base, tag);
  }

  // ---- Snapshots and roots (snapshot.ts, roots.ts) ---------------------------------------------------

  /**
   * A new heap made from `bytes` (heap.snapshot()) on a new growable SharedArrayBuffer, at the saved
   * base: every block live in the snapshot is live at the same pointer with the same bytes. This
   * thread takes slot 0; the snapshot's threads are reclaimed (their cached blocks are free again).
   * `maxBytes` (default: as the saved heap) caps its growth. Bad bytes: HeapError BAD_SNAPSHOT.
   */
  static restore(bytes: Uint8Array, options?: { maxBytes?: number }): Heap {
    return statsAtExit(restoreSnapshot(bytes, options, Heap.restorer));
  }

  /** Like restore, into a shared WebAssembly.Memory at the saved base (grown to hold the heap). */
  static restoreInto(memory: WebAssembly.Memory, bytes: Uint8Array): Heap {
    return statsAtExit(restoreSnapshotInto(memory, bytes, Heap.restorer));
  }

  /** Node: restore from a file written by heap.save(path), read straight into the new buffer. */
  static async load(path: string, options?: { maxBytes?: number }): Promise<Heap> {
    return statsAtExit(await loadSnapshot(path, options, Heap.restorer));
  }

  /**
   * The heap as bytes: its header and every chunk in use, taken under all of its locks (blocks that
   * other threads write meanwhile are theirs to keep still). For Heap.restore / restoreInto.
   */
  snapshot(): Uint8Array {
    this.live();
    return takeSnapshot(this);
  }

  /** Node: writes snapshot() to a file, a chunk at a time (no second copy of the heap). */
  async save(path: string): Promise<void> {
    this.live();
    return saveSnapshot(this, path);
  }

  /** Keeps `ptr` (a live block, or 0 to remove) under `name` (1-12 bytes) in the heap's header. */
  setRoot(name: string, ptr: number): void {
    this.live();
    setRoot(this, name, ptr);
  }

  /** The pointer kept under `name` by setRoot (by any thread, before a snapshot too), or 0. */
  getRoot(name: string): number {
    this.live();
    return getRoot(this, name);
  }

  /** The buffer now backing the heap (a new object after a WebAssembly.Memory grows). */
  get buffer(): SharedArrayBuffer {
    return this.s.buffer();
  }

  // Views of the whole buffer for reading and writing blocks. Prefer these to `new Uint8Array(
  // heap.buffer)`: on a growable SharedArrayBuffer that makes a length-tracking view, which V8 reads
  // and writes ~20x slower. These have a fixed length and are remade when the heap has grown: take
  // them again after anything that may have grown the heap (a malloc, in any thread).

  /** A Uint8Array over the whole buffer as it is now. */
  get u8(): Uint8Array {
    this.s.refresh();
    return this.s.u8;
  }

  /** An Int32Array over the whole buffer as it is now (index = pointer / 4). */
  get i32(): Int32Array {
    this.s.refresh();
    return this.s.i32;
  }

  /** A Float64Array over the whole buffer as it is now (index = pointer / 8). */
  get f64(): Float64Array {
    this.s.refresh();
    return this.s.f64;
  }

  // ---- malloc --------------------------------------------------------------------------------------

  /** A block of at least `size` bytes, 8-aligned (16 when >= 16 bytes); 0 when the heap is full. */
  malloc(size: number): number {
    const tc = this.tc;
    if (tc !== 0 && size <= L.SMALL_MAX && (size >>> 0) === size) {
      // Word indices stay far below 2^31: `| 0` tells V8 so, and it drops the overflow checks.
      const bin = this.sizeToBin(size);
      const m = this.m;
      const r = (tc + bin * L.TCR_WORDS) | 0; // the bin's record (tcache.ts)
      const h = m[r];
      const p = m[h] >>> 0; // 0: the word below an empty stack
      // A cached region still carries its free mark (layout.ts; bin.ts: hasFreeMark, written out
      // here); one without it was written after its free: mallocSlow leaves it out. (The word's
      // line is about to be written anyway.)
      if (p !== 0 && ((m[p >>> 2] ^ p) | L.MARK_BITS) === L.FRESH_MARK) {
        m[r] = (h - 1) | 0;
        m[p >>> 2] = 0; // clear the free mark
        return p;
      }
    }
    // `>>> 0`: both paths then return a uint32 and V8 keeps the result in a register (a tagged
    // value here costs the caller a generic truthiness test and untagging: 6.4 -> 6.0 ns in a plain loop).
    return this.mallocSlow(size) >>> 0;
  }

  /**
   * Every malloc the fast path did not serve. One function on purpose, not a small dispatcher:
   * V8 never inlines a function of more than 460 bytes of bytecode, so this one stays out of
   * malloc even when large blocks have made it hot, and malloc stays small enough to be inlined
   * into its callers (measured: malloc(32)+free after a phase of 64 KiB blocks, 11.3 -> 8.8 ns).
   */
  private mallocSlow(size: number): number {
    // A large run of a cached length (16-64 KiB) from the thread cache: popped as a small region is,
    // with the cache's large bytes kept. Here, not in malloc, which must stay small enough to be
    // inlined into its callers; profiled heaps count large requests by bytes, so they go on below.
    const tc = this.tc;
    if (tc !== 0 && size > L.SMALL_MAX && size <= L.TC_LARGE_MAX * L.PAGE_SIZE && (size | 0) === size && this.profMean === 0) {
      const np = (size + L.PAGE_SIZE - 1) >>> L.PAGE_SHIFT; // 4 to 16 pages: a cached length
      const m = this.m;
      // tcRec(tc, largeCacheBin(np)), written out: V8 left those calls un-inlined in the slow paths
      // (measured: 64 KiB malloc+free 22 -> 33 ns with them).
      const r = (tc + (L.NBINS + np - L.TC_LARGE_MIN) * L.TCR_WORDS) | 0;
      const h = m[r];
      const p = m[h] >>> 0; // 0: the word below an empty stack
      if (p !== 0) {
        // In cachePop's order: cut short after the head moved, the run is lost (the one in flight).
        m[(tc + TC_LARGE) | 0] -= np << L.PAGE_SHIFT;
        m[r] = (h - 1) | 0;
        m[p >>> 2] = 0; // clear the free mark
        this.lastZero = false; // a used run: calloc zeroes it
        return p;
      }
    }
    try {
      this.live();
      checkInteger("size", size);
      const s = this.s;
      s.refresh();
      if (size <= SMALL_MAX) {
        // A small class: the cache (filled from the arena when empty), or the arena itself.
        this.tick(size);
        const bin = sizeToBin(size);
      if (this.profMean !== 0 && this.takeSmallSample(bin)) {
        // The stack is taken here, in this frame, not in a deeper one (profile.ts: stackHere).
        const limit = ErrorV8.stackTraceLimit;
        ErrorV8.stackTraceLimit = this.sampleFrames;
        const at = new Error();
        ErrorV8.stackTraceLimit = limit;
        return this.mallocSampled(bin, at);
      }
        let p: number;
        if (this.cache !== 0) {
          if (tcCount(s.i32, this.cache, bin) === 0 && cacheFill(s, this.cache, this.arena, bin) === 0) return 0;
          p = this.cachePop(bin);
          if (!hasFreeMark(s.i32, p)) throw writtenInCache(p, bin);
        } else {
          p = this.takeOne(bin);
          if (p === 0) return 0;
          this.giveBackIfCorrupt(bin, p);
        }
        if (this.debug) fillBytes(s, p, BIN_SIZE[bin], L.JUNK_ALLOC);
        s.i32[p >>> 2] = this.debug ? s.i32[(p >>> 2) + 1] : 0; // clear the free mark
        return p;
      }
      this.lastZero = false;
      const npages = Math.ceil(size / L.PAGE_SIZE);
    if (this.profMean !== 0 && this.takeSample(npages * L.PAGE_SIZE)) {
      const limit = ErrorV8.stackTraceLimit;
      ErrorV8.stackTraceLimit = this.sampleFrames;
      const at = new Error();
      ErrorV8.stackTraceLimit = limit;
      return this.sampled(npages > L.DATA_PAGES ? this.mallocHuge(npages, 1) : this.mallocLarge(npages, 1), npages, -1, at);
    }
      if (npages > L.DATA_PAGES) {
        this.tick(size);
        return this.mallocHuge(npages, 1);
      }
      const cb = largeCacheBin(npages);
      const cached = cb >= 0 && this.cache !== 0;
      // A hit in the cache counts as an event, not by its bytes: it touches no arena (tcache.ts).
      this.tick(cached && tcCount(s.i32, this.cache, cb) !== 0 ? 0 : size);
      if (cached && tcCount(s.i32, this.cache, cb) !== 0) { // the GC step may have emptied it
        const p = this.cachePop(cb);
        s.i32[p >>> 2] = 0; // clear the free mark
        return p;
      }
      return this.mallocLarge(npages, 1);
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  // ---- Heap profiles (profile.ts) ------------------------------------------------------------------

  /**
   * malloc with profiling on (the Heap's own malloc then): malloc's fast path, which also counts
   * down the allocations of the class left before its next sample, in the word of the bin's cache
   * record that the fast path reads anyway (L.TCR_SAMPLE); the malloc that reaches 0 goes to
   * mallocSlow, which takes the sample. A copy of malloc rather than a branch in it: with
   * profiling off, malloc does not even test for it. (Measured: a countdown in the record costs
   * ~0.7 ns a malloc+free pair; in a field of the Heap, or a typed array of its own, ~7 ns.)
   */
  private mallocProfiled(size: number): number {
    const tc = this.tc;
    if (tc !== 0 && size <= L.SMALL_MAX && (size >>> 0) === size) {
      const bin = this.sizeToBin(size);
      const m = this.m;
      const r = (tc + bin * L.TCR_WORDS) | 0;
      const left = (m[(r + L.TCR_SAMPLE) | 0] - 1) | 0;
      if (left > 0) {
        const h = m[r];
        const p = m[h] >>> 0;
        if (p !== 0) {
          m[(r + L.TCR_SAMPLE) | 0] = left;
          m[r] = (h - 1) | 0;
          m[p >>> 2] = 0;
          return p;
        }
      }
    }
    return this.mallocSlow(size) >>> 0;
  }

  /** Sets the small allocations of class `bin` left before its next sample. */
  private setSampleCount(bin: number, n: number): void {
    if (this.cache !== 0) this.s.i32[tcRec(this.cache, bin) + L.TCR_SAMPLE] = n;
    else this.profCount[bin] = n;
  }

  /**
   * Counts one small allocation of class `bin` that the fast path did not count: whether it is the
   * sample. Each class's allocations are sampled independently with probability
   * 1 - exp(-size / mean) (profile.ts: sampleCount).
   */
  private takeSmallSample(bin: number): boolean {
    const n = this.cache !== 0 ? this.s.i32[tcRec(this.cache, bin) + L.TCR_SAMPLE] : this.profCount[bin];
    const sampled = n <= 1;
    this.setSampleCount(bin, sampled ? sampleCount(this.profMean, BIN_SIZE[bin]) : n - 1);
    return sampled;
  }

  /**
   * Counts a large or huge block of `bytes` (usable size): whether the next sample point falls
   * inside it. A Poisson process over the bytes: each block is sampled with probability
   * 1 - exp(-bytes / mean), whatever came before.
   */
  private takeSample(bytes: number): boolean {
    if (this.profLeft > bytes) {
      this.profLeft -= bytes;
      return false;
    }
    this.profLeft = sampleGap(this.profMean);
    return true;
  }

  /** A sampled small request of class `bin`: a large run of its own, so its free takes the slow path. */
  private mallocSampled(bin: number, at: Error): number {
    return this.sampled(this.mallocLarge(Math.ceil(BIN_SIZE[bin] / L.PAGE_SIZE), 1), 0, bin, at);
  }

  /**
   * Records the sample of the new block `p` (0: none, out of memory): `npages` pages, or a small
   * block of class `bin` (>= 0), allocated at the stack in `at` (made by the caller: stackHere), or
   * here. Marks the block first: a thread stopped in between leaves a sampled block with no
   * sample, never a sample of a block that nobody will drop. Returns p.
   */
  private sampled(p: number, npages: number, bin: number, at?: Error): number {
    if (p === 0) return 0;
    const s = this.s;
    const huge = npages > L.DATA_PAGES;
    markSampled(s, p, huge, bin);
    recordSample(s, this.profAlloc!, p, bin >= 0 ? BIN_SIZE[bin] : npages * L.PAGE_SIZE, this.slot, captureStack(this.stackMemo, at ?? stackHere(this.sampleFrames)));
    return p;
  }

  /**
   * A block for the profile's own tables (profile lock held): never sampled, never charged, and
   * never through this thread's cache - a region the cache took ahead for it, or got back from it,
   * would serve a later malloc uncharged.
   */
  private profileBlock(size: number): number {
    const s = this.s;
    if (size > SMALL_MAX) {
      const npages = Math.ceil(size / L.PAGE_SIZE);
      return npages > L.DATA_PAGES ? this.mallocHuge(npages, 1) : this.mallocLarge(npages, 1);
    }
    const bin = sizeToBin(size);
    const p = this.takeOne(bin);
    if (p === 0) return 0;
    this.giveBackIfCorrupt(bin, p);
    s.i32[p >>> 2] = 0; // clear the free mark
    return p;
  }

  /**
   * One region of class `bin` straight from this thread's arena (no thread cache), or 0 when the
   * heap is full (tried again when kept empty runs went back meanwhile: arena.ts).
   */
  private takeOne(bin: number): number {
    const s = this.s;
    const scratch = arenaWord(s, this.arena) + L.A_SCRATCH;
    arenaLock(s, this.arena);
    const got = binTake(s, this.arena, bin, scratch, 1);
    const p = s.i32[scratch] >>> 0;
    arenaUnlock(s, this.arena);
    if (got !== 0) return p;
    throwIfTakenCorrupt(bin);
    return keptRetry(s) ? this.takeOne(bin) : 0;
  }

  /** Frees a block of profileBlock straight back to its arena. */
  private freeProfileBlock(ptr: number): void {
    const kind = locate(this.s, ptr, true);
    const s = this.s;
    if (kind === K_HUGE) return this.freeHuge(ptr);
    const a = locArena;
    arenaLock(s, a);
    if (kind === K_SMALL) {
      s.i32[ptr >>> 2] = L.FREE_MARK ^ ptr;
      giveRegion(s, a, locBin, ptr);
    } else {
      largeFree(s, a, locRun, locPages);
    }
    arenaUnlock(s, a);
  }

  /** Live sampled blocks of every thread, by call stack, scaled to estimates (profiling off: none). */
  profile(): HeapProfile {
    this.live();
    this.s.refresh();
    return readProfile(this.s);
  }

  /** Arena path: when binTake met written-over regions, returns the good one it took (`p`) and throws. */
  private giveBackIfCorrupt(bin: number, p: number): void {
    if (!takenCorrupt()) return;
    const s = this.s;
    arenaLock(s, this.arena);
    giveRegion(s, this.arena, bin, p); // p still carries its mark: it was never handed out
    arenaUnlock(s, this.arena);
    throwIfTakenCorrupt(bin);
  }

  /** Pops the top of the non-empty cache bin `bin`. */
  private cachePop(bin: number): number {
    const s = this.s;
    const m = s.i32;
    const r = tcRec(this.cache, bin);
    m[this.cache + TC_LARGE] -= largeBinBytes(bin);
    crashPoint(s);
    const h = m[r + L.TCR_HEAD];
    m[r + L.TCR_HEAD] = h - 1; // cut short after this, the block is lost: the one in flight
    crashPoint(s);
    return m[h] >>> 0;
  }

  /** Pushes freed block `ptr` on cache bin `bin` (flushing half of a full stack first), marked freed. */
  private cachePush(bin: number, ptr: number): void {
    const s = this.s;
    const r = tcRec(this.cache, bin);
    // A full stack keeps its newer half; the remote stack keeps nothing (this thread never reuses it).
    if (tcCount(s.i32, this.cache, bin) >= TC_CAP[bin]) this.flushBin(bin, bin === L.TC_REMOTE ? 0 : TC_CAP[bin] >> 1);
    const m = s.i32; // after a flush, which may have remade the views
    // In this order, as on the fast path: cut short anywhere, the block is lost (the one in
    // flight), never a stale word counted into the stack.
    m[ptr >>> 2] = L.FREE_MARK ^ ptr;
    crashPoint(s);
    const h = m[r + L.TCR_HEAD] + 1;
    m[h] = ptr;
    crashPoint(s);
    m[r + L.TCR_HEAD] = h;
    crashPoint(s);
    m[this.cache + TC_LARGE] += largeBinBytes(bin);
  }

  /** A large run of `npages` pages at a multiple of `align` pages (counted from address 0). */
  private mallocLarge(npages: number, align: number, chunkStart = false): number {
    const s = this.s;
    const a = this.arena;
    arenaLock(s, a);
    const extra = align - 1;
    let run = chunkStart ? runAllocChunkStart(s, a, npages) : runAlloc(s, a, npages + extra, L.PS_LARGE, 0);
    const zero = runZero;
    if (run !== 0 && extra > 0) {
      // Trim to the aligned start: the pages before and after go back to the arena.
      const lead = (align - ((pageAddr(s, run) / L.PAGE_SIZE) % align)) % align;
      if (lead > 0) runTrimHead(s, a, run, npages + extra, lead);
      run += lead;
      if (extra > lead) runShrink(s, a, run, npages + extra - lead, npages);
    }
    if (run !== 0) {
      const aw = arenaWord(s, a);
      s.f64[(aw + L.A_LARGE_NMALLOC) >>> 1]++;
      s.f64[(aw + L.A_LARGE_ALLOCATED) >>> 1] += npages * L.PAGE_SIZE;
    }
    arenaUnlock(s, a);
    // No room, but kept empty runs have gone back since: again. (No empty chunk for a run at a
    // chunk's start is no failure: the caller places it otherwise.)
    if (run === 0 && !chunkStart && keptRetry(s)) return this.mallocLarge(npages, align, chunkStart);
    this.lastZero = zero;
    return run === 0 ? 0 : pageAddr(s, run);
  }

  /** Whole chunks for `npages` pages, the first at a multiple of `align` bytes. */
  private mallocHuge(npages: number, align: number): number {
    const s = this.s;
    const n = hugeChunks(npages);
    if (n > s.i32[s.hdr + L.H_MAX_CHUNKS]) return 0;
    globalLock(s);
    const c = align <= L.CHUNK_SIZE && s.hb % align === 0 ? poolTake(s, n) : poolTakeAligned(s, n, align);
    if (c >= 0) {
      setHuge(s, c, n, npages);
      s.f64[(s.hdr + L.H_HUGE_NMALLOC) >>> 1]++;
      s.f64[(s.hdr + L.H_HUGE_ALLOCATED) >>> 1] += npages * L.PAGE_SIZE;
    }
    this.lastZero = poolTakeZero;
    globalUnlock(s);
    // No room, but arenas kept empty runs that have gone back since (chunks may have emptied): again.
    if (c < 0 && keptRetry(s)) return this.mallocHuge(npages, align);
    return c < 0 ? 0 : s.hb + c * L.CHUNK_SIZE;
  }

  /** Zero-filled `count * size` bytes; 0 when the heap is full or the product overflows. */
  calloc(count: number, size: number): number {
    this.live();
    checkInteger("count", count);
    checkInteger("size", size);
    const total = count * size;
    if (total > L.MAX_BUFFER_BYTES) return 0;
    const p = this.malloc(total);
    if (p === 0) return 0;
    // Fresh pages of large and huge blocks are zero already; small regions are always reused memory.
    if (total <= SMALL_MAX || !this.lastZero) zeroBytes(this.s, p, roundUp8(Math.max(total, 1)));
    return p;
  }

  /** A block of at least `size` bytes at a multiple of `alignment` (a power of two up to 2^31). */
  alignedAlloc(alignment: number, size: number): number {
    try {
      this.live();
      checkInteger("alignment", alignment);
      if (alignment === 0 || alignment > MAX_ALIGNMENT || (alignment & (alignment - 1)) !== 0) {
        throw new RangeError(`sabmalloc: alignment ${alignment} is not a power of two up to 2^31`);
      }
      checkInteger("size", size);
      if (alignment <= 8) return this.malloc(size);
      if (size <= SMALL_MAX && alignment <= L.PAGE_SIZE) {
        // A class whose size is a multiple of the alignment: its regions, in page-aligned runs, are.
        for (let bin = sizeToBin(size); bin < NBINS; bin++) {
          if (BIN_SIZE[bin] % alignment === 0) return this.mallocSlow(BIN_SIZE[bin]); // exactly that class
        }
      }
      this.s.refresh();
      this.lastZero = false;
      const npages = Math.max(Math.ceil(size / L.PAGE_SIZE), Math.ceil((SMALL_MAX + 1) / L.PAGE_SIZE));
      const alignPages = Math.max(1, alignment / L.PAGE_SIZE);
      if (this.s.hb % L.PAGE_SIZE === 0 && npages + alignPages - 1 <= L.DATA_PAGES) {
        const p = this.mallocLarge(npages, alignPages);
        return this.profMean !== 0 && p !== 0 && this.takeSample(npages * L.PAGE_SIZE) ? this.sampled(p, npages, -1) : p;
      }
      const hp = Math.max(npages, L.DATA_PAGES + 1);
      const p = this.mallocHuge(hp, alignment);
      return this.profMean !== 0 && p !== 0 && this.takeSample(hp * L.PAGE_SIZE) ? this.sampled(p, hp, -1) : p;
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  // ---- free ----------------------------------------------------------------------------------------

  /** Frees a block from malloc, calloc, realloc or alignedAlloc, made by any thread. free(0): no-op. */
  free(ptr: number): void {
    const tc = this.tc;
    // Offsets modulo 2^32 (`| 0`, read back with >>>): pointers may lie above 2^31.
    const off = (ptr - this.hb) | 0;
    const c = off >>> L.CHUNK_SHIFT;
    if (tc !== 0 && (ptr >>> 0) === ptr && c < this.maxChunks) {
      const m = this.m;
      // A chunk that another thread has just made may lie past our view: its page info reads
      // as undefined, not PS_SMALL, and freeSlow catches up.
      const e = m[(this.ct + c) | 0];
      if ((e & L.CK_MASK) === L.CK_ARENA) {
        const chunkWords = (this.hw + (c << (L.CHUNK_SHIFT - 2))) | 0;
        const page = (off >>> L.PAGE_SHIFT) & (L.CHUNK_PAGES - 1);
        const info = m[(chunkWords + page * L.MAP_ENTRY_WORDS) | 0];
        if ((info & L.PI_STATE_MASK) === L.PS_SMALL) {
          const bin = (info >>> L.PI_BIN_SHIFT) & L.PI_BIN_MASK;
          const pageInRun = (info >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK;
          const runOff = ((off & (L.PAGE_SIZE - 1)) + pageInRun * L.PAGE_SIZE) | 0;
          const div = this.binDiv[bin];
          const q = Math.imul(runOff, div); // as uint32 below div: a region boundary
          // A region boundary (sizeclass.ts: isRegionStart; compared as int32, which V8 keeps
          // in integer registers), and live: every free region, cached or in its run, carries
          // a mark (layout.ts), so no bitmap read. With the mark, freeSlow looks closer.
          if (q >= 0 && q < div && ((m[ptr >>> 2] ^ ptr) | L.MARK_BITS) !== L.FRESH_MARK) {
            // The bin's record (tcache.ts); a region of another arena goes on the remote stack.
            const r = (tc + (e === this.arenaEntry ? bin : L.TC_REMOTE) * L.TCR_WORDS) | 0;
            const h = m[r];
            if (h < m[(r + L.TCR_LIMIT) | 0]) {
              // Mark first: a thread stopped between these writes leaks the region at worst,
              // it never leaves an unmarked region in the cache.
              m[ptr >>> 2] = L.FREE_MARK ^ ptr;
              m[(h + 1) | 0] = ptr;
              m[r] = (h + 1) | 0;
              return;
            }
          }
        }
      }
    }
    this.freeSlow(ptr);
  }

  /**
   * free's fast path for a large run of a cached length (4-16 pages): into the thread cache, when
   * its stack has room and the cache its budget (tcache.ts: cacheTakesLarge), with free's checks -
   * the first page of a large run, not sampled, not freed already (no free mark). False when it
   * takes another path. (measured: 64 KiB malloc+free through locate() and cachePush, 41 ns.)
   */
  private freeLargeCached(ptr: number): boolean {
    const tc = this.tc;
    const info = this.arenaPageInfo(ptr);
    if (tc === 0 || info < 0 || ((ptr - this.hb) & (L.PAGE_SIZE - 1)) !== 0) return false;
    if ((info & (L.PI_STATE_MASK | L.PI_HEAD | L.PI_SAMPLED)) !== (L.PS_LARGE | L.PI_HEAD)) return false;
    const np = (info >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK;
    const m = this.m;
    if (np < L.TC_LARGE_MIN || np > L.TC_LARGE_MAX || ((m[ptr >>> 2] ^ ptr) | L.MARK_BITS) === L.FRESH_MARK) return false;
    const bytes = np << L.PAGE_SHIFT;
    const r = (tc + (L.NBINS + np - L.TC_LARGE_MIN) * L.TCR_WORDS) | 0; // tcRec(tc, largeCacheBin(np)), written out as in mallocSlow
    const h = m[r];
    if (h >= m[(r + L.TCR_LIMIT) | 0] || m[(tc + TC_LARGE) | 0] + bytes > L.TC_LARGE_TOTAL) return false;
    // In free's order: mark, stack word, head (cut short anywhere, at most this run is lost).
    m[ptr >>> 2] = L.FREE_MARK ^ ptr;
    m[(h + 1) | 0] = ptr;
    m[r] = (h + 1) | 0;
    m[(tc + TC_LARGE) | 0] += bytes;
    return true;
  }

  /**
   * The page info of the page holding `ptr`, read as free's fast path reads it (the chunk table,
   * then the chunk's page map, no lock), when `ptr` is a uint32 in an arena chunk this thread's
   * view holds; else -1 (a page info is never negative: bit 31 is unused). For the quick paths
   * beside free's (freeLargeCached, quickRealloc); free itself keeps its own copy inline.
   */
  private arenaPageInfo(ptr: number): number {
    const off = (ptr - this.hb) | 0;
    const c = off >>> L.CHUNK_SHIFT;
    if ((ptr >>> 0) !== ptr || c >= this.maxChunks) return -1;
    const m = this.m;
    if ((m[(this.ct + c) | 0] & L.CK_MASK) !== L.CK_ARENA) return -1;
    const page = (off >>> L.PAGE_SHIFT) & (L.CHUNK_PAGES - 1);
    return m[(this.hw + (c << (L.CHUNK_SHIFT - 2)) + page * L.MAP_ENTRY_WORDS) | 0];
  }

  /**
   * Every free the fast path did not take. One function on purpose, as mallocSlow: more than 460
   * bytes of bytecode, which V8 never inlines. Split into small helpers, it was inlined into free,
   * and free into a caller then spent the caller's inlining budget on slow code (measured: the
   * benchmark's batch of 1,000 blocks, LIFO, 31.6 -> 23.2 ns per pair).
   */
  private freeSlow(ptr: number): void {
    if (this.freeLargeCached(ptr)) return;
    try {
      this.live();
      if (ptr === 0) return;
      const kind = locate(this.s, ptr, true);
      const s = this.s;
      if (locSampled !== 0) {
        // A sampled block (profile.ts): its sample goes, then it is freed as any other.
        dropSample(s, ptr);
        unmarkSampled(s, ptr, kind === K_HUGE, locArena);
      }
      let bytes = this.sizeOfLocated(kind);
      if (kind === K_SMALL) {
        const bin = locBin;
        assertNotFreed(this.s, this.cache, this.slot, ptr, bin);
        if (this.debug) {
          fillBytes(s, ptr, BIN_SIZE[bin], L.JUNK_FREE);
          this.checkRunCheap(ptr);
        }
        if (this.cache !== 0) {
          this.cachePush(locArena === this.arena ? bin : L.TC_REMOTE, ptr);
        } else {
          s.i32[ptr >>> 2] = L.FREE_MARK ^ ptr;
          const a = locArena;
          arenaLock(s, a);
          const ok = giveRegion(s, a, bin, ptr);
          arenaUnlock(s, a);
          if (!ok) throw doubleFree(ptr, "was freed already (its region is free in its run)");
        }
      } else if (kind === K_LARGE) {
        const cb = largeCacheBin(locPages);
        // A run of a cached length may sit in a thread cache (this one's or another's, which took
        // it within its budget): its page info still says "large run", so the mark tells.
        if (cb >= 0) assertNotFreed(this.s, this.cache, this.slot, ptr, cb);
        if (cb >= 0 && this.cache !== 0 && cacheTakesLarge(s.i32, this.cache, locPages)) {
          if (this.debug) fillBytes(s, ptr, locPages * L.PAGE_SIZE, L.JUNK_FREE);
          this.cachePush(cb, ptr);
          bytes = 0; // a large run that goes into the cache counts as an event (tcache.ts)
        } else {
          const a = locArena;
          arenaLock(s, a);
          // Re-read under the lock: another thread may have freed this run since locate() looked.
          const info = pageInfo(s, locRun);
          if ((info & L.PI_STATE_MASK) !== L.PS_LARGE || (info & L.PI_HEAD) === 0) {
            arenaUnlock(s, a);
            throw doubleFree(pageAddr(s, locRun), "was freed already");
          }
          if (this.debug) fillBytes(s, pageAddr(s, locRun), locPages * L.PAGE_SIZE, L.JUNK_FREE);
          largeFree(s, a, locRun, locPages);
          arenaUnlock(s, a);
        }
      } else {
        this.freeHuge(ptr);
      }
      this.tick(bytes); // only after a free that happened: a rejected pointer leaves the cache as it was
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  private freeHuge(ptr: number): void {
    const s = this.s;
    if (this.freeInset(ptr)) return;
    globalLock(s);
    const c = addrChunk(s, ptr);
    const e = chunkEntry(s, c);
    if (chunkKind(e) !== L.CK_HUGE || hugeAddr(s, c, e) !== ptr) {
      globalUnlock(s);
      throw doubleFree(ptr, "was freed already");
    }
    const npages = chunkArg(e);
    if (this.debug) fillBytes(s, ptr, npages * L.PAGE_SIZE, L.JUNK_FREE); // before another thread can take it
    poolGive(s, c, hugeSpan(e));
    s.f64[(s.hdr + L.H_HUGE_NFREE) >>> 1]++;
    s.f64[(s.hdr + L.H_HUGE_ALLOCATED) >>> 1] -= npages * L.PAGE_SIZE;
    globalUnlock(s);
  }

  /**
   * Frees an inset huge block (a large run made huge in place) whose first chunk then becomes this
   * thread's arena's spare (arena.ts: insetToSpare). False when it is not one or the arena has an
   * empty spare: the usual free, which also tells a double free.
   */
  private freeInset(ptr: number): boolean {
    const s = this.s;
    const c = addrChunk(s, ptr);
    if (c <= 0 || c >= s.nchunks || (chunkEntry(s, c) & L.CK_INSET) === 0) return false; // a hint: checked again under the lock
    const a = this.arena;
    arenaLock(s, a);
    const npages = insetToSpare(s, a, ptr, this.debug);
    arenaUnlock(s, a);
    return npages !== 0;
  }

  // ---- realloc, usableSize ---------------------------------------------------------------------------

  /**
   * Resizes the block at `ptr`, in place when its size class or page run allows, else by moving it.
   * realloc(0, n) = malloc(n); realloc(p, 0) frees p and returns 0. On failure returns 0 and p stays.
   */
  realloc(ptr: number, size: number): number {
    const quick = this.quickRealloc(ptr, size);
    if (quick === Quick.IN_PLACE) return ptr;
    if (quick !== Quick.LONG_WAY) {
      // A live small region of class size `quick` going to another small class (checked as free
      // checks it): malloc, copy, free, each on its fast path - no locate(), no lock (measured:
      // realloc by doubling 8 B -> 8 KiB, 137 -> 91 ns a step, best of 15 runs each).
      const old = quick;
      const q = this.malloc(size);
      if (q !== 0) {
        copyBlock(this.s, q, ptr, old < size ? old : size);
        this.free(ptr);
        return q;
      }
    }
    try {
      this.live();
      checkInteger("size", size);
      if (ptr === 0) return this.malloc(size);
      const kind = locate(this.s, ptr, true);
      assertNotFreed(this.s, this.cache, this.slot, ptr, cacheBinOf(kind));
      if (size === 0) {
        this.free(ptr);
        return 0;
      }
      const old = this.sizeOfLocated(kind);
      // A sampled small block (profile.ts: a page run of its own) stays in place only when it keeps
      // its class, else it moves and its free drops its sample. A sampled large run or huge block
      // is resized in place like any other: it keeps its mark, and its sample the new size.
      const sampled = locSampled !== 0;
      if (sampled && locSClass >= 0) {
        if (size <= SMALL_MAX && sizeToBin(size) === locSClass) return ptr;
        return this.reallocMove(ptr, size, old);
      }
      if (kind === K_SMALL && size <= SMALL_MAX && sizeToBin(size) === locBin) return ptr;
      const npages = Math.ceil(size / L.PAGE_SIZE);
      const before = locPages;
      // A small block growing into a large run, or a run of chunk 0 growing past GROW_OUT_PAGES,
      // moves to an empty chunk's start, from where it grows in place and becomes huge in place.
      const growOut = kind === K_SMALL ||
        (kind === K_LARGE && npages > L.GROW_OUT_PAGES && npages > locPages && !sampled && addrChunk(this.s, ptr) === 0);
      if (growOut && size > SMALL_MAX && npages <= L.DATA_PAGES) {
        const q = this.reallocToChunkStart(ptr, npages, old);
        if (q !== 0) return q;
      }
      if (kind === K_LARGE && size > SMALL_MAX && npages <= L.DATA_PAGES) {
        const got = this.resizeLarge(npages);
        if (got !== 0) return this.resized(ptr, got, before, sampled);
      }
      if (kind === K_HUGE && npages > L.DATA_PAGES && this.resizeHuge(ptr, npages, sampled)) return this.resized(ptr, npages, before, sampled);
      if (kind === K_LARGE && npages > L.DATA_PAGES && !sampled && this.promoteLarge(npages)) return this.resized(ptr, npages, before, false);
      return this.reallocMove(ptr, size, old);
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /**
   * realloc's quick path, with free's checks (an arena chunk, the start of a region or run, not
   * freed) and no lock. Quick.IN_PLACE when `ptr` is a live small region whose class also serves
   * `size`, or a live large run of as many pages as `size` needs; the region's class size when it
   * is a live small region and `size` another small class (realloc moves it on the fast paths);
   * else Quick.LONG_WAY. (measured: +1..128 B growth steps, most of them within a class, through
   * locate(): 55 ns a step.)
   */
  private quickRealloc(ptr: number, size: number): number {
    if (this.tc === 0 || size <= 0 || (size | 0) !== size) return Quick.LONG_WAY;
    const info = this.arenaPageInfo(ptr);
    if (info < 0 || ((this.m[ptr >>> 2] ^ ptr) | L.MARK_BITS) === L.FRESH_MARK) return Quick.LONG_WAY; // freed? the long way tells
    const off = (ptr - this.hb) | 0;
    if ((info & L.PI_STATE_MASK) === L.PS_SMALL) {
      if (size > L.SMALL_MAX) return Quick.LONG_WAY;
      const bin = (info >>> L.PI_BIN_SHIFT) & L.PI_BIN_MASK;
      const runOff = ((off & (L.PAGE_SIZE - 1)) + ((info >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK) * L.PAGE_SIZE) | 0;
      const q = Math.imul(runOff, this.binDiv[bin]);
      if (!(q >= 0 && q < this.binDiv[bin])) return Quick.LONG_WAY;
      return this.sizeToBin(size) === bin ? Quick.IN_PLACE : this.binSize[bin];
    }
    // A large run's first page, sampled or not, but not a sampled small block (its run serves its
    // class only). Keeping its pages, it keeps its usable size: nothing for a profile to count or
    // to change in its sample.
    return (info & (L.PI_STATE_MASK | L.PI_HEAD | (L.PI_SCLASS_MASK << L.PI_SCLASS_SHIFT))) === (L.PS_LARGE | L.PI_HEAD) &&
      (off & (L.PAGE_SIZE - 1)) === 0 && size > L.SMALL_MAX &&
      largeFits((size + L.PAGE_SIZE - 1) >>> L.PAGE_SHIFT, (info >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK) ? Quick.IN_PLACE : Quick.LONG_WAY;
  }

  /**
   * Profiling, for a block resized in place from `before` to `npages` pages: a sampled one keeps its
   * sample, at the new size; another counts the pages it grew by, which may take the sample. The
   * byte process then falls on every byte the block has had once, so that a block grown to u bytes
   * is sampled with probability 1 - exp(-u / mean), as if allocated at u at once (counted at its
   * whole new size, a block grown by small steps would be sampled at nearly every step of its
   * life: measured, realloc by +1..128 B up to 1 MiB, 500x slower than unprofiled).
   */
  private resized(ptr: number, npages: number, before: number, sampled: boolean): number {
    if (this.profMean === 0) return ptr;
    if (sampled) {
      resizeSample(this.s, ptr, npages * L.PAGE_SIZE);
      return ptr;
    }
    return npages > before && this.takeSample((npages - before) * L.PAGE_SIZE) ? this.sampled(ptr, npages, -1) : ptr;
  }

  /**
   * realloc of a small block to a large size, or of a large run in chunk 0 growing past
   * GROW_OUT_PAGES: moves it to the start of an empty chunk (arena.ts: runAllocChunkStart), from
   * where it grows in place to a whole chunk and then becomes huge without moving (promoteLarge).
   * Chunk 0 holds the heap header and can never be a huge block's, so a block growing there would
   * be copied whole at that step: here it is copied once while it is small (14 KiB, or for a run of
   * chunk 0 64 KiB, at most). It takes a new chunk only while its arena has little free space
   * (runAllocChunkStart), so programs growing many blocks one after the other do not get a chunk
   * each. Not a sampled run, which never becomes huge in place. Returns 0 when no chunk is to be
   * had (the caller goes on as before: in place, or moved anywhere).
   */
  private reallocToChunkStart(ptr: number, npages: number, old: number): number {
    let q = this.mallocLarge(npages, 1, true);
    if (q === 0) return 0;
    if (this.profMean !== 0 && this.takeSample(npages * L.PAGE_SIZE)) q = this.sampled(q, npages, -1);
    copyBlock(this.s, q, ptr, old);
    this.free(ptr);
    return q;
  }

  /** realloc by malloc, copy, free. */
  private reallocMove(ptr: number, size: number, old: number): number {
    const q = this.malloc(size);
    if (q === 0) return 0;
    copyBlock(this.s, q, ptr, Math.min(old, size));
    this.free(ptr);
    return q;
  }

  /**
   * Resizes the located large run in place (shrink, or grow into free pages after it), keeping a
   * sampled run's marks (arena.ts: RUN_MARKS). Returns its pages now (it may take more than asked),
   * or 0 when it cannot.
   */
  private resizeLarge(npages: number): number {
    const s = this.s;
    const a = locArena;
    const have = locPages;
    if (largeFits(npages, have)) return have;
    arenaLock(s, a);
    let got = npages;
    let ok = true;
    if (npages < have) {
      // Debug: the pages given up are freed memory, junk like any freed run (before another
      // thread can take them: under the lock).
      if (this.debug) junkPages(s, locRun + npages, have - npages);
      runShrink(s, a, locRun, have, npages);
    } else {
      // Growing, it takes an eighth more when the pages are there: a block grown step by step
      // then takes the lock once per 1/8 of growth, not once per page (measured: realloc by
      // +1..128 B steps up to 1 MiB, 49.8 -> 38.8 ns a step in one A/B run).
      got = Math.min(npages + (npages >>> 3), L.DATA_PAGES);
      ok = got > npages && runGrow(s, a, locRun, have, got);
      if (!ok) {
        got = npages;
        ok = runGrow(s, a, locRun, have, npages);
      }
    }
    if (ok) s.f64[(arenaWord(s, a) + L.A_LARGE_ALLOCATED) >>> 1] += (got - have) * L.PAGE_SIZE;
    arenaUnlock(s, a);
    return ok ? got : 0;
  }

  /**
   * Makes the located large run a huge block of `npages` pages in place, when it has its chunk to
   * itself and the chunks after it are unused (arena.ts: runToHuge): realloc growing a block past
   * the largest large run then copies nothing (measured: the step 512 KiB -> 1 MiB, 53-64 -> 5-10 us).
   * Not a sampled run: its sample mark is in its page info, which the huge block would not keep.
   */
  private promoteLarge(npages: number): boolean {
    const s = this.s;
    const a = locArena;
    arenaLock(s, a);
    const ok = runToHuge(s, a, locRun, locPages, npages);
    arenaUnlock(s, a);
    return ok;
  }

  /** Resizes the located huge block in place when its chunks (or free ones after them) allow. */
  private resizeHuge(ptr: number, npages: number, sampled: boolean): boolean {
    const s = this.s;
    const c = addrChunk(s, ptr);
    globalLock(s);
    const e = chunkEntry(s, c);
    if (this.debug && npages < locPages) junkPages(s, addrPage(s, ptr) + npages, locPages - npages);
    const ok = hugeResize(s, c, hugeSpan(e, locPages), hugeSpan(e, npages));
    if (ok) {
      setHuge(s, c, hugeSpan(e, npages), npages, e & L.CK_INSET);
      if (sampled) gset(s, s.ct + c, chunkEntry(s, c) | L.CK_SAMPLED); // keeps its mark, in the same section
      s.f64[(s.hdr + L.H_HUGE_ALLOCATED) >>> 1] += (npages - locPages) * L.PAGE_SIZE;
    }
    globalUnlock(s);
    return ok;
  }

  /** Bytes usable in the block at `ptr` (>= what was asked for); usableSize(0) = 0. */
  usableSize(ptr: number): number {
    this.live();
    if (ptr === 0) return 0;
    const kind = locate(this.s, ptr, false);
    if (isFreed(this.s, this.cache, this.slot, ptr, cacheBinOf(kind))) throw invalidPointer(ptr, "was freed");
    return this.sizeOfLocated(kind);
  }

  private sizeOfLocated(kind: number): number {
    if (locSClass >= 0) return BIN_SIZE[locSClass]; // a sampled small block (profile.ts)
    return kind === K_SMALL ? BIN_SIZE[locBin] : locPages * L.PAGE_SIZE;
  }

  // ---- Thread cache upkeep --------------------------------------------------------------------------

  /** Counts a slow-path event of `bytes` towards the next GC step (tcache.ts: GC_BYTES). */
  private tick(bytes: number): void {
    this.gcCredit -= bytes < GC_EVENT_MIN ? GC_EVENT_MIN : bytes > GC_EVENT_MAX ? GC_EVENT_MAX : bytes;
    if (this.gcCredit <= 0) this.gcStep();
  }

  private gcStep(): void {
    this.gcCredit = GC_BYTES;
    if (this.cache === 0) return;
    this.s.refresh();
    const bad = cacheGc(this.s, this.cache, this.gcBin);
    this.gcBin = this.gcBin + 1 === L.TC_NBINS ? 0 : this.gcBin + 1;
    if (bad > 0) throw lateDoubleFrees(bad, "this thread's cache");
  }

  private flushBin(bin: number, keep: number): void {
    this.s.refresh();
    const bad = cacheFlush(this.s, this.cache, bin, keep);
    if (bad > 0) throw lateDoubleFrees(bad, "this thread's cache");
  }

  /** Returns every region in this thread's cache to its arena. */
  flush(): void {
    try {
      this.live();
      if (this.cache === 0) return;
      this.s.refresh();
      const bad = cacheFlushAll(this.s, this.cache);
      if (bad > 0) throw lateDoubleFrees(bad, "this thread's cache");
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /**
   * Gives back the empty small runs that the arenas keep for their classes (HeapOptions.keepEmptyRuns),
   * in every arena, to its free pages, where any size can use them; a chunk left empty goes back to
   * the pool (beyond each arena's one spare). Returns the bytes given back. Arenas give their kept
   * runs back by themselves when they need pages and when the heap has had to grow: trim() is for
   * a program that wants them back now, say before a phase of large blocks or a snapshot. This
   * thread's cache keeps its blocks (flush() gives those back first).
   */
  trim(): number {
    try {
      this.live();
      this.s.refresh();
      return keptGiveBackAll(this.s, true) * L.PAGE_SIZE;
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /** Flushes, gives up this thread's slot; every later call on this Heap throws DETACHED. */
  detach(): void {
    this.live();
    const s = this.s;
    s.refresh();
    let bad = 0;
    try {
      if (this.cache !== 0) bad = cacheFlushAll(s, this.cache);
      releaseSlot(s, this.slot);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.detached = true;
    this.tc = 0;
    this.cache = 0;
    if (bad > 0) throw lateDoubleFrees(bad, "this thread's cache");
  }

  /**
   * Cleans up after the thread in `slot`, which exited or was terminated without detach(): undoes
   * what it was doing under a lock (a malloc or free cut short anywhere), returns its cache, frees
   * the slot. The caller vouches that the thread is gone. A free slot: nothing to do.
   */
  reclaim(slot: number): void {
    this.live();
    const s = this.s;
    checkInteger("slot", slot);
    if (slot >= s.i32[s.hdr + L.H_NSLOTS]) throw new RangeError(`sabmalloc: no thread slot ${slot}`);
    if (slot === this.slot) throw new RangeError("sabmalloc: reclaim() of this thread's own slot; use detach()");
    s.refresh();
    let bad: number;
    try {
      bad = reclaimSlot(s, slot, this.slot);
    } catch (e) {
      this.abort();
      throw e;
    }
    if (bad > 0) throw lateDoubleFrees(bad, `slot ${slot}'s cache`);
  }

  /**
   * Watches a worker (a Node `Worker` or a browser `Worker`) that will attach to this heap: returns
   * the handle to post it (use it instead of `heap.handle`), and reclaims the worker's slot when it
   * is gone - Node: on its 'exit' event (terminate(), an uncaught error, process.exit() in the
   * worker); a browser: 3 s after `worker.terminate()` (slots.ts: TERMINATE_GRACE_MS). A thread of
   * this realm blocked on a lock that the worker held repairs the lock itself 3 s after
   * terminate(), without waiting for the event loop. A worker that detaches leaves nothing to do.
   */
  watch(worker: WatchedWorker): HeapHandle {
    this.live();
    if (worker === null || typeof worker !== "object" || typeof worker.terminate !== "function") {
      throw new TypeError("sabmalloc: watch() needs a Worker");
    }
    const tag = watchWorker(this.s, worker, (t) => this.reclaimTag(t));
    return Object.freeze({ backing: this.handle.backing, base: this.handle.base, tag });
  }

  /** Reclaims every slot attached with `tag` (watch()); a detached Heap does nothing. */
  private reclaimTag(tag: number): void {
    if (this.detached) return;
    for (const k of slotsOfTag(this.s, tag)) if (k !== this.slot) this.reclaim(k);
  }

  /**
   * After an exception thrown inside a critical section: undo it, release its locks (repair.ts:
   * abortSections). A simulated death (a test's crash point) leaves everything to reclaim().
   */
  private abort(): void {
    const s = this.s;
    if (s.dead) {
      this.detached = true;
      this.tc = 0;
      this.cache = 0;
      return;
    }
    abortSections(s);
  }

  // ---- Slots, arenas, caches -----------------------------------------------------------------------

  /** The arena with the fewest threads (jemalloc's choice for a new thread). */
  private pickArena(): number {
    const s = this.s;
    const m = s.i32;
    const narenas = m[s.hdr + L.H_NARENAS];
    for (;;) {
      let best = 0;
      let fewest = Infinity;
      for (let a = 0; a < narenas; a++) {
        const t = Atomics.load(m, arenaWord(s, a) + L.A_NTHREADS);
        if (t < fewest) {
          fewest = t;
          best = a;
        }
      }
      // Threads attaching at the same moment all see the same counts: only one of them may take
      // the emptiest arena on what it saw; the others look again.
      const w = arenaWord(s, best) + L.A_NTHREADS;
      if (Atomics.compareExchange(m, w, fewest, fewest + 1) === fewest) return best;
    }
  }

  /** Carves this thread's block: its journal, and its cache when the heap has thread caches. */
  private makeBlock(withCache: boolean): void {
    const s = this.s;
    let block = 0;
    try {
      block = makeBlock(s, this.slot, this.arena, withCache);
    } catch (e) {
      this.abort();
      if (!s.dead) releaseSlot(s, this.slot);
      throw e;
    }
    if (block === 0) {
      releaseSlot(s, this.slot);
      throw new RangeError("sabmalloc: the heap is full: no room for this thread's block");
    }
    if (!withCache) return;
    const tw = (block >>> 2) + L.J_WORDS;
    this.cache = tw;
    if (!this.debug) this.tc = tw;
  }

  private live(): void {
    if (this.detached) throw new HeapError("DETACHED", "this Heap was detached from its heap");
  }

  // ---- Debug ----------------------------------------------------------------------------------------

  /**
   * Cheap checks of the run around small region `ptr` (debug mode, on every free, after locate()):
   * its first page heads a run of its class, its free count is in range and matches its bitmap, and
   * the region lies inside the run.
   */
  private checkRunCheap(ptr: number): void {
    const s = this.s;
    const run = locRun;
    const bin = locBin;
    const where = `region ${ptr}: run at ${pageAddr(s, run)} (class ${BIN_SIZE[bin]})`;
    const head = pageInfo(s, run);
    if ((head & L.PI_HEAD) === 0 || infoBin(head) !== bin) {
      throw corruption(`${where}: first page info ${head} does not head a run of this class`);
    }
    // The count and the bitmap change under the arena's lock: read them under it.
    arenaLock(s, locArena);
    const nfree = s.i32[mapIdx(s, run) + L.MAP_NFREE];
    const counted = bitmapCount(s.i32, auxIdx(s, run), BIN_BITMAP_WORDS[bin]);
    arenaUnlock(s, locArena);
    if (nfree < 0 || nfree >= BIN_NREGS[bin] || nfree !== counted) {
      throw corruption(`${where}: free count ${nfree}, bitmap holds ${counted} free of ${BIN_NREGS[bin]}`);
    }
    if (locIdx >= BIN_NREGS[bin]) throw corruption(`${where}: region index ${locIdx} past the run's end`);
  }

  // ---- Inspection -----------------------------------------------------------------------------------

  /** Counters of the whole heap, jemalloc's names where they exist. */
  stats(): HeapStats {
    this.live();
    this.s.refresh();
    return gatherStats(this.s);
  }

  /** Walks all metadata; throws HeapError CORRUPTION at the first inconsistency. */
  check(): void {
    this.live();
    this.s.refresh();
    checkHeap(this.s, this.cache);
  }
}

// ---- Helpers ----------------------------------------------------------------------------------------

function roundUp8(n: number): number {
  return Math.ceil(n / 8) * 8;
}


/** Debug: fills `n` pages from global page `gpage` with the freed-memory junk byte. */
function junkPages(s: Space, gpage: number, n: number): void {
  fillBytes(s, pageAddr(s, gpage), n * L.PAGE_SIZE, L.JUNK_FREE);
}
