// cache-scratch / cache-thrash (after the Hoard benchmarks): false sharing.
// scratch (passive): the main thread allocated one small object per worker, next to each other;
//   each worker frees the one it was given, then repeatedly mallocs an object of the same size,
//   writes it `repetitions` times and frees it. An allocator that hands a thread the region
//   another thread's object shares a cache line with makes the cores fight over that line.
// thrash (active): the same without the hand-over: each worker's own small objects.
// ops = iterations x repetitions (one pass of writes over the object each).
import { runWorker } from "./common.mjs";
import { fixedView } from "../lib/views.mjs";

runWorker((heap, wd) => {
  const p = wd.params, size = p.objSize;
  if (wd.shared.mode === "scratch") heap.free(wd.shared.initial[wd.id]);
  let u8 = fixedView(Uint8Array, heap);
  let check = 0;
  for (let it = 0; it < p.iterations; it++) {
    const q = heap.malloc(size);
    if (q === 0) throw new Error(`cache-scratch: malloc(${size}) returned 0`);
    if (q + size > u8.length) u8 = fixedView(Uint8Array, heap);
    for (let r = 0; r < p.repetitions; r++) {
      for (let b = 0; b < size; b++) {
        u8[q + b] = b;
        u8[q + b] = u8[q + b] + 1;
      }
    }
    check += u8[q + size - 1];
    heap.free(q);
  }
  if (check !== p.iterations * size) throw new Error("cache-scratch: object written by another thread");
  return { ops: p.iterations * p.repetitions };
});
