// profile: sampled heap profiles - which JavaScript call sites hold the heap's live bytes
// (jemalloc's prof / pprof's heap profiles, by bytes allocated, with an exponential sampling gap).
//
// Sampling. Each thread samples the bytes it allocates as a Poisson process of mean `sampleBytes`
// (exponential gaps between sample points), so that a block of usable size u is sampled with
// probability 1 - exp(-u / mean) whatever happened before it; a sample then stands for
// 1 / (1 - exp(-u / mean)) blocks (pprof's scaling), and the estimates are unbiased. Counting:
//
//   small classes  a countdown per class of the allocations left before the next sampled one
//                  (sampleCount: geometric, from the same exponential gap), kept in the spare word
//                  of the class's thread-cache record (L.TCR_SAMPLE). A profiled heap's malloc is
//                  mallocProfiled, a copy of malloc's fast path that also decrements it; at 0 the
//                  call falls to mallocSlow, which takes the sample. Heap.malloc itself is
//                  unchanged: profiling off costs nothing.
//   large, huge    a byte countdown in the Heap object, on the slow paths that serve them
//
// Every allocation is counted, also one served by a region this thread freed into its cache a
// moment before (counting only the cache fills would miss those: in a random-replace loop the
// estimate fell to an eighth of the live bytes). What a sample costs is mostly V8 capturing the
// JavaScript stack (a few microseconds); README.md has the measured overhead.
//
// A sampled block leaves the fast paths: a small request is served as a large run of its own
// (page info PI_SAMPLED, its class + 1 in PI_SCLASS: usableSize still says the class), a large
// one sets PI_SAMPLED on its run, a huge one CK_SAMPLED in its chunk table entry. free()'s fast
// path takes small pages only, so every free of a sampled block, by any thread, goes to freeSlow,
// which drops the sample. realloc moves a sampled small block unless it keeps its class; it
// resizes a sampled large run or huge block in place when it can, keeping the mark (written again
// in the section that rewrites the run's infos) and the sample, at the new size. A block that
// realloc grows in place is counted by the bytes it grew by: the byte process then falls on each
// byte a block ever had once, and a block grown to u bytes is sampled with probability
// 1 - exp(-u / mean), as if it had been allocated at u (Heap.resized).
//
// The samples live in the heap itself, so that every thread sees every thread's samples:
//
//   header word H_PROF_ROOT --> root block            R_SAMPLES --> sample table
//                               | samples | stacks |  R_STACKS  --> stack table
//
//   table block (words)   | cap | used | live | - | entry 0 (4 words) | entry 1 | ... |
//     sample entry:  ptr (0 empty, 1 deleted) | stack (byte address of its string) | usable size | slot
//     stack entry:   hash | string (byte address, 0 empty) | length (UTF-16 units) | -
//   stack string: UTF-16 code units in a block of its own, frames "function\x1furl\x1fline\x1fcolumn"
//   joined by "\x1e", innermost first; interned: every sample of one stack shares it.
//
// Both tables are open-addressing hash tables (linear probing, power-of-two capacities), grown by
// building the bigger table in a new block, then switching the root's word to it. Every table
// and string block is an ordinary block of the heap (allocated, not sampled, by the thread that
// needed it), so the profile's own memory shows in stats().allocated.
//
// Locking: everything in the tables is read and written under the profile lock (H_PROF_LOCK),
// taken before any arena or the global lock (lock order: profile, arena, global). A sampled
// block's page info or chunk entry bit is written under its arena's lock or the global lock.
//
// A thread that dies: reclaim() breaks the profile lock it held. Every update writes the entry's
// other words first and its key word last, and the counts after that, so a thread stopped inside
// leaves at worst one sample lost (or a count off by one, which only moves the next rehash), a
// table block or a string block allocated and unreferenced (leaked, never corrupting), and a
// sampled block whose sample is gone (its free finds nothing to drop). Probes are bounded by the
// capacity, so no state of the tables makes a lookup loop.

import { arenaLock, arenaUnlock, globalLock, globalUnlock } from "./arena.js";
import { chunkArg, chunkEntry, chunkKind } from "./chunk.js";
import { gset, jset } from "./journal.js";
import { L } from "./layout.js";
import { lockAcquire, lockRelease } from "./lock.js";
import { BIN_SIZE, SMALL_MAX, sizeToBin } from "./sizeclass.js";
import { addrChunk, addrPage, mapIdx, type Space } from "./space.js";

