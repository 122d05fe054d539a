// Heap profile workers. role "alloc": allocates `rounds` rounds from two call sites, allocX and
// allocY (3:1 in bytes, the same mix of small, large and huge sizes), posts every block as
// [ptr, site, usable size] and detaches. role "free": frees the blocks it is sent, detaches, posts.

import { parentPort, workerData } from "node:worker_threads";
import { Heap, HeapHandle } from "../../src/index.js";

const { handle, role, rounds } = workerData as { handle: HeapHandle; role: "alloc" | "free"; rounds: number };
const heap = Heap.attach(handle);

/** The mix of one round: small classes, a large run, and now and then a huge block. */
const MIX = [8, 24, 48, 200, 1000, 3000, 9000, 14336, 20000, 70000];

function allocX(n: number): number {
  return heap.malloc(n);
}

function allocY(n: number): number {
  return heap.malloc(n);
}

if (role === "alloc") {
  const blocks: Array<[number, number, number]> = [];
  const take = (p: number, site: number): void => {
    if (p === 0) throw new Error("the heap is full");
    blocks.push([p, site, heap.usableSize(p)]);
  };
  for (let r = 0; r < rounds; r++) {
    for (const n of MIX) {
      for (let k = 0; k < 3; k++) take(allocX(n), 0);
      take(allocY(n), 1);
    }
    if (r % 50 === 0) {
      for (let k = 0; k < 3; k++) take(allocX(1_500_000), 0);
      take(allocY(1_500_000), 1);
    }
  }
  heap.detach();
  parentPort!.postMessage(blocks);
} else {
  parentPort!.once("message", (ptrs: number[]) => {
    for (const p of ptrs) heap.free(p);
    heap.detach();
    parentPort!.postMessage(ptrs.length);
  });
}
