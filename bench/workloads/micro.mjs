// Single-threaded micro workloads. Each one:
//   id, group, title, unit     names; `unit` says what one "op" is
//   quick                      part of the --quick subset
//   memory                     measured in the memory pass (peak active/mapped over peak requested)
//   params(cfg)                the run's parameters (cfg.quick, cfg.scale)
//   warm(p)                    smaller parameters for the warm-up runs
//   memParams(p)               parameters for the memory pass
//   trace(p, rng)              the seeded request trace (sizes, slot indices), shared by all allocators
//   bytes(p, t)                estimate of the peak bytes live, to size pools that cannot grow
//   calls(p)                   about how many allocator calls one run makes (memory sampling rate)
//   run(a, p, t, deadline)     the measured function -> { ms, ops, timedOut, dirty }
//   native                     the kind of the C twin in bench/native/native.c (native columns)
//   styles                     the adapter styles it runs on (default heap, typed, native; see
//                              adapters/index.mjs); runObjects(a, p, t, deadline): the variant for
//                              the "objects" style (plain JS objects, tree workloads only)
//
// The run functions are cloned per allocator (new Function(source)) so that every allocator gets
// its own inline caches: they must not refer to anything outside themselves except globals
// (performance, Math, Error). They check the deadline (see below) and stop early ("timed out")
// when it has passed; `dirty` tells the runner the allocator still holds blocks.
import { sizeTrace, indexTrace, sum } from "../lib/rng.mjs";

const KiB = 1024, MiB = 1024 * 1024;
const scaled = (n, cfg, min = 1) => Math.max(min, Math.round(n * (cfg.scale ?? 1)));

// ---------------------------------------------------------------- the measured functions
//
// Deadline checks: reading the clock costs ~30 ns, more than a fast malloc+free, while one
// thi.ng free with a million live blocks costs milliseconds (pointer chasing through 200 MB).
// So the checks are adaptive: `stride` operations between two clock readings, doubled while two
// readings are less than 1 ms apart (up to 4096), halved when they are more than 2 ms apart.
// A slow allocator stops within a few operations of the deadline. The flat loops run their
// operations in chunks of `stride`: an inner loop with nothing but the workload's own lines, then
// the clock. A counter tested inside the loop cost sabmalloc's cache-hit pair 7-13% of its time
// and a batch of 1,000 blocks 15% in A/B runs: with malloc's and free's bodies inlined, V8 kept
// the counter's variables on the stack. C's compiler takes either form the same; native.c runs the
// same chunks. The realloc chains and the trees count their operations between readings. Each
// function repeats the same few lines: they cannot share code, as the harness compiles a copy of
// each function alone (one shared Clock object for them doubled the no-allocator floor's time).

function runMallocFree(a, p, t, deadline) {
  const n = p.ops, size = p.size;
  let i = 0, timedOut = false;
  let stride = 1, last = performance.now();
  const t0 = last;
  while (i < n) {
    const end = n - i > stride ? i + stride : n;
    for (; i < end; i++) {
      const q = a.malloc(size);
      if (!q) throw new Error("malloc(" + size + ") returned null");
      a.free(q);
    }
    const now = performance.now();
    if (now > deadline) { timedOut = true; break; }
    const d = now - last; last = now;
    stride = d < 1 ? (stride < 4096 ? stride * 2 : stride) : d > 2 && stride > 1 ? stride >> 1 : stride;
  }
  return { ms: performance.now() - t0, ops: i, timedOut, dirty: false };
}

function runBatch(a, p, t, deadline) {
  const n = p.n, rounds = p.rounds, lifo = p.lifo, sizes = t.sizes;
  const slots = a.slots(n);
  let calls = 0, timedOut = false;
  let stride = 1, last = performance.now();
  const t0 = last;
  outer: for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n;) {
      const end = n - i > stride ? i + stride : n;
      calls += end - i;
      for (; i < end; i++) {
        const q = a.malloc(sizes[i]);
        if (!q) throw new Error("malloc(" + sizes[i] + ") returned null");
        slots[i] = q;
      }
      const now = performance.now();
      if (now > deadline) { timedOut = true; break outer; }
      const d = now - last; last = now;
      stride = d < 1 ? (stride < 4096 ? stride * 2 : stride) : d > 2 && stride > 1 ? stride >> 1 : stride;
    }
    stride = 1; // frees may cost far more than mallocs (thi.ng): adapt again
    for (let k = 0; k < n;) {
      const end = n - k > stride ? k + stride : n;
      calls += end - k;
      for (; k < end; k++) {
        const i = lifo ? n - 1 - k : k;
        a.free(slots[i]);
        slots[i] = 0;
      }
      const now = performance.now();
      if (now > deadline) { timedOut = true; break outer; }
      const d = now - last; last = now;
      stride = d < 1 ? (stride < 4096 ? stride * 2 : stride) : d > 2 && stride > 1 ? stride >> 1 : stride;
    }
  }
  return { ms: performance.now() - t0, ops: calls / 2, timedOut, dirty: timedOut };
}