/** Profiling options: `true`, or the mean bytes between samples and the frames a stack keeps. */
export interface ProfileOptions {
  /** Mean bytes allocated between two samples (default 512 KiB); 1 samples every allocation. */
  sampleBytes?: number;
  /**
   * Frames kept of each sampled stack, innermost first (default 48, at most 128). V8 takes a
   * stack frame by frame, ~0.5 us each on top of ~3 us: a program with deep stacks samples
   * faster with fewer (and its profile then stops that many frames below the allocation).
   */
  maxFrames?: number;
}

/** One frame of a sampled call stack. `line` and `column` are 1-based, as in `Error().stack`. */
export interface ProfileFrame {
  functionName: string;
  url: string;
  line: number;
  column: number;
}

/** The live sampled blocks of one call stack (and one thread slot), scaled to estimates. */
export interface ProfileSample {
  /** Innermost frame first (the caller of malloc/calloc/realloc/alignedAlloc). */
  stack: ProfileFrame[];
  /** Estimated live bytes (usable sizes) allocated from this stack. */
  bytes: number;
  /** Estimated live blocks allocated from this stack. */
  objects: number;
  /** Sampled blocks behind the estimates. */
  count: number;
  /** The thread slot that allocated them. */
  slot: number;
}

/** A heap profile: live sampled blocks of every thread, by call stack. */
export interface HeapProfile {
  /** Mean bytes between samples (0: profiling is off for this heap). */
  sampleBytes: number;
  samples: ProfileSample[];
  /** Bytes of the heap (usable sizes, in stats().allocated) that hold the profile's own tables. */
  overheadBytes: number;
}

export const DEFAULT_SAMPLE_BYTES = 512 * 1024;
export const MAX_SAMPLE_BYTES = 2 ** 30;
export const DEFAULT_MAX_FRAMES = 48;
/** The largest `maxFrames`. */
export const MAX_MAX_FRAMES = 128;

/** The HeapOptions.profile value as a mean (0: off). Throws TypeError/RangeError on bad values. */
export function readProfileOption(v: unknown): number {
  if (v === undefined || v === false) return 0;
  if (v === true) return DEFAULT_SAMPLE_BYTES;
  if (v === null || typeof v !== "object") throw new TypeError("sabmalloc: profile must be a boolean or { sampleBytes, maxFrames }");
  const n = (v as ProfileOptions).sampleBytes ?? DEFAULT_SAMPLE_BYTES;
  if (typeof n !== "number") throw new TypeError(`sabmalloc: profile.sampleBytes must be a number, not ${typeof n}`);
  if (!Number.isInteger(n) || n < 1 || n > MAX_SAMPLE_BYTES) {
    throw new RangeError(`sabmalloc: profile.sampleBytes must be an integer from 1 to ${MAX_SAMPLE_BYTES}, not ${n}`);
  }
  return n;
}

/** The HeapOptions.profile value's `maxFrames` (default DEFAULT_MAX_FRAMES). Throws on bad values. */
export function readProfileFrames(v: unknown): number {
  if (v === null || typeof v !== "object") return DEFAULT_MAX_FRAMES;
  const n = (v as ProfileOptions).maxFrames ?? DEFAULT_MAX_FRAMES;
  if (typeof n !== "number") throw new TypeError(`sabmalloc: profile.maxFrames must be a number, not ${typeof n}`);
  if (!Number.isInteger(n) || n < 1 || n > MAX_MAX_FRAMES) {
    throw new RangeError(`sabmalloc: profile.maxFrames must be an integer from 1 to ${MAX_MAX_FRAMES}, not ${n}`);
  }
  return n;
}

/** The scale of a sample of usable size `u` at mean `mean`: the blocks it stands for. */
export function sampleScale(u: number, mean: number): number {
  return mean === 1 ? 1 : 1 / -Math.expm1(-u / mean);
}

// ---- Sampling ---------------------------------------------------------------------------------------

/**
 * An exponential gap of mean `mean` bytes to the next sample point, rounded up to whole bytes (0
 * for mean 1: every allocation is sampled). Rounded up, it is exact for blocks of whole bytes:
 * ceil(g) <= u exactly when g <= u; and as a small integer, the countdown is a Smi field, which V8
 * updates in place (a double field costs mallocProfiled several ns).
 */
