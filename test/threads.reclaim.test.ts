// A worker terminated without detach(): reclaim(slot) returns its thread cache and breaks the locks
// it held; its live blocks stay live (and can be freed by any thread).

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Heap } from "../src/index.js";
import { arenaWord } from "../src/arena.js";
import { L } from "../src/layout.js";
import type { Space } from "../src/space.js";
import { firstMessage, Remote, sleep, spawn } from "./threads.util.js";
import { verify, Views } from "./workers/shared.js";

interface Victim {
  slot: number;
  held: Array<[number, number]>;
}

async function terminated(t: TestContext, heap: Heap, holdLocks: boolean, threads: number): Promise<Victim> {
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const w = spawn(t, "victim", { handle: heap.handle, ctl, holdLocks });
  const victim = await firstMessage<Victim>(w);
  const held = victim.held.reduce((a, [p]) => a + heap.usableSize(p), 0);
  const before = heap.stats();
  assert.equal(before.threads, threads);
  assert.ok(before.allocated > held, `its cache holds regions (${before.allocated} bytes allocated, ${held} held)`);
  if (holdLocks) {
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    for (let i = 0; Atomics.load(ctl, 1) === 0; i++) {
      assert.ok(i < 10_000, "the worker never took the locks");
      await sleep(1);
    }
  }
  await w.terminate();
  return victim;
}

function lockWords(heap: Heap): number[] {
  const s = (heap as unknown as { s: Space }).s;
  const words = [s.i32[s.hdr + L.H_LOCK]];
  for (let a = 0; a < s.i32[s.hdr + L.H_NARENAS]; a++) words.push(s.i32[arenaWord(s, a) + L.A_LOCK]);
  return words;
}

for (const holdLocks of [false, true]) {
  test(`reclaim() of a terminated worker${holdLocks ? " that held the arena and global locks" : ""}`, { timeout: 30_000 }, async (t) => {
    const heap = Heap.create({ initialBytes: 2 << 20, arenas: 1 });
    // With the locks held, the reclaim is made by a worker attached beforehand (attach takes a lock):
    // should the locks stay held, it hangs there, where the test's timeout can end it.
    const rescuer = holdLocks ? new Remote(spawn(t, "rpc", { handle: heap.handle })) : undefined;
    await rescuer?.ready;
    const { slot, held } = await terminated(t, heap, holdLocks, rescuer ? 3 : 2);
    assert.notEqual(slot, heap.slot);
    // (No stats() here when the locks are held: it would wait for them forever.)
    if (!holdLocks) assert.equal(heap.stats().threads, 2, "a terminated thread keeps its slot until reclaim()");

    if (rescuer) {
      await rescuer.call("reclaim", slot);
      await rescuer.call("detach");
    } else {
      heap.reclaim(slot);
    }
    // Checked before any call that takes a lock: a lock left held would hang this thread.
    assert.deepEqual(lockWords(heap), lockWords(heap).map(() => L.LOCK_FREE), "every lock is free");
    const st = heap.stats();
    assert.equal(st.threads, 1);
    assert.equal(st.allocated, held.reduce((a, [p]) => a + heap.usableSize(p), 0), "exactly the blocks it held");
    heap.check();

    heap.reclaim(slot); // a free slot now: nothing happens
    assert.throws(() => heap.reclaim(heap.slot), RangeError);
    assert.throws(() => heap.reclaim(1 << 20), RangeError);

    // Its blocks are intact, and any thread can free them.
    const v = new Views(heap);
    for (const [p, size] of held) {
      assert.equal(verify(v, p, size), -1, `block ${p} of ${size} bytes`);
      heap.free(p);
    }
    heap.flush();
    assert.equal(heap.stats().allocated, 0);
    heap.check();
    // The slot is free for the next thread.
    const next = Heap.attach(heap.handle);
    assert.equal(heap.stats().threads, 2);
    next.detach();
    heap.check();
  });
}

test("reclaim() of a free slot is a no-op; of its own slot a RangeError", () => {
  const heap = Heap.create({ initialBytes: 1 << 20 });
  const other = Heap.attach(heap.handle);
  const slot = other.slot;
  other.detach();
  const before = heap.stats();
  heap.reclaim(slot);
  assert.deepEqual(heap.stats(), before);
  assert.throws(() => heap.reclaim(heap.slot), RangeError);
  assert.throws(() => heap.reclaim(-1), RangeError);
  heap.check();
});

test("reclaim() of one dead slot by two threads at the same moment: one returns its cache", { timeout: 30_000 }, async (t) => {
  for (let round = 0; round < 8; round++) {
    const heap = Heap.create({ initialBytes: 2 << 20, arenas: 2 });
    const rescuers = [0, 1].map(() => new Remote(spawn(t, "rpc", { handle: heap.handle })));
    await Promise.all(rescuers.map((r) => r.ready));
    const ctl = heap.calloc(2, 4);
    const { slot, held } = await terminated(t, heap, false, 4);
    await Promise.all(rescuers.map((r) => r.call("reclaimTogether", slot, ctl, 2)));
    heap.check();
    heap.flush(); // (this thread's cache holds regions since its calloc)
    const st = heap.stats();
    assert.equal(st.threads, 3);
    assert.equal(st.lateDoubleFrees, 0, "no region went back twice");
    assert.equal(st.allocated, held.reduce((a, [p]) => a + heap.usableSize(p), 0) + heap.usableSize(ctl));
    for (const [p] of held) heap.free(p);
    heap.free(ctl);
    heap.flush();
    for (const r of rescuers) await r.call("detach");
    assert.equal(heap.stats().allocated, 0);
    heap.check();
  }
});
