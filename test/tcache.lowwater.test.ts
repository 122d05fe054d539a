// Regression: malloc's slow path (alignedAlloc of a small class, every malloc in debug mode) popped
// regions off the thread cache without lowering the cache's low-water mark; the cache GC then
// flushed past the bottom of the stack (a count of -1, regions given back twice, a damaged heap).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap } from "../src/index.js";

function churn(heap: Heap, alloc: (size: number, r: () => number) => number): void {
  let x = 77;
  const r = (): number => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
  const live: number[] = [];
  for (let op = 0; op < 120_000; op++) {
    if (live.length === 0 || (live.length < 100 && r() < 0.5)) {
      const size = r() < 0.9 ? 8 + Math.floor(r() * 504) : 513 + Math.floor(r() * 13000);
      const p = alloc(size, r);
      assert.notEqual(p, 0);
      live.push(p);
    } else {
      const i = Math.floor(r() * live.length);
      heap.free(live[i]);
      live[i] = live[live.length - 1];
      live.pop();
    }
    if (op % 20_000 === 0) heap.check();
  }
  for (const p of live) heap.free(p);
  heap.check();
  heap.flush();
  assert.equal(heap.stats().allocated, 0);
}

test("alignedAlloc of small classes keeps the thread cache consistent", () => {
  const heap = Heap.create({ initialBytes: 4 << 20 });
  churn(heap, (size, r) => heap.alignedAlloc(2 ** (4 + Math.floor(r() * 9)), size));
});

test("debug mode: malloc's slow path keeps the thread cache consistent", () => {
  const heap = Heap.create({ initialBytes: 4 << 20, debug: true });
  churn(heap, (size) => heap.malloc(size));
});