export function sampleGap(mean: number): number {
  return mean === 1 ? 0 : Math.min(2 ** 30, Math.ceil(-mean * Math.log(1 - Math.random())));
}

/**
 * How many allocations of `size` bytes, counting from the next one, up to and including the next
 * sampled one: the block holding the next point of the byte process, ceil(gap / size). That makes
 * each allocation of the class sampled independently with probability 1 - exp(-size / mean)
 * (geometric counts). 0 or 1: the next one.
 */
export function sampleCount(mean: number, size: number): number {
  return Math.min(2 ** 30, Math.ceil(sampleGap(mean) / size));
}

// ---- Call stacks ------------------------------------------------------------------------------------

const FIELD = "\x1f";
const FRAME = "\x1e";
// sabmalloc's own modules: frames from files right in this module's directory (not its
// subdirectories, where the demo lives) are dropped from the top of a stack.
const OWN_DIR = import.meta.url.slice(0, import.meta.url.lastIndexOf("/") + 1);
// V8: "    at fn (url:line:col)", "    at url:line:col"; SpiderMonkey, JavaScriptCore: "fn@url:line:col".
const V8_FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?\s*$/;
const SM_FRAME = /^(.*?)@(.*?):(\d+):(\d+)\s*$/;

function isOwn(url: string): boolean {
  return url.startsWith(OWN_DIR) && url.indexOf("/", OWN_DIR.length) < 0;
}

/** V8's structured stack frames (the "stack trace API"), as far as they are used here. */
interface CallSite {
  getFunctionName(): string | null;
  getMethodName(): string | null;
  getTypeName(): string | null;
  getFileName(): string | null;
  getScriptNameOrSourceURL?(): string | null;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  getPosition?(): number;
  isConstructor(): boolean;
}

type Prepare = (e: Error, frames: CallSite[]) => unknown;
/** Error with V8's stack trace API (elsewhere these properties mean nothing and do no harm). */
export const ErrorV8 = Error as unknown as { prepareStackTrace?: Prepare; stackTraceLimit: number };
const asFrames: Prepare = (_e, frames) => frames;

/** A stack as captured: its text, and where its interned copy is in the heap (0: not yet). */
export interface Stack {
  readonly text: string;
  str: number;
}

/** A remembered V8 stack: its frames' (script, position) words, and the stack. */
interface Known {
  readonly sites: Int32Array;
  readonly stack: Stack;
  readonly next: Known | null;
}

/**
 * One thread's memo of the stacks it has seen, so that a stack seen before costs V8's capture and
 * two cheap questions a frame (its script, its position), no names, no text, no hashing or
 * comparing in the shared table. Keyed by a hash of the frames' (script number, position) pairs,
 * checked word by word. Interned copies are never freed, so a remembered address stays good.
 */
export class StackMemo {
  /** Script name -> its number (index into `own`). */
  readonly scripts = new Map<string, number>();
  /** Per script number: whether it is one of sabmalloc's own modules. */
  readonly own: boolean[] = [];
  readonly known = new Map<number, Known>();
  /** Non-V8 engines: by text. */
  readonly texts = new Map<string, Stack>();
  /** The (script, position) words of the stack being looked up. */
  readonly words = new Int32Array(2 * MAX_MAX_FRAMES);
  count = 0;
  /** Frames a stack keeps (the heap's profile.maxFrames). */
  maxFrames = DEFAULT_MAX_FRAMES;
  /** Forgets everything past this many stacks (a program with unbounded call sites, say eval). */
  static readonly MAX = 4096;
}

function scriptNumber(memo: StackMemo, url: string): number {
  let n = memo.scripts.get(url);
  if (n === undefined) {
    n = memo.own.length;
    memo.scripts.set(url, n);
    memo.own.push(isOwn(url));
  }
  return n;
}

function forget(memo: StackMemo): void {
  memo.scripts.clear();
  memo.own.length = 0;
  memo.known.clear();
  memo.texts.clear();
  memo.count = 0;
}

function siteUrl(f: CallSite): string {
  return f.getFileName() ?? f.getScriptNameOrSourceURL?.() ?? "";
}