function runReplace(a, p, t, deadline) {
  const S = p.slots, n = p.ops, init = t.init, idx = t.idx, sizes = t.sizes;
  const slots = a.slots(S);
  for (let i = 0; i < S; i++) {
    const q = a.malloc(init[i]);
    if (!q) throw new Error("malloc(" + init[i] + ") returned null");
    slots[i] = q;
    if ((i & 4095) === 4095 && performance.now() > deadline) return { ms: 0, ops: 0, timedOut: true, dirty: true };
  }
  let k = 0, timedOut = false;
  let stride = 1, last = performance.now();
  const t0 = last;
  while (k < n) {
    const end = n - k > stride ? k + stride : n;
    for (; k < end; k++) {
      const i = idx[k];
      a.free(slots[i]);
      const q = a.malloc(sizes[k]);
      if (!q) throw new Error("malloc(" + sizes[k] + ") returned null");
      slots[i] = q;
    }
    const now = performance.now();
    if (now > deadline) { timedOut = true; break; }
    const d = now - last; last = now;
    stride = d < 1 ? (stride < 4096 ? stride * 2 : stride) : d > 2 && stride > 1 ? stride >> 1 : stride;
  }
  const ms = performance.now() - t0;
  if (timedOut) return { ms, ops: k, timedOut, dirty: true };
  // clean up, untimed but bounded
  const cleanupDeadline = performance.now() + p.limitMs;
  for (let i = 0; i < S; i++) {
    a.free(slots[i]);
    slots[i] = 0;
    if ((i & 63) === 63 && performance.now() > cleanupDeadline) return { ms, ops: k, timedOut: false, dirty: true };
  }
  return { ms, ops: k, timedOut: false, dirty: false };
}

function runReallocStep(a, p, t, deadline) {
  const growths = p.growths, max = p.max, deltas = t.deltas, D = deltas.length;
  let ops = 0, k = 0, timedOut = false;
  let chk = 0, stride = 1, last = performance.now();
  const t0 = last;
  for (let g = 0; g < growths && !timedOut; g++) {
    let size = 8;
    let q = a.malloc(size);
    if (!q) throw new Error("malloc(8) returned null");
    while (size < max) {
      size += deltas[k];
      k = k + 1 === D ? 0 : k + 1;
      if (size > max) size = max;
      const r = a.realloc(q, size);
      if (!r) throw new Error("realloc to " + size + " returned null");
      q = r;
      ops++;
      if (++chk >= stride) {
        chk = 0;
        const now = performance.now();
        if (now > deadline) { timedOut = true; break; }
        const d = now - last; last = now;
        stride = d < 1 ? (stride < 4096 ? stride * 2 : stride) : d > 2 && stride > 1 ? stride >> 1 : stride;
      }
    }
    a.free(q);
  }
  return { ms: performance.now() - t0, ops, timedOut, dirty: false };
}

function runReallocDouble(a, p, t, deadline) {
  const growths = p.growths, max = p.max;
  let ops = 0, timedOut = false;
  const t0 = performance.now();
  for (let g = 0; g < growths; g++) {
    let size = 8;
    let q = a.malloc(size);
    if (!q) throw new Error("malloc(8) returned null");
    while (size < max) {
      size = size * 2 > max ? max : size * 2;
      const r = a.realloc(q, size);
      if (!r) throw new Error("realloc to " + size + " returned null");
      q = r;
      ops++;
    }
    a.free(q);
    if ((g & 7) === 7 && performance.now() > deadline) { timedOut = true; break; }
  }
  return { ms: performance.now() - t0, ops, timedOut, dirty: false };
}

