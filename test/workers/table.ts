// Table worker (snapshot tests): attaches to the heap, opens the shared hash map of src/demo/table.ts
// at workerData.table, runs `ops` operations of the demo's mix, and posts { slot, counters }. With
// `stay`, it then keeps its slot and its thread cache (nothing flushed) until told { type: "detach" }.

import { parentPort, workerData } from "node:worker_threads";
import { Heap, HeapHandle } from "../../src/index.js";
import { SharedTable } from "../../src/demo/table.js";
import { newCounters, Rng, runOps } from "../../src/demo/workload.js";

const wd = workerData as { handle: HeapHandle; table: number; keys: number; seed: number; ops: number; stay: boolean };
const heap = Heap.attach(wd.handle);
const table = SharedTable.open(heap, wd.table);
const counters = newCounters();
runOps(table, wd.keys, wd.ops, new Rng(wd.seed), counters);
if (wd.stay) {
  parentPort!.on("message", (msg: { type: string }) => {
    if (msg.type !== "detach") return;
    heap.detach();
    parentPort!.postMessage({ type: "detached" });
    parentPort!.close();
  });
} else {
  heap.detach();
}
parentPort!.postMessage({ slot: heap.slot, counters });