/**
 * Error.stackTraceLimit while a sample's stack is captured: `maxFrames`, and room for sabmalloc's
 * own frames above the caller's (2 to 4 on every path: malloc, calloc, realloc, alignedAlloc, each
 * size kind; more room would cost ~0.5 us a frame of a deep stack, as a frame it never keeps).
 */
export function sampleFrames(maxFrames: number): number {
  return maxFrames + 8;
}

/**
 * An Error that holds the stack where it was made, up to `limit` frames (sampleFrames; V8 captures the
 * frames when the Error is made, and names them when its stack is first read: captureStack).
 * Where a stack is cheap to take matters: V8's capture costs ~3 us plus ~0.5 us a frame, sabmalloc's
 * own frames included, so the hottest sampling path (Heap.mallocSlow) makes this Error itself, in
 * its own frame (measured: a sampled malloc(32)+free, 8.8 -> 6.4 us); the rarer ones call this.
 */
export function stackHere(limit: number): Error {
  const was = ErrorV8.stackTraceLimit;
  ErrorV8.stackTraceLimit = limit;
  const at = new Error();
  ErrorV8.stackTraceLimit = was;
  return at;
}

/**
 * The JavaScript stack of the caller, innermost first, sabmalloc's frames dropped. In V8 from its
 * structured frames (no stack text is formatted): a stack seen before is found in `memo` by its
 * frames' scripts and positions; a new one is named (V8's costlier questions) and remembered.
 * Elsewhere parsed from the text of `new Error().stack`.
 */
export function captureStack(memo: StackMemo, at?: Error): Stack {
  // Forgotten before, never during a capture: its script numbers must stay those of the memo.
  if (memo.count >= StackMemo.MAX || memo.scripts.size >= StackMemo.MAX) forget(memo);
  const prepare = ErrorV8.prepareStackTrace;
  ErrorV8.prepareStackTrace = asFrames;
  let raw: unknown;
  try {
    raw = (at ?? stackHere(sampleFrames(memo.maxFrames))).stack;
  } finally {
    ErrorV8.prepareStackTrace = prepare;
  }
  if (Array.isArray(raw) && raw.length > 0 && typeof (raw[0] as CallSite).getPosition === "function") {
    const sites = raw as CallSite[];
    // The key: (script number, position) of each frame, sabmalloc's leading frames skipped.
    const w = memo.words;
    let first = 0;
    let n = 0;
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < sites.length && n < memo.maxFrames; i++) {
      const f = sites[i];
      const script = scriptNumber(memo, siteUrl(f));
      if (n === 0 && memo.own[script]) {
        first = i + 1;
        continue;
      }
      const pos = f.getPosition!() | 0;
      w[2 * n] = script;
      w[2 * n + 1] = pos;
      h = Math.imul(Math.imul(h ^ script, 0x01000193) ^ pos, 0x01000193);
      n++;
    }
    h = (h ^ n) | 0;
    const head = memo.known.get(h);
    for (let k: Known | null = head ?? null; k !== null; k = k.next) {
      if (k.sites.length !== 2 * n) continue;
      let i = 0;
      while (i < 2 * n && k.sites[i] === w[i]) i++;
      if (i === 2 * n) return k.stack;
    }
    const stack: Stack = { text: nameStack(sites, first, memo.maxFrames), str: 0 };
    memo.known.set(h, { sites: w.slice(0, 2 * n), stack, next: head ?? null });
    memo.count++;
    return stack;
  }
  // Not V8's frames (or a V8 without positions): the text.
  const lines = Array.isArray(raw) ? raw.map((f) => "    at " + String(f)) : String(raw ?? "").split("\n");
  const frames: string[] = [];
  for (const line of lines) {
    const f = V8_FRAME.exec(line) ?? SM_FRAME.exec(line);
    if (f === null) continue;
    const url = f[2];
    if (frames.length === 0 && isOwn(url)) continue;
    frames.push(frame((f[1] ?? "").replace(/^async /, ""), url, Number(f[3]), Number(f[4])));
    if (frames.length >= memo.maxFrames) break;
  }
  const text = frames.length === 0 ? UNKNOWN : frames.join(FRAME);
  let stack = memo.texts.get(text);
  if (stack === undefined) {
    memo.texts.set(text, (stack = { text, str: 0 }));
    memo.count++;
  }
  return stack;
}

