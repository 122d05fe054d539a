// A worker that gets terminated: it churns through small blocks (so that its thread cache holds
// regions), keeps some blocks live, posts { slot, held }, optionally takes its arena's lock and the
// global lock (as if terminated inside a critical section), then blocks until terminate().
//
// workerData: { handle (or none: it is the first message), ctl: Int32Array over a SharedArrayBuffer, holdLocks }
//   ctl[0]: set by the main thread to let it take the locks; ctl[1]: set here once they are held.

import { parentPort, workerData } from "node:worker_threads";
import { arenaWord } from "../../src/arena.js";
import { Heap, HeapHandle } from "../../src/index.js";
import { L } from "../../src/layout.js";
import { lockAcquire } from "../../src/lock.js";
import type { Space } from "../../src/space.js";
import { fill, logUniform, rng, Views, waitOn } from "./shared.js";

const { ctl, holdLocks } = workerData as { handle?: HeapHandle; ctl: Int32Array; holdLocks: boolean };
// A handle from heap.watch(worker) can only be made once the Worker exists: it comes as a message.
const handle = (workerData as { handle?: HeapHandle }).handle ??
  await new Promise<HeapHandle>((resolve) => parentPort!.once("message", resolve));
const heap = Heap.attach(handle);
const v = new Views(heap);
const r = rng(0x5eed);

for (let round = 0; round < 30; round++) {
  const ps: number[] = [];
  for (let i = 0; i < 200; i++) ps.push(heap.malloc(logUniform(r, 8, 4096)));
  for (const p of ps) heap.free(p);
}
const held: Array<[number, number]> = [];
const sizes = [20_000, 100_000, 3 << 19];
for (let i = 0; i < 40; i++) sizes.push(logUniform(r, 8, 14336));
for (const size of sizes) {
  const p = heap.malloc(size);
  fill(v, p, size);
  held.push([p, size]);
}
parentPort!.postMessage({ slot: heap.slot, held });

if (holdLocks) {
  while (Atomics.load(ctl, 0) === 0) waitOn(ctl, 0, 0, 50);
  const s = (heap as unknown as { s: Space }).s;
  const arena = (heap as unknown as { arena: number }).arena;
  lockAcquire(s.i32, arenaWord(s, arena) + L.A_LOCK, s.owner, s.canBlock);
  lockAcquire(s.i32, s.hdr + L.H_LOCK, s.owner, s.canBlock);
  Atomics.store(ctl, 1, 1);
}
for (;;) waitOn(ctl, 2, 0); // until terminate()
