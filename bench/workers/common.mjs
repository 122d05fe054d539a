// Boilerplate shared by the multi-threaded workload workers.
//
// Protocol with the main thread (bench/lib/mt.mjs):
//   workerData = { handle, implUrl, id, workers, gen, params, shared, ctl, live, seed }
//   1. import the implementation, Heap.attach(handle), warm the allocator up (untimed, frees all)
//   2. post { type: "ready", slot }, then block until the main thread sets ctl[0] = 1
//   3. run the workload, heap.detach(), post { type: "done", start, end, cpuMs, ops, ... }
//      (start/end: wall-clock milliseconds, comparable across threads; cpuMs: this thread's CPU)
//   on any exception: post { type: "error", message, slot } (the main thread reclaims the slot)
// `live` is a Float64Array over a SharedArrayBuffer: live[id] = bytes this worker slot has
// allocated minus bytes it has freed (requested sizes), published now and then; the main thread
// sums it to estimate the peak live requested bytes.
import { readFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { churn } from "../lib/churn.mjs";
import { primeViews } from "../lib/views.mjs";

export function xorshift(seed) {
  return (seed | 0) || 0x2545f491;
}

/**
 * CPU time of the calling thread in milliseconds (Linux: /proc/thread-self/schedstat, in ns), or
 * NaN elsewhere. The main thread subtracts the workers' from the process's: what is left ran on
 * other threads (V8's compiler and GC, the memory sampler) while the clock ran.
 */
function threadCpuMs() {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/**
 * Warm-up: frees this worker's share of the blocks the main thread made for the generation
 * (workload genSetup: { warm, warmBytes }; remote frees, compiled before the clock starts), and
 * takes their bytes off this worker's live count (mt.mjs counted them on the main thread's).
 */
export function freeWarmBlocks(heap, wd) {
  const g = wd.genShared;
  if (!g) return;
  const n = wd.params.warmRemote;
  const warm = new Uint32Array(g.warm, wd.id * n * 4, n);
  for (let i = 0; i < warm.length; i++) heap.free(warm[i]);
  new Float64Array(wd.live)[wd.id] -= g.warmBytes;
}

/**
 * A short private malloc/free loop so the allocator's code is compiled before the clock starts,
 * then batches of every class up to 1 KiB made and freed, 120 blocks each: more than the thread
 * cache holds of the larger classes, so malloc and free reach their slow paths (fills, flushes,
 * runs emptied and kept), often enough that those are compiled before the clock starts too.
 * - malloc's and free's calls to their slow paths then have type feedback before a workload's
 *   loop, which inlines malloc and free, is compiled: the churn's 256 live blocks of ~30 sizes
 *   seldom overflow a cache, and a flush first met in a compiled loop deoptimizes it (views.mjs:
 *   primeViews says how that ends).
 * - Compiled in the timed run instead, on 2 workers and 2 cores, the slow paths take the workers'
 *   time (traced, larson on 1 and 2 workers, 3 repetitions: compilations in the timed windows
 *   25 -> 9, a 2-worker run's wait for a core 2.2 -> 1.3 ms a generation).
 */
function warmUp(heap, n) {
  churn(heap, new Uint32Array(256), n, (r) => 8 + (r % 2040));
  const batch = new Uint32Array(120);
  for (let round = 0; round < 60; round++) {
    for (let size = 8; size <= 1024; size += 8 + (size >>> 2)) {
      for (let i = 0; i < batch.length; i++) batch[i] = heap.malloc(size);
      for (let i = 0; i < batch.length; i++) heap.free(batch[i]);
    }
  }
}

/**
 * `body(heap, wd, live)` is the timed workload. `warm(heap, wd)`, when given, runs before the clock
 * starts: it should run the workload's own loop on private data, so that V8 has compiled the very
 * code that is timed (every generation is a fresh worker that compiles everything again).
 */
export function runWorker(body, warm) {
  return attachedWorker((heap, wd) => {
    const ctl = new Int32Array(wd.ctl);
    const live = new Float64Array(wd.live);
    primeViews(heap); // before any loop that calls covering() is compiled (views.mjs says why)
    if (wd.params.warmOps > 0) warmUp(heap, wd.params.warmOps);
    if (warm) warm(heap, wd);
    parentPort.postMessage({ type: "ready", slot: heap.slot });
    while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 1000);
    const start = performance.timeOrigin + performance.now();
    const cpu0 = threadCpuMs();
    const res = body(heap, wd, live);
    heap.detach();
    const end = performance.timeOrigin + performance.now();
    parentPort.postMessage({ type: "done", start, end, cpuMs: threadCpuMs() - cpu0, ...res });
  });
}

/**
 * What every thread of the benchmark that uses the heap does around its work (the workload
 * workers and the memory sampler): imports the implementation, attaches to the heap of
 * workerData, runs `main(heap, workerData)`, and on any exception posts { type: "error", message,
 * slot } so that the main thread can reclaim the slot.
 */
export async function attachedWorker(main) {
  const wd = workerData;
  let heap = null;
  try {
    const { Heap } = await import(wd.implUrl);
    heap = Heap.attach(wd.handle);
    main(heap, wd);
  } catch (err) {
    let slot = null;
    try { slot = heap ? heap.slot : null; } catch { /* detached or broken */ }
    parentPort.postMessage({ type: "error", message: String(err?.stack ?? err), slot });
  }
}