const UNKNOWN = "(unknown)" + FIELD + FIELD + "0" + FIELD + "0";

function frame(fn: string, url: string, line: number, column: number): string {
  return (fn === "" ? "(anonymous)" : fn) + FIELD + url + FIELD + line + FIELD + column;
}

/** The text of a V8 stack from its frames, from `first` on (sabmalloc's frames are above it), `max` at most. */
function nameStack(sites: CallSite[], first: number, max: number): string {
  const frames: string[] = [];
  for (let i = first; i < sites.length && frames.length < max; i++) {
    const f = sites[i];
    let fn = f.getFunctionName() ?? "";
    const type = f.isConstructor() ? null : f.getTypeName();
    if (type === "Function") {
      // A static method: only V8's own text names its class ("SharedTable.create").
      fn = V8_FRAME.exec("    at " + String(f))?.[1] ?? fn;
    } else if (fn !== "" && type !== null && type !== "Object" && type !== "global" && !fn.includes(".")) {
      fn = `${type}.${fn}`;
    }
    if (f.isConstructor() && fn !== "") fn = `new ${fn}`;
    frames.push(frame(fn, siteUrl(f), f.getLineNumber() ?? 0, f.getColumnNumber() ?? 0));
  }
  return frames.length === 0 ? UNKNOWN : frames.join(FRAME);
}

/** The frames of a stack string. */
export function parseStack(text: string): ProfileFrame[] {
  return text.split(FRAME).map((f) => {
    const [functionName, url, line, column] = f.split(FIELD);
    return { functionName, url: url ?? "", line: Number(line) || 0, column: Number(column) || 0 };
  });
}

// ---- The shared tables ---------------------------------------------------------------------------

const R_SAMPLES = 0;
const R_STACKS = 1;
const ROOT_BYTES = 16;
const T_CAP = 0;
const T_USED = 1;
const T_LIVE = 2;
const T_ENTRIES = 4;
const E_WORDS = 4;
const E_PTR = 0; // sample entry: key
const E_STACK = 1;
const E_SIZE = 2;
const E_SLOT = 3;
const E_HASH = 0; // stack entry
const E_STR = 1; // key (0: empty)
const E_LEN = 2;
const EMPTY = 0;
const DELETED = 1;
const INITIAL_CAP = 256;

/** How the profile allocates and frees its own blocks (the Heap's malloc/free, never sampled). */
export interface ProfileAlloc {
  alloc(bytes: number): number;
  free(ptr: number): void;
}

function lock(s: Space): void {
  lockAcquire(s.i32, s.hdr + L.H_PROF_LOCK, s.owner, s.canBlock, s.onLockWait);
  s.profHeld = true;
  s.refresh();
}

function unlock(s: Space): void {
  s.profHeld = false;
  lockRelease(s.i32, s.hdr + L.H_PROF_LOCK);
}

/** Slot of `key` (hashed) in a table of `cap` entries: the first probe. */
function firstProbe(key: number, cap: number): number {
  return (Math.imul(key, 0x9e3779b1) >>> 0) % cap;
}

/** A new empty table of `cap` entries; its byte address, or 0 when the heap is full. */
function newTable(s: Space, a: ProfileAlloc, cap: number): number {
  const p = a.alloc((T_ENTRIES + cap * E_WORDS) * 4);
  if (p === 0) return 0;
  const m = s.i32;
  const w = p >>> 2;
  m.fill(0, w, w + T_ENTRIES + cap * E_WORDS);
  m[w + T_CAP] = cap;
  return p;
}

/** The root block, made on first use (profile lock held). 0 when the heap is full. */
function root(s: Space, a: ProfileAlloc): number {
  const m = s.i32;
  const have = m[s.hdr + L.H_PROF_ROOT] >>> 0;
  if (have !== 0) return have >>> 2;
  const r = a.alloc(ROOT_BYTES);
  if (r === 0) return 0;
  const samples = newTable(s, a, INITIAL_CAP);
  const stacks = samples === 0 ? 0 : newTable(s, a, INITIAL_CAP);
  if (stacks === 0) {
    if (samples !== 0) a.free(samples);
    a.free(r);
    return 0;
  }
  const mm = s.i32; // allocations may have grown the heap
  mm[(r >>> 2) + R_SAMPLES] = samples;
  mm[(r >>> 2) + R_STACKS] = stacks;
  mm[s.hdr + L.H_PROF_ROOT] = r; // last: a thread stopped before this leaked three blocks
  return r >>> 2;
}

