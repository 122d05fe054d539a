// A worker of the chaos soak (test/chaos.ts): churns mixed sizes on a shared heap until it is
// terminated - at any instant, lock held or not. Every block it makes is recorded in a shared
// table as soon as malloc returns (and unrecorded before free), so that the main thread knows
// which blocks must still be live, with their bytes, whatever the moment of death (a block is
// recorded before it is filled, bit 0 of its pointer set until the fill is done).
//
// workerData: { rec: Int32Array (2 words an entry: ptr, size), base, count, seed }; the heap handle
// comes as the first message (heap.watch(worker) needs the Worker object before it can make one)
//   entries [base, base + count) are this worker's; any worker may take any entry (a cross-thread
//   free) with Atomics.exchange, so each block is freed by exactly one thread.
//   sizes: 75% small (8 B..3 KiB), 22% large (16..316 KiB), 3% huge (1..3 MiB).

import { parentPort, workerData } from "node:worker_threads";
import { Heap, HeapHandle } from "../../src/index.js";
import { fill, logUniform, rng, verify, Views } from "./shared.js";

interface ChaosData {
  rec: Int32Array;
  base: number;
  count: number;
  seed: number;
}

const { rec, base, count, seed } = workerData as ChaosData;
parentPort!.once("message", (handle: HeapHandle) => churn(Heap.attach(handle)));
const rand = rng(seed);
const r = (): number => Math.floor(rand() * 2 ** 31);
const total = rec.length >>> 1;

function churn(heap: Heap): void {
  const v = new Views(heap);

  function size(): number {
    const u = r() % 100;
    if (u < 75) return logUniform(rand, 8, 3072);
    if (u < 97) return logUniform(rand, 16 << 10, 316 << 10);
    return logUniform(rand, 1 << 20, 3 << 20);
  }

  /**
   * Frees the block of entry `i`, if it has one that is filled (a worker filling a block marks its
   * pointer with bit 0 until it is done: another worker must not free it under its hands). Its own
   * entries are verified first (only the owner writes an entry's size).
   */
  function take(i: number, own: boolean): void {
    const p = Atomics.load(rec, 2 * i);
    if (p === 0 || (p & 1) !== 0 || Atomics.compareExchange(rec, 2 * i, p, 0) !== p) return;
    const n = rec[2 * i + 1];
    const bad = own ? verify(v, p >>> 0, n, 256) : -1;
    if (bad >= 0) {
      const words = Array.from(v.i32.subarray(p >>> 2, (p >>> 2) + 4)).join(",");
      throw new Error(`block ${p >>> 0} (${n} bytes) is damaged at byte ${bad} (entry ${i}, words ${words})`);
    }
    heap.free(p >>> 0);
  }

  parentPort!.postMessage({ slot: heap.slot });
  for (let op = 0; ; op++) {
    if (r() % 16 === 0) {
      take(r() % total, false); // a block of any worker, or of one that died
      continue;
    }
    const i = base + (r() % count);
    if (Atomics.load(rec, 2 * i) !== 0) {
      take(i, true);
      continue;
    }
    const n = size();
    const p = heap.malloc(n);
    if (p === 0) continue; // full for now
    // Recorded at once, bit 0 set while it is being filled, so that a death while filling a big
    // block loses nothing and nobody frees it under our hands; filled, then the bit cleared.
    rec[2 * i + 1] = n;
    Atomics.store(rec, 2 * i, p | 1);
    fill(v, p, n);
    Atomics.store(rec, 2 * i, p | 0);
  }
}
