// Attaches the moment the main thread says go (all such workers spin on one flag, so they attach
// at the same instant), posts { slot }, and detaches when told.

import { parentPort, workerData } from "node:worker_threads";
import { Heap, HeapHandle } from "../../src/index.js";

const { handle, ctl } = workerData as { handle: HeapHandle; ctl: SharedArrayBuffer };
const flags = new Int32Array(ctl); // [0]: go, [1]: workers waiting
Atomics.add(flags, 1, 1);
while (Atomics.load(flags, 0) === 0) { /* spin: a wait would stagger the wake-ups */ }
const heap = Heap.attach(handle);
parentPort!.postMessage({ slot: heap.slot });
parentPort!.once("message", () => {
  heap.detach();
  parentPort!.postMessage({ detached: true });
});
