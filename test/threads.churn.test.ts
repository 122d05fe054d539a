// Threads come and go while others work: workers attach and detach (or vanish and get reclaimed)
// round after round, blocks outlive the Heap that made them and are freed through another slot,
// and the main thread checks the heap all along.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap } from "../src/index.js";
import { assertEmptyAfter, results, spawn } from "./threads.util.js";
import type { ChurnData, ChurnResult } from "./workers/churn.js";
import { Queue, Views } from "./workers/shared.js";

const WORKERS = 4;
const ROUNDS = 200;
const CAP = 4096;

// The second time with keptDecayMs 1: the arenas' kept runs go back (keptDecay's own sections)
// all along, while threads vanish and check() runs.
for (const keptDecayMs of [undefined, 1]) test(`attach/detach churn: ${WORKERS} workers x ${ROUNDS} Heaps each, blocks freed through other slots${keptDecayMs ? ", kept runs decaying" : ""}`, { timeout: 60_000 }, async (t) => {
  const heap = Heap.create({ initialBytes: 4 << 20, arenas: 2, maxThreads: 16, keptDecayMs });
  const v = new Views(heap);
  const queues = Array.from({ length: WORKERS }, () => Queue.create(heap, v, CAP));
  const ctl = heap.calloc(2, 4);
  const workers = Array.from({ length: WORKERS }, (_, id) => spawn(t, "churn", {
    handle: heap.handle, id, n: WORKERS, queues, cap: CAP, ctl, rounds: ROUNDS, seed: 0xc0ffee + id,
  } satisfies ChurnData));
  let running = true;
  const outcome = results<ChurnResult>(workers).finally(() => (running = false));
  let checks = 0;
  while (running) {
    heap.check();
    assert.ok(heap.stats().threads <= 1 + 2 * WORKERS, "at most two slots per worker (one of them dying)");
    checks++;
    await new Promise((r) => setTimeout(r, 5));
  }
  const out = await outcome;
  for (const r of out) {
    assert.deepEqual(r.errors, [], `worker ${r.id} failed`);
    assert.deepEqual(r.mismatches, [], `worker ${r.id} found damaged blocks`);
    assert.equal(r.reclaimed, ROUNDS / 5);
  }
  const total = (k: "mallocs" | "frees" | "sent" | "received"): number => out.reduce((a, r) => a + r[k], 0);
  assert.equal(total("received"), total("sent"));
  assert.equal(total("mallocs"), total("frees"));
  t.diagnostic(`${total("mallocs")} blocks, ${total("sent")} freed through another slot, ${checks} concurrent check()s`);
  assertEmptyAfter(heap, [...queues, ctl]);
});