function runCalloc(a, p, t, deadline) {
  const n = p.ops, sizes = t.sizes, mask = sizes.length - 1;
  let i = 0, timedOut = false;
  let stride = 1, last = performance.now();
  const t0 = last;
  while (i < n) {
    const end = n - i > stride ? i + stride : n;
    for (; i < end; i++) {
      const size = sizes[i & mask];
      const q = a.calloc(1, size);
      if (!q) throw new Error("calloc(1, " + size + ") returned null");
      a.free(q);
    }
    const now = performance.now();
    if (now > deadline) { timedOut = true; break; }
    const d = now - last; last = now;
    stride = d < 1 ? (stride < 4096 ? stride * 2 : stride) : d > 2 && stride > 1 ? stride >> 1 : stride;
  }
  return { ms: performance.now() - t0, ops: i, timedOut, dirty: false };
}

// Tree: a complete binary tree of 16-byte nodes (left, right, payload: three u32 words of the
// node, the fourth unused), built pre-order, walked (count and payload sum checked), freed
// post-order, `rounds` times. The node is written through the allocator's memory (a.view(): a
// Uint32Array, taken again when a node lies beyond it). ops = nodes freed. A run that passes the
// deadline abandons the tree (dirty: the runner makes a fresh instance).
function runTree(a, p, t, deadline) {
  const depth = p.depth, rounds = p.rounds, nodes = 2 ** depth - 1;
  let u32 = a.view();
  let k = 0, frees = 0, stop = false, tStop = 0, count = 0, sum = 0, expect = 0;
  let chk = 0, stride = 1, last = performance.now();
  const t0 = last;
  const tick = () => {
    if (++chk >= stride) {
      chk = 0;
      const now = performance.now();
      if (now > deadline) { stop = true; tStop = now; return; }
      const d = now - last; last = now;
      stride = d < 1 ? (stride < 4096 ? stride * 2 : stride) : d > 2 && stride > 1 ? stride >> 1 : stride;
    }
  };
  const build = (d) => {
    const q = a.malloc(16);
    if (!q) throw new Error("malloc(16) returned null");
    const v = k++ & 15;
    expect += v;
    let l = 0, r = 0;
    if (d > 1 && !stop) { l = build(d - 1); r = build(d - 1); }
    if (q + 16 > u32.length * 4) u32 = a.view();
    const i = q >>> 2;
    u32[i] = l; u32[i + 1] = r; u32[i + 2] = v;
    if (!stop) tick();
    return q;
  };
  const walk = (q) => {
    count++;
    const i = q >>> 2;
    sum += u32[i + 2];
    const l = u32[i], r = u32[i + 1];
    if (l) walk(l);
    if (r) walk(r);
  };
  const kill = (q) => {
    const i = q >>> 2;
    const l = u32[i], r = u32[i + 1];
    if (l && !stop) kill(l);
    if (r && !stop) kill(r);
    if (stop) return;
    a.free(q);
    frees++;
    tick();
  };
  for (let r = 0; r < rounds && !stop; r++) {
    count = 0; sum = 0; expect = 0;
    const root = build(depth);
    if (!stop) {
      walk(root);
      if (count !== nodes || sum !== expect) throw new Error("tree walk: " + count + " nodes, payload sum " + sum + ", expected " + nodes + ", " + expect);
    }
    kill(root);
  }
  return { ms: (stop ? tStop : performance.now()) - t0, ops: frees, timedOut: stop, dirty: stop };
}

// The same tree of plain JS objects { left, right, value }, "freed" by dropping the root: the
// garbage collector's work falls into the timed runs as it happens (scavenges, and the old
// generation's collections while later trees are built); the last tree's is left to the next
// untimed gc(). ops = nodes of the trees dropped.
function runTreeObjects(a, p, t, deadline) {
  const depth = p.depth, rounds = p.rounds, nodes = 2 ** depth - 1;
  let k = 0, ops = 0, stop = false, tStop = 0, count = 0, sum = 0, expect = 0;
  let chk = 0, stride = 1, last = performance.now();
  const t0 = last;
  const tick = () => {
    if (++chk >= stride) {
      chk = 0;
      const now = performance.now();
      if (now > deadline) { stop = true; tStop = now; return; }
      const d = now - last; last = now;
      stride = d < 1 ? (stride < 4096 ? stride * 2 : stride) : d > 2 && stride > 1 ? stride >> 1 : stride;
    }
  };
  const build = (d) => {
    const v = k++ & 15;
    expect += v;
    const n = { left: null, right: null, value: v };
    if (d > 1 && !stop) { n.left = build(d - 1); n.right = build(d - 1); }
    if (!stop) tick();
    return n;
  };
  const walk = (n) => {
    count++;
    sum += n.value;
    if (n.left !== null) walk(n.left);
    if (n.right !== null) walk(n.right);
  };
  for (let r = 0; r < rounds && !stop; r++) {
    count = 0; sum = 0; expect = 0;
    let root = build(depth);
    if (!stop) {
      walk(root);
      if (count !== nodes || sum !== expect) throw new Error("tree walk: " + count + " nodes, payload sum " + sum + ", expected " + nodes + ", " + expect);
      ops += nodes;
    }
    root = null; // the free
  }
  return { ms: (stop ? tStop : performance.now()) - t0, ops, timedOut: stop, dirty: false };
}

