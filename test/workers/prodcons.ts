// Producer / consumer worker: producers malloc batches of 64-byte objects, fill them and push them
// on one shared queue inside the heap; consumers pop, verify and free them - every free is remote.
// After each round every worker meets at a barrier, and producer 0 samples stats().
//
// workerData: PcData. Posts a PcResult after detach().

import { parentPort, workerData } from "node:worker_threads";
import { Heap, HeapHandle } from "../../src/index.js";
import { barrier, describeMismatch, fill, Queue, verify, Views, waitOn } from "./shared.js";

export interface PcData {
  handle: HeapHandle;
  producer: boolean;
  id: number; // among the workers of its kind
  workers: number;
  producers: number;
  queue: number;
  cap: number;
  ctl: number; // byte address of 8 control words in the heap
  rounds: number;
  batch: number;
}

export interface PcResult {
  producer: boolean;
  id: number;
  count: number;
  samples: Array<{ active: number; mapped: number; allocated: number }>;
  mismatches: string[];
  errors: string[];
}

const C_BARRIER = 0; // 2 words
const C_CONSUMED = 2;
const C_IDLE = 3; // never changes: a word to nap on
const SIZE = 64;

const d = workerData as PcData;
const res: PcResult = { producer: d.producer, id: d.id, count: 0, samples: [], mismatches: [], errors: [] };
const heap = Heap.attach(d.handle);
const v = new Views(heap);
const ctl = d.ctl >>> 2;
const q = new Queue(v, d.queue, d.cap);
const nap = (): void => void waitOn(v.i32, ctl + C_IDLE, 0, 0.05);

try {
  const pair = [0, 0];
  for (let round = 0; round < d.rounds; round++) {
    if (d.producer) {
      for (let i = 0; i < d.batch; i++) {
        const p = heap.malloc(SIZE);
        if (p === 0) throw new Error("malloc returned 0");
        fill(v, p, SIZE);
        while (!q.push(p, SIZE)) nap();
        res.count++;
      }
    } else {
      const target = (round + 1) * d.producers * d.batch;
      while (Atomics.load(v.i32, ctl + C_CONSUMED) < target) {
        if (!q.pop(pair)) {
          nap();
          continue;
        }
        const at = verify(v, pair[0], pair[1]);
        if (at >= 0 && res.mismatches.length < 10) res.mismatches.push(describeMismatch(v, `consumer ${d.id}`, pair[0], pair[1], at));
        heap.free(pair[0]);
        Atomics.add(v.i32, ctl + C_CONSUMED, 1);
        res.count++;
      }
    }
    barrier(v.i32, ctl + C_BARRIER, d.workers);
    if (d.producer && d.id === 0) {
      const st = heap.stats();
      res.samples.push({ active: st.active, mapped: st.mapped, allocated: st.allocated });
    }
    barrier(v.i32, ctl + C_BARRIER, d.workers);
  }
  heap.detach();
} catch (e) {
  res.errors.push(`${d.producer ? "producer" : "consumer"} ${d.id}: ${(e as Error).stack ?? String(e)}`);
}
parentPort!.postMessage(res);
