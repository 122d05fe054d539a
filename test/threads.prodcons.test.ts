// Producer / consumer: every free is remote. Producers malloc batches of 64-byte objects, consumers
// free them; round after round the heap must stay the same size (freed regions do flow back to
// the producers' arenas), and end with nothing allocated.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap } from "../src/index.js";
import { assertEmptyAfter, results, spawn } from "./threads.util.js";
import type { PcData, PcResult } from "./workers/prodcons.js";
import { Queue, Views } from "./workers/shared.js";

const PRODUCERS = 3;
const CONSUMERS = 3;
const ROUNDS = 300;
const BATCH = 2000;
const CAP = 512;
const WARMUP = 5;

test(`producer/consumer: ${PRODUCERS} + ${CONSUMERS} workers, ${ROUNDS} rounds of ${BATCH} objects each`, { timeout: 60_000 }, async (t) => {
  const heap = Heap.create({ initialBytes: 1 << 20 });
  const v = new Views(heap);
  const queue = Queue.create(heap, v, CAP);
  const ctl = heap.calloc(8, 4);
  const workers = [];
  for (let i = 0; i < PRODUCERS + CONSUMERS; i++) {
    const producer = i < PRODUCERS;
    workers.push(spawn(t, "prodcons", {
      handle: heap.handle, producer, id: producer ? i : i - PRODUCERS, workers: PRODUCERS + CONSUMERS,
      producers: PRODUCERS, queue, cap: CAP, ctl, rounds: ROUNDS, batch: BATCH,
    } satisfies PcData));
  }
  const out = await results<PcResult>(workers);
  for (const r of out) {
    assert.deepEqual(r.errors, [], `${r.producer ? "producer" : "consumer"} ${r.id} failed`);
    assert.deepEqual(r.mismatches, [], `${r.producer ? "producer" : "consumer"} ${r.id} found damaged objects`);
  }
  const produced = out.filter((r) => r.producer).reduce((a, r) => a + r.count, 0);
  const consumed = out.filter((r) => !r.producer).reduce((a, r) => a + r.count, 0);
  assert.equal(produced, PRODUCERS * ROUNDS * BATCH);
  assert.equal(consumed, produced);

  const samples = out.find((r) => r.producer && r.id === 0)!.samples;
  assert.equal(samples.length, ROUNDS);
  const base = samples[WARMUP - 1];
  const peak = (k: "active" | "mapped" | "allocated"): number => Math.max(...samples.slice(WARMUP).map((s) => s[k]));
  t.diagnostic(`after round ${WARMUP}: ${JSON.stringify(base)}; peak after: active ${peak("active")}, ` +
    `mapped ${peak("mapped")}, allocated ${peak("allocated")}`);
  // Between rounds only thread caches hold regions: a few runs' worth, whatever the round.
  assert.ok(peak("mapped") <= base.mapped + (1 << 20), `mapped grows: ${base.mapped} -> ${peak("mapped")}`);
  assert.ok(peak("active") <= base.active + (64 << 10), `active grows: ${base.active} -> ${peak("active")}`);
  assert.ok(peak("allocated") <= base.allocated + (32 << 10), `allocated grows: ${base.allocated} -> ${peak("allocated")}`);

  assertEmptyAfter(heap, [queue, ctl]);
});
