// Many threads at once: 8 workers run random malloc / calloc / alignedAlloc / realloc / free of
// patterned blocks from 8 B to 1 MiB, and hand a quarter of what they free to another worker through
// queues inside the heap itself; the receiver verifies the pattern and frees the block (a remote
// free), or reallocs it and keeps it. Meanwhile the main thread runs check() and stats().
// Smaller runs repeat it on a shared WebAssembly.Memory and in debug mode.

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Heap } from "../src/index.js";
import { results, sleep, spawn } from "./threads.util.js";
import { Queue, Views } from "./workers/shared.js";
import type { StressData, StressResult } from "./workers/stress.js";

const OPS = Number(process.env.SABMALLOC_STRESS_OPS ?? 150_000); // per worker, in the main run
const QUEUE_CAP = 1024;

async function stress(t: TestContext, heap: Heap, workers: number, ops: number): Promise<void> {
  const v = new Views(heap);
  const queues = Array.from({ length: workers }, () => Queue.create(heap, v, QUEUE_CAP));
  const ctl = heap.calloc(8, 4);
  const started = Array.from({ length: workers }, (_, id) => spawn(t, "stress", {
    handle: heap.handle, id, n: workers, queues, cap: QUEUE_CAP, ctl, ops, seed: 0x9e3779b9 * (id + 1),
    maxLive: 200, sendRatio: 0.25, sizes: "mixed",
  } satisfies StressData));
  // Meanwhile this thread checks the whole heap, again and again, while the workers change it.
  let running = true;
  const outcome = results<StressResult>(started).finally(() => (running = false));
  let checks = 0;
  while (running) {
    heap.check();
    const st = heap.stats();
    assert.ok(st.threads >= 1 && st.threads <= workers + 1);
    checks++;
    await sleep(25);
  }
  const out = await outcome;

  for (const r of out) {
    assert.deepEqual(r.errors, [], `worker ${r.id} failed`);
    assert.deepEqual(r.mismatches, [], `worker ${r.id} found damaged blocks`);
  }
  const total = (k: keyof StressResult): number => out.reduce((a, r) => a + (r[k] as number), 0);
  const sent = total("sent");
  assert.equal(total("received"), sent, "every block sent was received");
  assert.equal(total("mallocs"), total("frees"), "every block was freed once");
  assert.ok(sent > total("mallocs") / 8, `a good share of the blocks went to other workers (${sent})`);
  assert.ok(total("adopted") > 0, "some received blocks were realloc'd by their new thread");
  assert.ok(total("huge") > 0 && total("large") > 0, "large and huge blocks were part of the mix");
  t.diagnostic(`mallocs ${total("mallocs")}, reallocs ${total("reallocs")}, handed over ${sent} ` +
    `(${total("adopted")} of them realloc'd by the receiver), large ${total("large")}, huge ${total("huge")}, ` +
    `capacity ${heap.stats().capacity >> 20} MiB, ${checks} concurrent check()s`);

  heap.check();
  for (const q of queues) heap.free(q);
  heap.free(ctl);
  heap.flush();
  const st = heap.stats();
  assert.equal(st.allocated, 0, "every byte came back");
  assert.equal(st.threads, 1, "only the main thread is attached");
  assert.equal(st.lateDoubleFrees, 0);
  heap.check();
}

test(`stress: 8 workers x ${OPS} random ops, a quarter of the frees remote`, { timeout: 120_000 }, async (t) => {
  await stress(t, Heap.create({ initialBytes: 4 << 20 }), 8, OPS);
});

test("stress: 4 workers on a shared WebAssembly.Memory (a new buffer object on every grow)", { timeout: 60_000 }, async (t) => {
  const memory = new WebAssembly.Memory({ initial: 3, maximum: 8192, shared: true });
  await stress(t, Heap.fromMemory(memory, { initialBytes: 1 << 20 }), 4, Math.ceil(OPS / 4));
});

test("stress: 4 workers in debug mode (junk on free, every free verified), 2 arenas", { timeout: 60_000 }, async (t) => {
  await stress(t, Heap.create({ initialBytes: 4 << 20, debug: true, arenas: 2 }), 4, Math.ceil(OPS / 5));
});
