// A worker that dies holding a lock: a thread that needs that lock does not wait for ever. With
// watch(), it repairs the lock itself once the worker counts as gone, and the worker's slot is
// reclaimed when its 'exit' event runs; without, it gets LOCK_TIMEOUT after the heap's lockTimeout
// with its call undone, and works again once the slot is reclaimed.

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Heap, HeapError } from "../src/index.js";
import { TERMINATE_GRACE_MS } from "../src/slots.js";
import { firstMessage, sleep, spawn } from "./threads.util.js";
import { verify, Views } from "./workers/shared.js";

interface Victim {
  slot: number;
  held: Array<[number, number]>;
}

/** Starts a victim that takes its arena's lock and the global lock, and waits to be terminated. */
async function lockHolder(t: TestContext, heap: Heap, watch: boolean): Promise<{ w: import("node:worker_threads").Worker; victim: Victim }> {
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const w = spawn(t, "victim", { ctl, holdLocks: true });
  w.postMessage(watch ? heap.watch(w) : heap.handle);
  const victim = await firstMessage<Victim>(w);
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  for (let i = 0; Atomics.load(ctl, 1) === 0; i++) {
    assert.ok(i < 10_000, "the worker never took the locks");
    await sleep(1);
  }
  return { w, victim };
}

/** Waits (polling every 5 ms, at most `polls` times) until the watched worker's slot is reclaimed. */
async function untilReclaimed(heap: Heap, polls: number): Promise<void> {
  for (let i = 0; heap.stats().threads > 1; i++) {
    assert.ok(i < polls, "the watched worker's slot was never reclaimed");
    await sleep(5);
  }
}

/** The victim's blocks kept their bytes; freed, they leave the heap empty and consistent. */
function freeHeldIntact(heap: Heap, victim: Victim): void {
  const v = new Views(heap);
  for (const [q, size] of victim.held) {
    assert.equal(verify(v, q, size), -1);
    heap.free(q);
  }
  heap.flush();
  assert.equal(heap.stats().allocated, 0);
  heap.check();
}

test("watch(): a thread blocked on a lock of a terminated worker repairs it and goes on", { timeout: 30_000 }, async (t) => {
  const heap = Heap.create({ initialBytes: 2 << 20, arenas: 1 });
  const { w, victim } = await lockHolder(t, heap, true);
  void w.terminate(); // not awaited: this thread blocks below before any event can run
  const t0 = Date.now();
  const p = heap.malloc(100_000); // needs the arena lock the worker holds
  const waited = Date.now() - t0;
  assert.notEqual(p, 0);
  assert.ok(waited >= TERMINATE_GRACE_MS - 50 && waited < TERMINATE_GRACE_MS + 5000, `waited ${waited} ms`);
  heap.check();
  heap.free(p);
  // Its 'exit' event reclaims the slot: its cache comes back, its blocks stay live.
  await untilReclaimed(heap, 2000);
  freeHeldIntact(heap, victim);
});

test("without watch(): LOCK_TIMEOUT after lockTimeout, the call undone; reclaim() and it works", { timeout: 30_000 }, async (t) => {
  const heap = Heap.create({ initialBytes: 2 << 20, arenas: 1, lockTimeout: 300 });
  const before = heap.malloc(64);
  const { w, victim } = await lockHolder(t, heap, false);
  await w.terminate();
  const t0 = Date.now();
  assert.throws(() => heap.malloc(100_000), (e: unknown) => e instanceof HeapError && e.code === "LOCK_TIMEOUT" &&
    new RegExp(`slot ${victim.slot}`).test(e.message));
  assert.ok(Date.now() - t0 >= 300);
  heap.reclaim(victim.slot);
  const p = heap.malloc(100_000);
  assert.notEqual(p, 0);
  heap.check();
  for (const [q] of victim.held) heap.free(q);
  heap.free(p);
  heap.free(before);
  heap.flush();
  assert.equal(heap.stats().allocated, 0);
  heap.check();
});

test("lockTimeout is an option: a non-negative integer number of milliseconds", () => {
  assert.throws(() => Heap.create({ lockTimeout: -1 }), RangeError);
  assert.throws(() => Heap.create({ lockTimeout: 1.5 }), RangeError);
  assert.throws(() => Heap.create({ lockTimeout: "5" as unknown as number }), TypeError);
  Heap.create({ initialBytes: 1 << 20, lockTimeout: 0 }).check();
});

test("watch() of a browser's worker (terminate(), no 'exit' event): its slot is reclaimed TERMINATE_GRACE_MS after terminate(), not before", { timeout: 30_000 }, async (t) => {
  const heap = Heap.create({ initialBytes: 2 << 20 });
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const w = spawn(t, "victim", { ctl, holdLocks: false });
  // What a browser's Worker gives watch(): terminate(), and no event when the thread has stopped.
  const browserLike = { terminate: (): unknown => w.terminate() };
  w.postMessage(heap.watch(browserLike));
  const victim = await firstMessage<Victim>(w);
  assert.equal(heap.stats().threads, 2);
  const t0 = Date.now();
  browserLike.terminate();
  // Chromium lets a worker running script go on for 2 s after terminate(): no reclaim before then.
  await sleep(2000);
  assert.equal(heap.stats().threads, 2, "reclaimed before the grace period");
  await untilReclaimed(heap, 1000);
  const waited = Date.now() - t0;
  assert.ok(waited >= TERMINATE_GRACE_MS - 50 && waited < TERMINATE_GRACE_MS + 3000, `reclaimed after ${waited} ms`);
  assert.equal(heap.stats().cached, 0, "its cache came back");
  freeHeldIntact(heap, victim);
});