// ---------------------------------------------------------------- the workloads

const MIX_LO = 8, MIX_HI = 1024; // "mixed sizes": log-uniform 8..1024 bytes

function mallocFree(size, fullOps, quick) {
  return {
    id: `malloc-free/${size}`,
    group: "malloc+free of one size",
    title: `malloc+free ${size >= KiB ? size / KiB + " KiB" : size + " B"}`,
    unit: "malloc+free pair",
    quick,
    memory: false,
    params: (cfg) => ({ size, ops: scaled(cfg.quick ? fullOps / 4 : fullOps, cfg, 256) }),
    warm: (p) => ({ ...p, ops: Math.max(256, Math.round(p.ops / 10)) }),
    memParams: (p) => p,
    trace: () => ({}),
    bytes: () => size + 64 * KiB,
    calls: (p) => 2 * p.ops,
    run: runMallocFree,
    native: "malloc-free",
  };
}

function batch(n, label, fullRounds, quickRounds, lifo) {
  return {
    id: `batch/${label}/${lifo ? "lifo" : "fifo"}`,
    group: "batch: n mallocs, then n frees",
    title: `batch ${label} ${lifo ? "LIFO" : "FIFO"}`,
    unit: "malloc+free pair",
    quick: quickRounds > 0,
    memory: true,
    params: (cfg) => ({ n, lifo, rounds: scaled(cfg.quick ? quickRounds : fullRounds, cfg) }),
    // A round as large as the timed ones: with 10,000 blocks, the first timed repetitions of the
    // 100k and 1M rows grew the heap and met slow paths the warm-up had not (more runs a class,
    // new chunks), while V8 compiled them: 1.5-2x the later ones (sabmalloc's and the peers').
    warm: (p) => ({ ...p, rounds: 1 }),
    memParams: (p) => ({ ...p, rounds: 1 }),
    trace: (p, rng) => ({ sizes: sizeTrace(rng, n, MIX_LO, MIX_HI) }),
    bytes: (p, t) => sum(t.sizes) + 16 * n,
    calls: (p) => 2 * p.n * p.rounds,
    run: runBatch,
    native: "batch",
  };
}

function replace(slots, label, fullOps, quickOps) {
  return {
    id: `replace/${label}`,
    group: "random replace in live slots",
    title: `random replace, ${label} live`,
    unit: "free+malloc",
    quick: quickOps > 0,
    memory: true,
    params: (cfg) => ({ slots, ops: scaled(cfg.quick ? quickOps : fullOps, cfg, 256) }),
    // the trace's slot indices span all slots: the warm-up keeps them, with fewer operations
    warm: (p) => ({ ...p, ops: Math.max(256, Math.min(p.ops, 100000)) }),
    memParams: (p) => ({ ...p, ops: Math.min(p.ops, 1000000) }),
    trace: (p, rng) => ({
      init: sizeTrace(rng, slots, MIX_LO, MIX_HI),
      idx: indexTrace(rng, p.ops, slots),
      sizes: sizeTrace(rng, p.ops, MIX_LO, MIX_HI),
    }),
    bytes: (p, t) => Math.min(slots * (MIX_HI + 16), sum(t.init) * 1.5 + slots * 16 + MiB),
    calls: (p) => 2 * (p.slots + p.ops),
    run: runReplace,
    native: "replace",
  };
}

const reallocStep = {
  id: "realloc/step",
  group: "realloc growth 8 B → 1 MiB",
  title: "realloc +1..128 B steps, 8 B→1 MiB",
  unit: "realloc",
  quick: true,
  memory: true,
  params: (cfg) => ({ max: MiB, growths: scaled(cfg.quick ? 10 : 40, cfg) }),
  warm: (p) => ({ ...p, growths: 2 }),
  memParams: (p) => ({ ...p, growths: 1 }),
  trace: (p, rng) => {
    const deltas = new Uint32Array(65536);
    for (let i = 0; i < deltas.length; i++) deltas[i] = rng.int(1, 128);
    return { deltas };
  },
  bytes: (p) => 3 * p.max,
  calls: (p) => p.growths * 16300,
  run: runReallocStep,
  native: "realloc-step",
};

