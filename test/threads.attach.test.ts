// Threads that attach at the same instant spread over the arenas: each takes one with the fewest
// threads (a compare-and-swap on its count, so two of them cannot both take the same emptiest one).

import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Heap } from "../src/index.js";
import { firstMessage, spawn } from "./threads.util.js";

test("8 workers attaching at once take 8 different arenas", { timeout: 60_000 }, async (t) => {
  const heap = Heap.create({ initialBytes: 4 << 20, arenas: 9 }); // this thread takes one
  for (let round = 0; round < 8; round++) {
    const ctl = new SharedArrayBuffer(8);
    const flags = new Int32Array(ctl);
    const workers = Array.from({ length: 8 }, () => spawn(t, "attach", { handle: heap.handle, ctl }));
    while (Atomics.load(flags, 1) < workers.length) await sleep(5);
    const attached = workers.map((w) => firstMessage<{ slot: number }>(w));
    Atomics.store(flags, 0, 1);
    await Promise.all(attached);
    const counts = heap.stats().arenas.map((a) => a.threads);
    assert.deepEqual(counts, new Array(9).fill(1), `round ${round}: threads per arena ${counts}`);
    const detached = workers.map((w) => firstMessage(w));
    for (const w of workers) w.postMessage("detach");
    await Promise.all(detached);
    for (const w of workers) await w.terminate();
  }
  assert.equal(heap.stats().threads, 1);
  heap.check();
});
