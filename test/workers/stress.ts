// Stress worker: random malloc / realloc / free of patterned blocks, a share of them handed to other
// workers through queues inside the heap; blocks received from others are verified and freed here.
//
// workerData: see StressData. Posts a StressResult when done, after detach().

import { parentPort, workerData } from "node:worker_threads";
import { Heap, HeapHandle } from "../../src/index.js";
import { barrier, describeMismatch, fill, logUniform, Queue, rng, verify, Views, waitOn } from "./shared.js";

export interface StressData {
  handle: HeapHandle;
  id: number;
  n: number; // workers
  queues: number[]; // inbound queue of each worker
  cap: number;
  ctl: number; // byte address of the control words (CTL_*)
  ops: number;
  seed: number;
  maxLive: number;
  sendRatio: number; // share of the frees handed to another worker instead
  sizes: "mixed" | "small";
  spin?: boolean; // act like a thread that may not block (a browser's main thread)
}

export interface StressResult {
  id: number;
  slot: number;
  mallocs: number;
  reallocs: number;
  frees: number;
  sent: number;
  received: number;
  adopted: number; // received blocks realloc'd and kept
  huge: number;
  large: number;
  canBlock: boolean;
  sleeps: number; // Atomics.wait calls made by the heap (on a lock)
  remakes: number;
  mismatches: string[];
  errors: string[];
}

/** Control words (Int32 indexes from ctl / 4). */
export const CTL_START = 0; // barrier: 2 words
export const CTL_DONE = 2; // workers done producing

const d = workerData as StressData;
let realWaitCalls = 0;
const realWait = Atomics.wait;
if (d.spin) {
  // A thread that may not block: any Atomics.wait made by the heap throws, as on a browser's main
  // thread (the heap finds out on attach), and is counted.
  Atomics.wait = (() => {
    realWaitCalls++;
    throw new TypeError("Atomics.wait cannot be called in this context");
  }) as typeof Atomics.wait;
} else {
  // Counted: how often the heap slept on a lock (the tests' own waits use the original).
  Atomics.wait = ((...args: Parameters<typeof Atomics.wait>) => {
    realWaitCalls++;
    return realWait(...args);
  }) as typeof Atomics.wait;
}

const heap = Heap.attach(d.handle);
const space = (heap as unknown as { s: { canBlock: boolean } }).s;
if (d.spin) space.canBlock = false;
realWaitCalls = 0; // attach probes once: that is how it finds out
const v = new Views(heap);
const r = rng(d.seed);
const ctl = d.ctl >>> 2;
const inbox = new Queue(v, d.queues[d.id], d.cap);
const outboxes = d.queues.map((q) => new Queue(v, q, d.cap));

const res: StressResult = {
  id: d.id, slot: heap.slot, mallocs: 0, reallocs: 0, frees: 0, sent: 0, received: 0, adopted: 0, huge: 0, large: 0,
  canBlock: space.canBlock, sleeps: 0, remakes: 0, mismatches: [], errors: [],
};

const livePtr: number[] = [];
const liveSize: number[] = [];
const pair = [0, 0];

function pickSize(): number {
  const x = r();
  if (d.sizes === "small") return x < 0.9 ? logUniform(r, 8, 512) : logUniform(r, 513, 20000);
  if (x < 0.8) return logUniform(r, 8, 1024);
  if (x < 0.93) return logUniform(r, 1025, 14336);
  if (x < 0.995) return logUniform(r, 14337, 1 << 20); // large (and, rarely, huge: > 251 pages)
  return 1028097 + Math.floor(r() * (1048576 - 1028097 + 1)); // huge: one chunk
}

function mismatch(who: string, ptr: number, size: number, at: number): void {
  if (res.mismatches.length < 10) res.mismatches.push(describeMismatch(v, who, ptr, size, at));
}

function checkBlock(p: number, size: number): void {
  if (p % 8 !== 0) throw new Error(`malloc(${size}) = ${p}: not 8-aligned`);
  const u = heap.usableSize(p);
  if (u < size) throw new Error(`usableSize(${p}) = ${u} < ${size}`);
  if (u >= 16 && p % 16 !== 0) throw new Error(`malloc(${size}) = ${p}: usable size ${u} but not 16-aligned`);
  if (size > 14336) res.large++;
  if (size > 1028096) res.huge++;
}

function allocate(): void {
  const size = pickSize();
  const how = r();
  let p: number;
  if (how < 0.05) {
    p = heap.calloc(1, size);
    if (p === 0) throw new Error(`calloc(1, ${size}) returned 0`);
    v.ensure(p + size);
    const nz = v.u8.subarray(p, p + size).findIndex((b) => b !== 0);
    if (nz >= 0) throw new Error(`calloc(1, ${size}) = ${p}: byte ${nz} is not zero`);
  } else if (how < 0.1) {
    const align = 2 ** (3 + Math.floor(r() * 14)); // 8 .. 64 KiB
    p = heap.alignedAlloc(align, size);
    if (p === 0) throw new Error(`alignedAlloc(${align}, ${size}) returned 0`);
    if (p % align !== 0) throw new Error(`alignedAlloc(${align}, ${size}) = ${p}: not aligned`);
  } else {
    p = heap.malloc(size);
    if (p === 0) throw new Error(`malloc(${size}) returned 0`);
  }
  checkBlock(p, size);
  fill(v, p, size);
  livePtr.push(p);
  liveSize.push(size);
  res.mallocs++;
}