const reallocDouble = {
  id: "realloc/x2",
  group: "realloc growth 8 B → 1 MiB",
  title: "realloc ×2 steps, 8 B→1 MiB",
  unit: "realloc",
  quick: false,
  memory: true,
  params: (cfg) => ({ max: MiB, growths: scaled(cfg.quick ? 500 : 2000, cfg) }),
  warm: (p) => ({ ...p, growths: Math.min(p.growths, 100) }),
  memParams: (p) => ({ ...p, growths: 1 }),
  trace: () => ({}),
  bytes: (p) => 3 * p.max,
  calls: (p) => p.growths * 19,
  run: runReallocDouble,
  native: "realloc-x2",
};

const calloc = {
  id: "calloc/mix",
  group: "calloc",
  title: "calloc+free 8 B..4 KiB",
  unit: "calloc+free pair",
  quick: true,
  memory: false,
  params: (cfg) => ({ ops: scaled(cfg.quick ? 250000 : 1000000, cfg, 256) }),
  warm: (p) => ({ ...p, ops: Math.max(256, Math.round(p.ops / 10)) }),
  memParams: (p) => p,
  trace: (p, rng) => ({ sizes: sizeTrace(rng, 65536, 8, 4096) }),
  bytes: () => 4096 + 64 * KiB,
  calls: (p) => 2 * p.ops,
  run: runCalloc,
  native: "calloc",
};

// Depth d = d levels, 2^d - 1 nodes; every run frees about the same number of nodes (whole trees).
// Smoke runs (scale < 0.1) cap the depth at 12.
function tree(depth, fullNodes, quickNodes, quick) {
  const nodesOf = (d) => 2 ** d - 1;
  return {
    id: `tree/${depth}`,
    group: "binary tree of 16-byte nodes",
    title: `tree depth ${depth} (${nodesOf(depth)} nodes of 16 B)`,
    unit: "node (malloc+write, walk, free)",
    quick,
    memory: true,
    styles: ["heap", "objects", "native"],
    params: (cfg) => {
      const d = (cfg.scale ?? 1) < 0.1 ? Math.min(depth, 12) : depth;
      return { depth: d, rounds: scaled(Math.round((cfg.quick ? quickNodes : fullNodes) / nodesOf(d)), cfg) };
    },
    warm: (p) => ({ ...p, rounds: Math.max(1, Math.round(p.rounds / 10)) }),
    memParams: (p) => ({ ...p, rounds: 1 }),
    trace: () => ({}),
    bytes: (p) => 16 * nodesOf(p.depth) + MiB,
    calls: (p) => 2 * nodesOf(p.depth) * p.rounds,
    run: runTree,
    runObjects: runTreeObjects,
    native: "tree",
  };
}

export const MICRO_WORKLOADS = [
  mallocFree(16, 2000000, true),
  mallocFree(32, 2000000, false),
  mallocFree(256, 1000000, true),
  mallocFree(4096, 500000, false),
  mallocFree(65536, 100000, true),
  batch(1000, "1k", 1000, 250, false),
  batch(1000, "1k", 1000, 250, true),
  batch(100000, "100k", 10, 3, false),
  batch(100000, "100k", 10, 3, true),
  batch(1000000, "1M", 1, 0, false),
  batch(1000000, "1M", 1, 0, true),
  replace(1000, "1k", 2000000, 500000),
  replace(1000000, "1M", 2000000, 0),
  reallocStep,
  reallocDouble,
  calloc,
  tree(4, 4 * MiB, MiB, false),
  tree(10, 4 * MiB, MiB, true),
  tree(16, 4 * MiB, MiB, true),
  tree(20, 4 * MiB, MiB, false),
];

/** Does workload `w` run on adapter `ad`? (a tree needs node memory or objects; "only" narrows) */
export function applies(w, ad) {
  const style = ad.style ?? "heap";
  if (!(w.styles ?? ["heap", "typed", "native"]).includes(style)) return false;
  if (style === "native" && !w.native) return false;
  return !ad.only || ad.only.test(w.id);
}

/** Checksum of a trace (every array, in generation order); native.c computes the same. */
export function traceChecksum(t) {
  let h = 0x811c9dc5 | 0;
  for (const arr of Object.values(t)) for (let i = 0; i < arr.length; i++) h = Math.imul(h ^ arr[i], 0x01000193);
  return h >>> 0;
}
