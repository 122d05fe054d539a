// 1,024 threads attached at once (the default number of thread slots): one more is refused with a
// clear RangeError, in the main thread and in a worker alike; detach() frees the slots.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap } from "../src/index.js";
import { firstMessage, Remote, spawn } from "./threads.util.js";

const N = 1024;

test("1024 threads attach at once (the default); the 1025th gets a RangeError; detach frees the slots", { timeout: 60_000 }, async (t) => {
  const heap = Heap.create({ initialBytes: 2 << 20 }); // default maxThreads
  // Two of them are real workers, the rest Heap objects of this thread (each claims its own slot).
  const remotes = [new Remote(spawn(t, "rpc", { handle: heap.handle })), new Remote(spawn(t, "rpc", { handle: heap.handle }))];
  const slots = new Set([heap.slot, ...(await Promise.all(remotes.map((r) => r.ready))).map((r) => r.slot)]);
  const heaps: Heap[] = [];
  while (slots.size + heaps.length < N) heaps.push(Heap.attach(heap.handle));
  for (const h of heaps) slots.add(h.slot);
  assert.equal(slots.size, N, `${N} distinct slots`);
  assert.deepEqual([...slots].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
  assert.equal(heap.stats().threads, N);

  assert.throws(() => Heap.attach(heap.handle), (e: Error) => e instanceof RangeError && /slot/.test(e.message));
  const late = spawn(t, "rpc", { handle: heap.handle });
  const failure = await firstMessage<unknown>(late).then(() => undefined, (e: Error) => e);
  assert.ok(failure instanceof RangeError && /slot/.test(failure.message), `a worker's attach fails too: ${failure}`);
  assert.equal(heap.stats().threads, N, "failed attaches take no slot");
  heap.check();

  // Every one of them works, and sees the others' blocks.
  const blocks = heaps.map((h, i) => h.malloc(8 + i * 8));
  const fromWorker = await remotes[0].call<number>("make", 1000);
  assert.equal(await remotes[1].call("verifyFree", fromWorker, 1000), -1);
  blocks.forEach((p, i) => heaps[(i + 1) % heaps.length].free(p));
  heap.check();

  for (const h of heaps.splice(0, 60)) h.detach();
  assert.equal(heap.stats().threads, N - 60);
  const again = Heap.attach(heap.handle);
  assert.ok(again.slot < N);
  heaps.push(again);
  for (const h of heaps) h.detach();
  for (const r of remotes) await r.call("detach");
  const st = heap.stats();
  assert.equal(st.threads, 1);
  assert.equal(st.allocated, 0);
  heap.check();
  assert.throws(() => heaps[0].malloc(8), (e: Error & { code?: string }) => e.code === "DETACHED");
});
