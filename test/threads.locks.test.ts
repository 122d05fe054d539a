// Locks under contention, one arena for everyone: workers that may not block (they spin, as on a
// browser's main thread, where Atomics.wait throws) mixed with workers that sleep in Atomics.wait.
// With threadCache: false every malloc and free takes the arena's lock.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap } from "../src/index.js";
import { assertEmptyAfter, results, spawn } from "./threads.util.js";
import { Queue, Views } from "./workers/shared.js";
import type { StressData, StressResult } from "./workers/stress.js";

const WORKERS = 4; // the first half spin, the others block
const CAP = 1024;

for (const threadCache of [true, false]) {
  const ops = threadCache ? 300_000 : 150_000;
  test(`locks: ${WORKERS / 2} spinning + ${WORKERS / 2} blocking workers on one arena (threadCache: ${threadCache})`, { timeout: 60_000 }, async (t) => {
    const heap = Heap.create({ initialBytes: 4 << 20, arenas: 1, threadCache });
    const v = new Views(heap);
    const queues = Array.from({ length: WORKERS }, () => Queue.create(heap, v, CAP));
    const ctl = heap.calloc(8, 4);
    const workers = Array.from({ length: WORKERS }, (_, id) => spawn(t, "stress", {
      handle: heap.handle, id, n: WORKERS, queues, cap: CAP, ctl, ops, seed: 0x51ed + id, maxLive: 100,
      sendRatio: 0.5, sizes: "small", spin: id < WORKERS / 2,
    } satisfies StressData));
    // Meanwhile this thread runs check(), which takes every lock (with a time limit) again and again.
    let running = true;
    const outcome = results<StressResult>(workers).finally(() => (running = false));
    let checks = 0;
    while (running) {
      heap.check();
      checks++;
      await new Promise(setImmediate);
    }
    const out = await outcome;
    for (const r of out) {
      assert.deepEqual(r.errors, [], `worker ${r.id} failed`);
      assert.deepEqual(r.mismatches, [], `worker ${r.id} found damaged blocks`);
      assert.equal(r.canBlock, r.id >= WORKERS / 2, `worker ${r.id} ${r.canBlock ? "blocks" : "spins"}`);
    }
    t.diagnostic(`blocking workers slept on a lock ${out.reduce((a, r) => a + r.sleeps, 0)} times; ${checks} check()s`);
    const sent = out.reduce((a, r) => a + r.sent, 0);
    assert.equal(out.reduce((a, r) => a + r.received, 0), sent);
    assert.ok(sent > 0);
    assertEmptyAfter(heap, [...queues, ctl]);
  });
}
