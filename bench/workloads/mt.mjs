// Multi-threaded workloads (worker_threads, sabmalloc only: the peers are not thread-safe).
// Each one:
//   id, title, unit, script (in bench/workers/), quick, memory
//   native                           the kind of the C twin in bench/native/native.c, if any
//   params(cfg)                      per-worker parameters (weak scaling: work per worker is fixed)
//   gens(p)                          generations of threads per repetition (threads replaced)
//   bytes(p, workers)                estimate of peak live bytes (sizes the heap's maxBytes)
//   setup(heap, workers, p, rng)     main thread, untimed: shared buffers, pre-filled objects;
//                                    returns { shared (passed to the workers), mainNet }
//   teardown(heap, shared, p)        main thread, untimed: frees whatever is left
import { freeTable } from "../lib/pattern.mjs";
import { fixedView } from "../lib/views.mjs";

const MiB = 1 << 20;
const scaled = (n, cfg, min = 1) => Math.max(min, Math.round(n * (cfg.scale ?? 1)));

/**
 * A generation's blocks of this (the main) thread, `perWorker` for each of `w` workers to free in
 * its warm-up (workers/common.mjs: freeWarmBlocks), of sizes from `sizeOf()`: { warm, warmBytes },
 * warmBytes being a worker's share of their requested bytes.
 */
function warmBlocks(heap, w, perWorker, sizeOf, name) {
  const n = w * perWorker;
  const warmSab = new SharedArrayBuffer(n * 4), warm = new Uint32Array(warmSab);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const size = sizeOf();
    warm[i] = heap.malloc(size);
    if (warm[i] === 0) throw new Error(`${name} setup: out of memory`);
    bytes += size;
  }
  return { warm: warmSab, warmBytes: bytes / w };
}

const larson = {
  id: "larson",
  title: "larson: random free+malloc 8..1000 B in per-thread slots, threads replaced",
  unit: "malloc (+free)",
  script: "larson.mjs",
  native: "larson",
  quick: true,
  memory: true,
  params: (cfg) => ({
    perThread: cfg.quick ? 1000 : 5000,
    // Every generation is a fresh worker, so V8 compiles the loop again: the worker warms the loop up
    // on private data before the clock starts (without that, 300k ops a generation measured mostly
    // the JIT: ~140 ns per op, flat from 1 to 2 workers).
    opsPerGen: scaled(cfg.quick ? 300000 : 2000000, cfg, 1000),
    gensPerRep: 2,
    minSize: 8, maxSize: 1000,
    warmRemote: 500,
  }),
  gens: (p) => p.gensPerRep,
  bytes: (p, w) => w * p.perThread * 1100 + 16 * MiB,
  setup(heap, w, p, rng) {
    const n = w * p.perThread;
    const slotsSab = new SharedArrayBuffer(n * 4), sizesSab = new SharedArrayBuffer(n * 4);
    const slots = new Uint32Array(slotsSab), sizes = new Uint32Array(sizesSab);
    let u8 = fixedView(Uint8Array, heap), net = 0;
    for (let i = 0; i < n; i++) {
      const size = rng.int(p.minSize, p.maxSize);
      const q = heap.malloc(size);
      if (q === 0) throw new Error("larson setup: out of memory");
      if (q + size > u8.length) u8 = fixedView(Uint8Array, heap);
      u8[q] = size; u8[q + size - 1] = size;
      slots[i] = q; sizes[i] = size; net += size;
    }
    return { shared: { slots: slotsSab, sizes: sizesSab }, mainNet: net };
  },
  // Per generation: blocks of this (the main) thread for each worker's warm-up to free, so that
  // the frees of blocks from another arena are compiled before the clock starts too.
  genSetup: (heap, w, p, rng) => warmBlocks(heap, w, p.warmRemote, () => rng.int(p.minSize, p.maxSize), "larson"),
  teardown(heap, shared) {
    const slots = new Uint32Array(shared.slots);
    for (let i = 0; i < slots.length; i++) if (slots[i] !== 0) { heap.free(slots[i]); slots[i] = 0; }
  },
};

