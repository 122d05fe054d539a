// RPC worker: attaches to the heap in workerData.handle, posts { slot }, then runs requests
// { id, op, args } on its own Heap and answers { id, ok, value } or { id, ok: false, error }.
// The errors keep their name and HeapError code, so the main thread can assert on them.

import { parentPort, workerData } from "node:worker_threads";
import { Heap, HeapError, HeapHandle } from "../../src/index.js";
import { barrier, fill, verify, Views } from "./shared.js";

const heap = Heap.attach((workerData as { handle: HeapHandle }).handle);
const v = new Views(heap);

const ops: Record<string, (...args: number[]) => unknown> = {
  malloc: (n) => heap.malloc(n),
  free: (p) => heap.free(p),
  realloc: (p, n) => heap.realloc(p, n),
  usableSize: (p) => heap.usableSize(p),
  flush: () => heap.flush(),
  reclaim: (slot) => heap.reclaim(slot),
  /** Meets `n` threads at the barrier in words (ctl, ctl + 4), then reclaims `slot`. */
  reclaimTogether: (slot, ctl, n) => {
    barrier(v.i32, ctl >>> 2, n);
    heap.reclaim(slot);
  },
  detach: () => heap.detach(),
  check: () => heap.check(),
  stats: () => heap.stats(),
  /** malloc + fill with the pattern of (ptr, size). */
  make: (n) => {
    const p = heap.malloc(n);
    if (p !== 0) fill(v, p, n);
    return p;
  },
  /** verify the pattern, then free. Returns the offset of the first damaged byte, or -1. */
  verifyFree: (p, n) => {
    const at = verify(v, p, n);
    heap.free(p);
    return at;
  },
};

parentPort!.on("message", ({ id, op, args }: { id: number; op: string; args: number[] }) => {
  try {
    const value = ops[op](...args);
    parentPort!.postMessage({ id, ok: true, value });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({
      id, ok: false,
      error: { name: err.name, code: err instanceof HeapError ? err.code : undefined, message: err.message },
    });
  }
});
parentPort!.postMessage({ slot: heap.slot });
