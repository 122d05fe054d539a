// The demo's worker thread: attaches to the shared heap, opens the shared table, and runs the
// workload until the main thread says stop.
//
//   main                                   worker
//   ----                                   ------
//   new Worker(workerData)
//   heap.watch(worker) handle       --->   Heap.attach, SharedTable.open
//                                   <---   { type: "ready" }
//   ctl[0] = GO, notify             --->   loop: 256 ops, publish ops in ctl[1 + id], until ctl[0] = STOP
//                                   <---   heap.flush(); { type: "done", counters }
//   (stats, heap map, checks)
//   { type: "detach" }              --->   heap.detach()
//                                   <---   { type: "detached" }, exit
//   any exception                   <---   { type: "error", message }

import { parentPort, workerData } from "node:worker_threads";
import { Heap, type HeapHandle } from "../heap.js";
import { SharedTable } from "./table.js";
import { newCounters, Phase, Rng, runOps } from "./workload.js";
import type { WorkerData } from "./workload.js";

const BATCH = 256;

async function main(): Promise<void> {
  const port = parentPort!;
  const wd = workerData as WorkerData;
  let heap: Heap | null = null;
  try {
    // The handle of heap.watch(worker) (its slot is reclaimed if the worker dies) comes as the
    // first message: it can only be made once the Worker exists.
    heap = Heap.attach(await new Promise<HeapHandle>((resolve) => port.once("message", resolve)));
    const table = SharedTable.open(heap, wd.table);
    const ctl = new Int32Array(wd.ctl);
    const rng = new Rng(wd.seed);
    const c = newCounters();
    port.postMessage({ type: "ready", slot: heap.slot });
    while (Atomics.load(ctl, 0) === Phase.WAIT) Atomics.wait(ctl, 0, Phase.WAIT, 100);
    const t0 = performance.now();
    while (Atomics.load(ctl, 0) === Phase.GO) {
      runOps(table, wd.keys, BATCH, rng, c);
      Atomics.store(ctl, 1 + wd.id, c.ops);
    }
    const ms = performance.now() - t0;
    heap.flush();
    port.postMessage({ type: "done", counters: c, ms });
    const h = heap;
    port.on("message", (msg: { type: string }) => {
      if (msg.type !== "detach") return;
      h.detach();
      port.postMessage({ type: "detached" });
      port.close();
    });
  } catch (err) {
    port.postMessage({ type: "error", message: String((err as Error)?.stack ?? err), slot: heap?.slot ?? -1 });
  }
}

await main();
