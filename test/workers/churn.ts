// Attach/detach churn: each round this worker joins the heap with a new Heap (a new slot, a new
// thread cache), frees what other workers sent it (blocks whose Heap may be detached by now), makes
// blocks, frees some, hands the rest to other workers, and leaves: by detach(), or - every few
// rounds - by dropping the Heap as if its thread died, for the next Heap to reclaim() its slot.
//
// workerData: ChurnData. Posts a ChurnResult.

import { parentPort, workerData } from "node:worker_threads";
import { Heap, HeapHandle } from "../../src/index.js";
import { describeMismatch, fill, logUniform, Queue, rng, verify, Views, waitOn } from "./shared.js";

export interface ChurnData {
  handle: HeapHandle;
  id: number;
  n: number;
  queues: number[];
  cap: number;
  ctl: number; // byte address of a word counting the workers done
  rounds: number;
  seed: number;
}

export interface ChurnResult {
  id: number;
  mallocs: number;
  frees: number;
  sent: number;
  received: number;
  reclaimed: number;
  slots: number[];
  mismatches: string[];
  errors: string[];
}

const d = workerData as ChurnData;
const res: ChurnResult = { id: d.id, mallocs: 0, frees: 0, sent: 0, received: 0, reclaimed: 0, slots: [], mismatches: [], errors: [] };
const r = rng(d.seed);
const pair = [0, 0];

function receive(heap: Heap, v: Views): number {
  const inbox = new Queue(v, d.queues[d.id], d.cap);
  let k = 0;
  while (inbox.pop(pair)) {
    const at = verify(v, pair[0], pair[1]);
    if (at >= 0 && res.mismatches.length < 10) res.mismatches.push(describeMismatch(v, `worker ${d.id}`, pair[0], pair[1], at));
    heap.free(pair[0]);
    res.received++;
    res.frees++;
    k++;
  }
  return k;
}

let heap: Heap | undefined;
let dead = -1; // slot of a Heap dropped without detach()
try {
  for (let round = 0; round < d.rounds; round++) {
    heap = Heap.attach(d.handle);
    res.slots.push(heap.slot);
    const v = new Views(heap);
    if (dead >= 0) {
      heap.reclaim(dead);
      res.reclaimed++;
      dead = -1;
    }
    receive(heap, v);
    const blocks: Array<[number, number]> = [];
    for (let i = 0; i < 150; i++) {
      const size = r() < 0.95 ? logUniform(r, 8, 4096) : logUniform(r, 4097, 300_000);
      const p = heap.malloc(size);
      if (p === 0) throw new Error(`malloc(${size}) returned 0`);
      fill(v, p, size);
      blocks.push([p, size]);
      res.mallocs++;
    }
    for (const [p, size] of blocks) {
      const at = verify(v, p, size);
      if (at >= 0 && res.mismatches.length < 10) res.mismatches.push(describeMismatch(v, `worker ${d.id}`, p, size, at));
      let to = Math.floor(r() * (d.n - 1));
      if (to >= d.id) to++;
      if (r() < 0.5 && new Queue(v, d.queues[to], d.cap).push(p, size)) {
        res.sent++;
      } else {
        heap.free(p);
        res.frees++;
      }
    }
    if (round % 5 === 4) dead = heap.slot; // gone without detach(): the next Heap reclaims it
    else heap.detach();
  }
  heap = Heap.attach(d.handle);
  if (dead >= 0) {
    heap.reclaim(dead);
    res.reclaimed++;
  }
  const v = new Views(heap);
  const m = v.i32;
  const ctl = d.ctl >>> 2;
  Atomics.add(m, ctl, 1);
  for (;;) {
    const done = Atomics.load(m, ctl) === d.n;
    if (receive(heap, v) === 0) {
      if (done) break;
      waitOn(m, ctl, Atomics.load(m, ctl), 1);
    }
  }
  heap.detach();
} catch (e) {
  res.errors.push(`worker ${d.id}: ${(e as Error).stack ?? String(e)}`);
}
parentPort!.postMessage(res);
