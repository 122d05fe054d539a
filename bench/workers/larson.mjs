// larson-style worker (after Larson & Krishnan, as in mimalloc-bench): this thread owns slice `id`
// of a shared slot table; loop: pick a random slot, free what is there, malloc a random size in
// minSize..maxSize, touch its first and last byte. Threads are replaced by new ones every
// generation (the main thread spawns generation g+1 after g has detached), and the new thread
// inherits the slice, so most frees are of blocks another (now gone) thread allocated.
// The touched bytes are checked before each free: another thread writing into a block we own
// would show up as a mismatch.
import { freeWarmBlocks, runWorker, xorshift } from "./common.mjs";
import { covering, fixedView } from "../lib/views.mjs";

/**
 * The larson loop over one slice: `ops` times, a random slot is freed (its touched bytes checked)
 * and refilled with a new block of minSize..maxSize bytes. Returns the net bytes it allocated.
 */
function larson(heap, p, slots, sizes, ops, seed, live, id, base) {
  const n = slots.length;
  const span = p.maxSize - p.minSize + 1;
  let u8 = fixedView(Uint8Array, heap);
  let s = xorshift(seed);
  let net = 0;
  for (let k = 0; k < ops; k++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const i = (s >>> 0) % n;
    const old = slots[i];
    if (old !== 0) {
      const sz = sizes[i];
      u8 = covering(Uint8Array, heap, u8, old + sz);
      if (u8[old] !== (sz & 255) || u8[old + sz - 1] !== (sz & 255)) {
        throw new Error(`larson: block at ${old} (${sz} bytes) was overwritten`);
      }
      heap.free(old);
      net -= sz;
    }
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const size = p.minSize + ((s >>> 0) % span);
    const q = heap.malloc(size);
    if (q === 0) throw new Error(`larson: malloc(${size}) returned 0`);
    u8 = covering(Uint8Array, heap, u8, q + size);
    u8[q] = size;
    u8[q + size - 1] = size;
    slots[i] = q;
    sizes[i] = size;
    net += size;
    if ((k & 1023) === 0) live[id] = base + net;
  }
  return net;
}

runWorker((heap, wd, live) => {
  const p = wd.params, id = wd.id, n = p.perThread;
  const slots = new Uint32Array(wd.shared.slots, id * n * 4, n);
  const sizes = new Uint32Array(wd.shared.sizes, id * n * 4, n);
  const base = live[id];
  const net = larson(heap, p, slots, sizes, p.opsPerGen, wd.seed, live, id, base);
  live[id] = base + net;
  return { ops: p.opsPerGen };
}, (heap, wd) => {
  // Untimed: the same loop on a private slice as large as the timed one, then everything freed.
  // As large: with 1,000 slots instead of 5,000, the heap had not grown and the thread's slow
  // paths had not met the timed run's state (more runs a class, kept runs due, remaps after
  // growth), and the timed run met them first, deoptimized and recompiled. Measured, four bench
  // runs each way, larson 1 -> 2 workers: sabmalloc 1.41-1.53x with 1,000 slots, 1.69-1.84x with
  // 5,000 (jemalloc 1.77-1.88x in the same runs).
  const p = wd.params, n = p.perThread;
  // Arguments of the same shapes as the timed call's (views at an offset into a SharedArrayBuffer,
  // the shared live counts, no closures): the compiled code must fit the timed call as it is, or it
  // deoptimizes and recompiles once the clock runs - on a 2-core machine, with 2 workers, the
  // compiler thread then competes with the workers.
  const slots = new Uint32Array(new SharedArrayBuffer(n * 8), n * 4, n), sizes = new Uint32Array(new SharedArrayBuffer(n * 8), n * 4, n);
  const scratch = new Float64Array(new SharedArrayBuffer(8));
  // The timed call's seed (a uint32 from workerData) and base (read from a Float64Array) are heap
  // numbers where the warm-up's XORed seeds and a literal 0 were small integers: the code compiled
  // for those deoptimized at the timed call's first operation, and V8 compiled it again while the
  // clock ran (--trace-deopt: "not a Smi", in every timed call whose seed was 2^30 or more). So the
  // warm-up seeds vary in every bit (as uint32s: both representations) and its base is read from a
  // Float64Array too.
  const seedOf = (k) => (wd.seed ^ Math.imul(k + 1, 0x9e3779b9)) >>> 0;
  const base = scratch[0];
  // Many short calls, not one long one: V8 then optimizes the function itself, and the timed call
  // enters optimized code at once (code optimized on stack, inside one long call, is entered by
  // a new call only after a while in the slower tiers).
  const ops = Math.min(p.opsPerGen, 500000);
  // First, calls too short to make it hot, over 4 slots (a free from the fifth operation on), so
  // that every site of the loop has type feedback before V8 first compiles it. A first call of
  // 5,000 operations got hot inside itself, before V8 had given the function its feedback vector
  // (it does after a few calls): compiled then, it deoptimized at the next call's first such site,
  // and V8 then ran it as on-stack-replaced code, ~2x as slow, to the end. Measured with
  // %GetOptimizationStatus at the timed call (larson, 1 and 2 workers, 5 repetitions): 3 of 30
  // timed worker runs started in baseline code before; with this and primeViews, 0 of 90 (3 runs).
  const few = new Uint32Array(new SharedArrayBuffer(32), 16, 4), fewSizes = new Uint32Array(new SharedArrayBuffer(32), 16, 4);
  for (let k = 0; k < 40; k++) larson(heap, p, few, fewSizes, 8, seedOf(k), scratch, 0, base);
  for (let i = 0; i < few.length; i++) if (few[i] !== 0) heap.free(few[i]);
  for (let k = 0; k < 100; k++) larson(heap, p, slots, sizes, Math.ceil(ops / 100), seedOf(100 + k), scratch, 0, base);
  // The timed run starts by freeing blocks that other threads allocated: free some now (the main
  // thread made them for this), amid this thread's own cached regions, then run the loop again.
  freeWarmBlocks(heap, wd);
  // Then on for at least warmMs (400 ms in a full run), however fast the loop: V8 compiles a fresh
  // worker's code on background threads, the slow paths (fills, flushes, locate) last, and a
  // warm-up that ends before the compiler has caught up leaves that work to the timed run, where
  // with 2 workers on 2 cores it takes CPU from them (with 1 worker it runs on the idle core).
  // Measured, 2 generations of 2 workers: 68 compilations (250 ms of compiler time) while the
  // clock ran -> 12 (36 ms).
  const t0 = performance.now();
  for (let k = 0; k < 100 || performance.now() - t0 < p.warmMs; k++) {
    larson(heap, p, slots, sizes, Math.ceil(ops / 100), seedOf(200 + k), scratch, 0, base);
  }
  for (let i = 0; i < n; i++) if (slots[i] !== 0) heap.free(slots[i]);
});