/**
 * Makes room for one more entry in the table at root word `rw + which`: rehashes into a bigger
 * (or, with many deleted entries, a fresh) table when 3/4 full. False when the heap is full.
 */
function reserve(s: Space, a: ProfileAlloc, rw: number, which: number): boolean {
  let m = s.i32;
  const old = m[rw + which] >>> 0;
  const ow = old >>> 2;
  const cap = m[ow + T_CAP];
  if ((m[ow + T_USED] + 1) * 4 <= cap * 3) return true;
  const live = m[ow + T_LIVE];
  const ncap = (live + 1) * 2 > cap ? cap * 2 : cap;
  const nt = newTable(s, a, ncap);
  if (nt === 0) return false;
  m = s.i32;
  const nw = nt >>> 2;
  const key = which === R_SAMPLES ? E_PTR : E_STR;
  let n = 0;
  for (let i = 0; i < cap; i++) {
    const e = ow + T_ENTRIES + i * E_WORDS;
    const k = m[e + key] >>> 0;
    if (k === EMPTY || (which === R_SAMPLES && k === DELETED)) continue;
    let j = firstProbe(which === R_SAMPLES ? k : m[e + E_HASH], ncap);
    while (m[nw + T_ENTRIES + j * E_WORDS + key] !== EMPTY) j = (j + 1) % ncap;
    m.copyWithin(nw + T_ENTRIES + j * E_WORDS, e, e + E_WORDS);
    n++;
  }
  m[nw + T_USED] = n;
  m[nw + T_LIVE] = n;
  m[rw + which] = nt; // the switch: before it the old table is whole, after it the new one
  a.free(old);
  return true;
}

/** Hash of a stack string (FNV-1a over its UTF-16 units). */
function hashString(t: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
  return h;
}

/** The interned copy of stack `text`: its string block's byte address, 0 when the heap is full. */
function intern(s: Space, a: ProfileAlloc, rw: number, text: string): number {
  const h = hashString(text);
  const find = (): number => {
    const m = s.i32;
    const tw = (m[rw + R_STACKS] >>> 0) >>> 2;
    const cap = m[tw + T_CAP];
    let i = firstProbe(h, cap);
    for (let n = 0; n < cap; n++, i = (i + 1) % cap) {
      const e = tw + T_ENTRIES + i * E_WORDS;
      const str = m[e + E_STR] >>> 0;
      if (str === EMPTY) return -1 - i;
      if (m[e + E_HASH] === h && m[e + E_LEN] === text.length && sameString(s, str, text)) return str;
    }
    return -1 - cap; // full: cannot happen, reserve() keeps a quarter empty
  };
  const found = find();
  if (found > 0) return found;
  if (!reserve(s, a, rw, R_STACKS)) return 0;
  const str = a.alloc(Math.max(text.length * 2, 8));
  if (str === 0) return 0;
  const u16 = new Uint16Array(s.buffer(), str, text.length);
  for (let i = 0; i < text.length; i++) u16[i] = text.charCodeAt(i);
  const at = -1 - find();
  const m = s.i32;
  const tw = (m[rw + R_STACKS] >>> 0) >>> 2;
  if (at >= m[tw + T_CAP]) return 0;
  const e = tw + T_ENTRIES + at * E_WORDS;
  m[e + E_HASH] = h;
  m[e + E_LEN] = text.length;
  m[e + E_STR] = str; // last: the entry exists from here
  m[tw + T_USED]++;
  m[tw + T_LIVE]++;
  return str;
}

/** Whether the string block at `str` holds `text` (its length known to match). */
function sameString(s: Space, str: number, text: string): boolean {
  const u16 = new Uint16Array(s.buffer(), str, text.length);
  for (let i = 0; i < text.length; i++) if (u16[i] !== text.charCodeAt(i)) return false;
  return true;
}

function readString(s: Space, str: number, len: number): string {
  const u16 = new Uint16Array(s.buffer(), str, len);
  let t = "";
  for (let i = 0; i < len; i += 4096) t += String.fromCharCode(...u16.subarray(i, Math.min(len, i + 4096)));
  return t;
}

