// Not a worker: a script that test/snapshot.threads.test.ts runs as a separate node process. It
// loads the heap file in argv[2] (Heap.load), finds the demo table through root "table", verifies
// every record, runs more of the demo's workload on it, then check()s, frees everything and prints
// one JSON line: what it found and what it saw.

import { Heap } from "../../src/index.js";
import { SharedTable } from "../../src/demo/table.js";
import { newCounters, Rng, runOps } from "../../src/demo/workload.js";

const heap = await Heap.load(process.argv[2]);
const slot = heap.slot;
const stats = heap.stats();
const table = SharedTable.open(heap, heap.getRoot("table"));
const found = table.verifyAll();
heap.check();
runOps(table, Number(process.argv[3]), 2000, new Rng(99), newCounters());
const after = table.verifyAll();
heap.check();
table.destroy();
heap.flush();
heap.check();
process.stdout.write(JSON.stringify({ pid: process.pid, slot, allocated: stats.allocated, threads: stats.threads, found, after,
  empty: heap.stats().allocated }) + "\n");