const xmalloc = {
  id: "xmalloc",
  title: "xmalloc: producers malloc 64 B, consumers free them (all frees remote)",
  unit: "free",
  script: "xmalloc.mjs",
  quick: true,
  memory: true,
  params: (cfg) => ({ size: 64, ring: 4096, perProducer: scaled(cfg.quick ? 300000 : 1000000, cfg, 1000), warmRemote: 20000 }),
  gens: () => 1,
  bytes: (p, w) => w * (p.ring * 128 + p.warmRemote * 64) + 16 * MiB,
  setup(heap, w, p) {
    const pairs = Math.max(1, w >> 1);
    return {
      shared: { rings: new SharedArrayBuffer(pairs * p.ring * 4), ctl: new SharedArrayBuffer(pairs * 128) },
      mainNet: 0,
    };
  },
  // Blocks of this (the main) thread for each worker's warm-up to free: remote frees, as a
  // consumer's, compiled before the clock starts (see larson).
  genSetup: (heap, w, p) => warmBlocks(heap, w, p.warmRemote, () => p.size, "xmalloc"),
  teardown() { /* every object was freed by a consumer */ },
};

const mstress = {
  id: "mstress",
  title: "mstress: random sizes 8 B..4 MiB, objects swapped between threads, patterns verified",
  unit: "alloc/free/transfer",
  script: "mstress.mjs",
  quick: true,
  memory: true,
  params: (cfg) => ({
    local: 500, globalPerWorker: 250, transferPct: 10, emptyPct: 10, maxBytes: 4 * MiB,
    opsPerGen: scaled(cfg.quick ? 20000 : 50000, cfg, 500),
    gensPerRep: 2,
  }),
  gens: (p) => p.gensPerRep,
  bytes: (p, w) => w * (p.local + p.globalPerWorker) * 20000 + 256 * MiB,
  setup(heap, w, p) {
    return { shared: { global: new SharedArrayBuffer(w * p.globalPerWorker * 4) }, mainNet: 0 };
  },
  teardown(heap, shared, p) {
    freeTable(heap, new Uint32Array(shared.global), p.maxBytes);
  },
};

function cache(mode) {
  return {
    id: `cache-${mode}`,
    title: mode === "scratch"
      ? "cache-scratch: 8 B objects handed to threads, freed, reallocated and written (passive false sharing)"
      : "cache-thrash: each thread mallocs and writes its own 8 B objects (active false sharing)",
    unit: "pass of writes",
    script: "cache-scratch.mjs",
    quick: mode === "scratch",
    memory: false,
    params: (cfg) => ({ objSize: 8, iterations: 200, repetitions: scaled(cfg.quick ? 5000 : 15000, cfg, 10) }),
    gens: () => 1,
    bytes: () => 16 * MiB,
    setup(heap, w, p) {
      const initial = [];
      if (mode === "scratch") {
        for (let i = 0; i < w; i++) {
          const q = heap.malloc(p.objSize);
          if (q === 0) throw new Error("cache-scratch setup: out of memory");
          initial.push(q);
        }
      }
      return { shared: { mode, initial }, mainNet: 0 };
    },
    teardown() { /* the workers freed the initial objects */ },
  };
}

// Each worker builds, walks and frees its own trees (the single-threaded tree workload's loop):
// mostly thread-local mallocs and frees of one small size, the case thread caches are for.
const tree = {
  id: "tree",
  title: "tree: each worker builds, walks and frees its own binary trees of 16-byte nodes",
  unit: "node",
  script: "tree.mjs",
  native: "tree",
  quick: true,
  memory: true,
  // smoke runs (scale < 0.1): depth 12
  params: (cfg) => ({ depth: (cfg.scale ?? 1) < 0.1 ? 12 : 16, trees: scaled(cfg.quick ? 16 : 64, cfg) }),
  gens: () => 1,
  bytes: (p, w) => w * 2 ** p.depth * 32 + 16 * MiB,
  setup: () => ({ shared: {}, mainNet: 0 }),
  teardown() { /* every worker frees its trees */ },
};

export const MT_WORKLOADS = [larson, xmalloc, mstress, cache("scratch"), cache("thrash"), tree];
