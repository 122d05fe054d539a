// Double free across threads: a block freed in worker A and freed again in worker B, while the first
// free still sits in A's thread cache, and after A flushed it back to its run.

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Heap } from "../src/index.js";
import { Remote, spawn } from "./threads.util.js";

async function twoWorkers(t: TestContext, heap: Heap): Promise<[Remote, Remote]> {
  const a = new Remote(spawn(t, "rpc", { handle: heap.handle }));
  const b = new Remote(spawn(t, "rpc", { handle: heap.handle }));
  await Promise.all([a.ready, b.ready]);
  return [a, b];
}

test("double free across threads: in the first thread's cache, then back in its run", { timeout: 30_000 }, async (t) => {
  const heap = Heap.create({ initialBytes: 2 << 20 });
  const [a, b] = await twoWorkers(t, heap);
  assert.equal(heap.stats().threads, 3);

  // Blocks of one class from a fresh run: the neighbours stay live, so the run outlives the flush.
  const blocks: number[] = [];
  for (let i = 0; i < 20; i++) blocks.push(await a.call<number>("make", 48));
  const p = blocks[10];
  assert.equal(await a.call("verifyFree", p, 48), -1);

  // A's cache holds p now; B frees it again.
  const e1 = await b.error("free", p);
  assert.equal(e1.code, "DOUBLE_FREE", e1.message);
  const e2 = await b.error("realloc", p, 100);
  assert.equal(e2.code, "DOUBLE_FREE", e2.message);
  const e3 = await b.error("usableSize", p);
  assert.ok(e3.name === "HeapError", e3.message);
  heap.check();

  // A flushes: p is a free region of its run again.
  await a.call("flush");
  const e4 = await b.error("free", p);
  assert.equal(e4.code, "DOUBLE_FREE", e4.message);
  const e5 = await a.error("free", p);
  assert.equal(e5.code, "DOUBLE_FREE", e5.message);
  heap.check();

  // Nothing was lost: the rest frees normally, every byte comes back.
  for (const q of blocks) if (q !== p) assert.equal(await b.call("verifyFree", q, 48), -1);
  await a.call("detach");
  await b.call("detach");
  const st = heap.stats();
  assert.equal(st.allocated, 0);
  assert.equal(st.threads, 1);
  assert.equal(st.lateDoubleFrees, 0, "the double frees were caught at the call, not late");
  heap.check();
});

test("double free across threads: a block of B, freed by A (remote, in A's cache), freed by B", { timeout: 30_000 }, async (t) => {
  const heap = Heap.create({ initialBytes: 2 << 20 });
  const [a, b] = await twoWorkers(t, heap);
  const keep = await b.call<number>("make", 256);
  const p = await b.call<number>("make", 256);
  assert.equal(await a.call("verifyFree", p, 256), -1);
  for (const who of [b, a]) {
    const e = await who.error("free", p);
    assert.equal(e.code, "DOUBLE_FREE", e.message);
  }
  await a.call("flush");
  for (const who of [b, a]) {
    const e = await who.error("free", p);
    assert.equal(e.code, "DOUBLE_FREE", e.message);
  }
  heap.check();
  assert.equal(await a.call("verifyFree", keep, 256), -1);
  await a.call("detach");
  await b.call("detach");
  assert.equal(heap.stats().allocated, 0);
  heap.check();
});

test("double free across threads: large and huge blocks", { timeout: 30_000 }, async (t) => {
  const heap = Heap.create({ initialBytes: 2 << 20 });
  const [a, b] = await twoWorkers(t, heap);
  for (const size of [20_000, 300_000, 3 << 20]) {
    const keep = await a.call<number>("make", size); // the pages stay in use around p
    const p = await a.call<number>("make", size);
    assert.equal(await a.call("verifyFree", p, size), -1);
    for (const who of [b, a]) {
      const e = await who.error("free", p);
      // Pages back in the arena (or chunks back in the pool): INVALID_POINTER is right too.
      assert.ok(e.code === "DOUBLE_FREE" || e.code === "INVALID_POINTER", `${size}: ${e.message}`);
    }
    assert.equal(await b.call("verifyFree", keep, size), -1);
  }
  heap.check();
  await a.call("detach");
  await b.call("detach");
  assert.equal(heap.stats().allocated, 0);
  heap.check();
});