function reallocOne(): void {
  const i = Math.floor(r() * livePtr.length);
  const p = livePtr[i];
  const old = liveSize[i];
  const at = verify(v, p, old);
  if (at >= 0) mismatch(`worker ${d.id} before realloc`, p, old, at);
  const size = pickSize();
  const q = heap.realloc(p, size);
  if (q === 0) throw new Error(`realloc(${p}, ${size}) returned 0`);
  checkBlock(q, size);
  // The first min(old, size) bytes moved along: they hold the pattern of (p, old), now at q.
  const moved = verify(v, p, old, size, q);
  if (moved >= 0) mismatch(`worker ${d.id} after realloc(${p}, ${size}) = ${q}`, q, Math.min(old, size), moved);
  fill(v, q, size);
  livePtr[i] = q;
  liveSize[i] = size;
  res.reallocs++;
}

function freeOne(): void {
  const i = Math.floor(r() * livePtr.length);
  const p = livePtr[i];
  const size = liveSize[i];
  livePtr[i] = livePtr[livePtr.length - 1];
  liveSize[i] = liveSize[liveSize.length - 1];
  livePtr.pop();
  liveSize.pop();
  const at = verify(v, p, size);
  if (at >= 0) mismatch(`worker ${d.id} before free`, p, size, at);
  if (d.n > 1 && r() < d.sendRatio) {
    let to = Math.floor(r() * (d.n - 1));
    if (to >= d.id) to++;
    if (outboxes[to].push(p, size)) {
      res.sent++;
      return;
    }
  }
  heap.free(p);
  res.frees++;
}

/**
 * Verifies what other workers sent, at most `max` blocks, and frees it - or, when `adopt` allows,
 * now and then reallocs it and keeps it as one of its own. Returns how many.
 */
function receive(max: number, adopt: boolean): number {
  let k = 0;
  while (k < max && inbox.pop(pair)) {
    const [p, size] = pair;
    const at = verify(v, p, size);
    if (at >= 0) mismatch(`worker ${d.id} received`, p, size, at);
    if (heap.usableSize(p) < size) throw new Error(`usableSize(${p}) < ${size} in the receiving thread`);
    res.received++;
    k++;
    if (adopt && livePtr.length < d.maxLive && r() < 0.2) {
      const n = pickSize();
      const q = heap.realloc(p, n);
      if (q === 0) throw new Error(`realloc(${p}, ${n}) of a received block returned 0`);
      checkBlock(q, n);
      const moved = verify(v, p, size, n, q);
      if (moved >= 0) mismatch(`worker ${d.id} after realloc(${p}, ${n}) = ${q} of a received block`, q, Math.min(size, n), moved);
      fill(v, q, n);
      livePtr.push(q);
      liveSize.push(n);
      res.reallocs++;
      res.adopted++;
    } else {
      heap.free(p);
      res.frees++;
    }
  }
  return k;
}

try {
  barrier(v.i32, ctl + CTL_START, d.n);
  for (let op = 0; op < d.ops; op++) {
    if ((op & 15) === 0) receive(64, true);
    const x = r();
    if (livePtr.length === 0 || (livePtr.length < d.maxLive && x < 0.52)) allocate();
    else if (x < 0.57) reallocOne();
    else freeOne();
  }
  while (livePtr.length > 0) freeOne();
} catch (e) {
  res.errors.push(`worker ${d.id}: ${(e as Error).stack ?? String(e)}`);
} finally {
  // Done producing; take in what the others still send until every worker is done.
  Atomics.add(v.i32, ctl + CTL_DONE, 1);
  try {
    for (;;) {
      const done = Atomics.load(v.i32, ctl + CTL_DONE) === d.n;
      if (receive(1 << 30, false) === 0) {
        if (done) break;
        waitOn(v.i32, ctl + CTL_DONE, Atomics.load(v.i32, ctl + CTL_DONE), 1);
      }
    }
    heap.detach();
  } catch (e) {
    res.errors.push(`worker ${d.id} draining: ${(e as Error).stack ?? String(e)}`);
  }
  res.sleeps = realWaitCalls;
  if (d.spin && realWaitCalls > 0) res.errors.push(`worker ${d.id}: the heap called Atomics.wait ${realWaitCalls} times on a thread that may not block`);
  res.remakes = v.remakes;
  parentPort!.postMessage(res);
}