/**
 * Records the sampled block `ptr` (usable size `usize`) made by thread slot `slot` from the
 * JavaScript stack `stack` (captureStack; interned on its first sample, its address remembered).
 * False when the heap had no room for it (the sample is lost; the block is fine).
 */
export function recordSample(s: Space, a: ProfileAlloc, ptr: number, usize: number, slot: number, stack: Stack): boolean {
  lock(s);
  try {
    const rw = root(s, a);
    if (rw === 0) return false;
    let str = stack.str;
    if (str === 0) str = stack.str = intern(s, a, rw, stack.text);
    if (str === 0 || !reserve(s, a, rw, R_SAMPLES)) return false;
    const m = s.i32;
    const tw = (m[rw + R_SAMPLES] >>> 0) >>> 2;
    const cap = m[tw + T_CAP];
    let i = firstProbe(ptr, cap);
    for (let n = 0; n < cap; n++, i = (i + 1) % cap) {
      const e = tw + T_ENTRIES + i * E_WORDS;
      const k = m[e + E_PTR] >>> 0;
      if (k !== EMPTY && k !== DELETED && k !== ptr) continue;
      m[e + E_STACK] = str;
      m[e + E_SIZE] = usize;
      m[e + E_SLOT] = slot;
      m[e + E_PTR] = ptr; // last: the sample exists from here
      if (k === EMPTY) m[tw + T_USED]++;
      if (k !== ptr) m[tw + T_LIVE]++;
      return true;
    }
    return false;
  } finally {
    unlock(s);
  }
}

/**
 * The sample of the block at `ptr`, resized in place to `usize` bytes, takes the new size (none:
 * nothing to do - a thread stopped after marking the block and before recording its sample).
 */
export function resizeSample(s: Space, ptr: number, usize: number): void {
  lock(s);
  try {
    const tw = sampleTable(s);
    const e = tw < 0 ? -1 : sampleEntry(s, tw, ptr);
    if (e >= 0) s.i32[e + E_SIZE] = usize;
  } finally {
    unlock(s);
  }
}

/** Word index of the sample table (-1: no profile yet). */
function sampleTable(s: Space): number {
  const r = s.i32[s.hdr + L.H_PROF_ROOT] >>> 0;
  return r === 0 ? -1 : (s.i32[(r >>> 2) + R_SAMPLES] >>> 0) >>> 2;
}

/** Word index of the entry of the sample of the block at `ptr` in table `tw` (-1: none). Profile lock held. */
function sampleEntry(s: Space, tw: number, ptr: number): number {
  const m = s.i32;
  const cap = m[tw + T_CAP];
  let i = firstProbe(ptr, cap);
  for (let n = 0; n < cap; n++, i = (i + 1) % cap) {
    const e = tw + T_ENTRIES + i * E_WORDS;
    const k = m[e + E_PTR] >>> 0;
    if (k === EMPTY) return -1;
    if (k === ptr) return e;
  }
  return -1;
}

/** Drops the sample of block `ptr` (being freed by any thread). Nothing to drop: nothing done. */
export function dropSample(s: Space, ptr: number): void {
  lock(s);
  try {
    const tw = sampleTable(s);
    const e = tw < 0 ? -1 : sampleEntry(s, tw, ptr);
    if (e < 0) return;
    s.i32[e + E_PTR] = DELETED;
    s.i32[tw + T_LIVE]--;
  } finally {
    unlock(s);
  }
}

