// A race on growth: workers start on a 1 MiB heap and all allocate far past it at the same moment,
// then read and free each other's blocks in chunks they never saw - on a growable SharedArrayBuffer
// (same buffer object, longer) and on a shared WebAssembly.Memory (a new buffer object per grow).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap } from "../src/index.js";
import { results, spawn } from "./threads.util.js";
import type { GrowData, GrowResult } from "./workers/grow.js";
import { Queue, Views } from "./workers/shared.js";

const WORKERS = 5;
const ROUNDS = 6;
const CAP = 1024;
const SMALLS = 1500;

// Odd rounds put every thread on one arena: its chunks grow under one arena lock, and a thread that
// waited for that lock finds chunks its views do not cover yet.
const kinds = {
  "growable SharedArrayBuffer": (arenas?: number) => Heap.create({ initialBytes: 1 << 20, arenas }),
  "shared WebAssembly.Memory": (arenas?: number) => Heap.fromMemory(
    new WebAssembly.Memory({ initial: 1, maximum: 4096, shared: true }), { initialBytes: 1 << 20, arenas }),
};

for (const [kind, make] of Object.entries(kinds)) {
  test(`growth race: ${WORKERS} workers grow a 1 MiB heap at once (${kind})`, { timeout: 60_000 }, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const heap = make(round % 2 === 1 ? 1 : undefined);
      const buffer0 = heap.buffer;
      const capacity0 = heap.stats().capacity;
      assert.equal(capacity0, 1 << 20);
      const v = new Views(heap);
      const queues = Array.from({ length: WORKERS }, () => Queue.create(heap, v, CAP));
      const ctl = heap.calloc(8, 4);
      const workers = Array.from({ length: WORKERS }, (_, id) => spawn(t, "grow", {
        handle: heap.handle, id, n: WORKERS, ctl, queues, cap: CAP, seed: 7919 * (round * WORKERS + id + 1),
        smalls: SMALLS,
      } satisfies GrowData));
      const out = await results<GrowResult>(workers);
      for (const r of out) {
        assert.deepEqual(r.errors, [], `round ${round}, worker ${r.id} failed`);
        assert.deepEqual(r.mismatches, [], `round ${round}, worker ${r.id} found damaged blocks`);
        assert.ok(r.received > 0);
        assert.equal(r.grown, 4 << 20, `round ${round}, worker ${r.id}: its block grew to 4 MiB`);
      }
      const asked = out.reduce((a, r) => a + r.allocated, 0);
      const st = heap.stats();
      assert.ok(st.capacity >= asked, `the heap grew past what was asked for (${st.capacity} >= ${asked})`);
      if (kind.includes("Memory")) assert.notEqual(heap.buffer, buffer0, "a grown Memory has a new buffer");
      else assert.equal(heap.buffer, buffer0);
      heap.check();
      for (const q of queues) heap.free(q);
      heap.free(ctl);
      heap.flush();
      const end = heap.stats();
      assert.equal(end.allocated, 0, `round ${round}: every byte came back`);
      assert.equal(end.threads, 1);
      heap.check();
      // The main thread, whose views are the oldest, uses the grown heap too.
      const big = heap.malloc(3 << 20);
      assert.notEqual(big, 0);
      v.ensure(big + (3 << 20));
      v.u8.fill(1, big, big + (3 << 20));
      heap.free(big);
      heap.check();
    }
  });
}