/** The live samples of every thread, by (stack, slot), scaled to estimates. */
export function readProfile(s: Space): HeapProfile {
  const m0 = s.i32;
  const mean = (m0[s.hdr + L.H_FLAGS] & L.HF_PROFILE) !== 0 ? m0[s.hdr + L.H_PROF_MEAN] : 0;
  const groups = new Map<string, { str: number; slot: number; bytes: number; objects: number; count: number }>();
  const texts = new Map<number, string>();
  let overhead = 0;
  lock(s);
  try {
    const m = s.i32;
    const r = m[s.hdr + L.H_PROF_ROOT] >>> 0;
    if (r !== 0 && mean > 0) {
      const rw = r >>> 2;
      // The stack strings, by address.
      const sw = (m[rw + R_STACKS] >>> 0) >>> 2;
      for (let i = 0, cap = m[sw + T_CAP]; i < cap; i++) {
        const e = sw + T_ENTRIES + i * E_WORDS;
        const str = m[e + E_STR] >>> 0;
        if (str === EMPTY) continue;
        texts.set(str, readString(s, str, m[e + E_LEN]));
        overhead += usable(Math.max(m[e + E_LEN] * 2, 8));
      }
      const tw = (m[rw + R_SAMPLES] >>> 0) >>> 2;
      overhead += usable(ROOT_BYTES) + usable((T_ENTRIES + m[sw + T_CAP] * E_WORDS) * 4) +
        usable((T_ENTRIES + m[tw + T_CAP] * E_WORDS) * 4);
      for (let i = 0, cap = m[tw + T_CAP]; i < cap; i++) {
        const e = tw + T_ENTRIES + i * E_WORDS;
        const k = m[e + E_PTR] >>> 0;
        if (k === EMPTY || k === DELETED) continue;
        const str = m[e + E_STACK] >>> 0;
        const slot = m[e + E_SLOT];
        const usize = m[e + E_SIZE] >>> 0;
        const scale = sampleScale(usize, mean);
        const key = `${str}:${slot}`;
        let g = groups.get(key);
        if (g === undefined) groups.set(key, (g = { str, slot, bytes: 0, objects: 0, count: 0 }));
        g.bytes += usize * scale;
        g.objects += scale;
        g.count++;
      }
    }
  } finally {
    unlock(s);
  }
  const samples: ProfileSample[] = [];
  for (const g of groups.values()) {
    const text = texts.get(g.str);
    samples.push({
      stack: text === undefined ? [{ functionName: "(lost)", url: "", line: 0, column: 0 }] : parseStack(text),
      bytes: g.bytes, objects: g.objects, count: g.count, slot: g.slot,
    });
  }
  samples.sort((x, y) => y.bytes - x.bytes);
  return { sampleBytes: mean, samples, overheadBytes: overhead };
}

/** The usable size of a block of `n` bytes. */
function usable(n: number): number {
  return n <= SMALL_MAX ? BIN_SIZE[sizeToBin(n)] : Math.ceil(n / 4096) * 4096;
}

// ---- Marking sampled blocks -------------------------------------------------------------------------

/**
 * Marks the new block `p` as sampled: a huge block in its chunk table entry (global lock), a large
 * run in its first page's info (its arena's lock), with the class + 1 of a small request (`bin`).
 */
export function markSampled(s: Space, p: number, huge: boolean, bin: number): void {
  // The marks are primary state (the block's chunk entry, its page info): journaled (journal.ts).
  if (huge) {
    globalLock(s);
    s.refresh();
    const c = addrChunk(s, p);
    gset(s, s.ct + c, chunkEntry(s, c) | L.CK_SAMPLED);
    globalUnlock(s);
    return;
  }
  const a = chunkArg(chunkEntry(s, addrChunk(s, p)));
  arenaLock(s, a);
  const at = mapIdx(s, addrPage(s, p)) + L.MAP_INFO;
  jset(s, at, s.i32[at] | L.PI_SAMPLED | ((bin + 1) << L.PI_SCLASS_SHIFT));
  arenaUnlock(s, a);
}

/** Clears the sampled marks of block `p` (being freed; a large run of arena `a`). */
export function unmarkSampled(s: Space, p: number, huge: boolean, a: number): void {
  if (huge) {
    globalLock(s);
    s.refresh();
    const c = addrChunk(s, p);
    const e = chunkEntry(s, c);
    if (chunkKind(e) === L.CK_HUGE) gset(s, s.ct + c, e & ~L.CK_SAMPLED);
    globalUnlock(s);
    return;
  }
  arenaLock(s, a);
  const at = mapIdx(s, addrPage(s, p)) + L.MAP_INFO;
  const info = s.i32[at];
  if ((info & (L.PI_STATE_MASK | L.PI_HEAD)) === (L.PS_LARGE | L.PI_HEAD)) {
    jset(s, at, info & ~(L.PI_SAMPLED | (L.PI_SCLASS_MASK << L.PI_SCLASS_SHIFT)));
  }
  arenaUnlock(s, a);
}
