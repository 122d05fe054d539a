// Scaling floor: how much faster 2 worker threads run a loop than 1, with sabmalloc and with no
// allocator to speak of, in one process run (medians of the repetitions, interleaved). Two loops:
//
// - larson: the bench's larson (bench/workers/larson.mjs) without the thread replacement: each
//   worker owns 5,000 slots; `ops` times it picks a random slot, checks and frees the block there,
//   and mallocs a new one of 8..1000 bytes, writing its first and last byte.
// - tree: the bench's tree (bench/workers/tree.mjs): each worker builds a binary tree of 16-byte
//   nodes `depth` levels deep, walks it (checking its payload sum) and frees it, `trees` times.
//
// The floor runs the same loop over a trivial allocator: per-worker LIFO lists by 16-byte step over
// a private slice of one SharedArrayBuffer, no checks, no locks, no shared words at all. Whatever
// keeps it from 2x (the memory system, the VM's cores, V8's own threads) keeps any JavaScript
// allocator from 2x as well. Time runs from a common start (all workers wait on a barrier) to the
// last worker's end.
//
//   npm run build && node bench/scaling-floor.mjs [--reps 5] [--ops 2000000] [--tree-depth 16 --trees 64]

import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { covering, fixedView, primeViews } from "./lib/views.mjs";

const SLOTS = 5000;
const MIN = 8;
const MAX = 1000;
const SLICE = 24 << 20; // a floor worker's bytes: 5,000 live blocks and every list's spares
export const FLOOR_OPS = 4; // the trivial allocator's larson operations, per sabmalloc's (scalingFloor)

/** The trivial allocator: size classes of 16 bytes, a LIFO list each, a bump pointer. */
class Trivial {
  constructor(buf, base) {
    this.m = new Int32Array(buf);
    this.heads = new Int32Array(MAX / 16 + 2);
    this.bump = base;
    this.buffer = buf;
  }
  malloc(size) {
    const c = (size + 15) >>> 4;
    const p = this.heads[c];
    if (p !== 0) {
      this.heads[c] = this.m[p >>> 2];
      return p;
    }
    const q = this.bump;
    this.bump += c << 4;
    return q;
  }
  free(p, size) {
    const c = (size + 15) >>> 4;
    this.m[p >>> 2] = this.heads[c];
    this.heads[c] = p;
  }
}

/** The larson loop; `h.free(p, size)`: sabmalloc ignores the size. Returns a checksum. */
function larson(h, slots, sizes, ops, seed) {
  let u8 = fixedView(Uint8Array, h); // a fixed-length view: bench/lib/views.mjs says why
  let s = seed | 0 || 1;
  let x = 0;
  for (let k = 0; k < ops; k++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const i = (s >>> 0) % SLOTS;
    const old = slots[i];
    if (old !== 0) {
      const sz = sizes[i];
      u8 = covering(Uint8Array, h, u8, old + sz); // bench/lib/views.mjs says why not a branch
      if (u8[old] !== (sz & 255) || u8[old + sz - 1] !== (sz & 255)) throw new Error(`block at ${old} was overwritten`);
      h.free(old, sz);
    }
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const size = MIN + ((s >>> 0) % (MAX - MIN + 1));
    const q = h.malloc(size);
    u8 = covering(Uint8Array, h, u8, q + size);
    u8[q] = size;
    u8[q + size - 1] = size;
    slots[i] = q;
    sizes[i] = size;
    x ^= q;
  }
  return x;
}

/**
 * The tree loop: `count` trees of 16-byte nodes (left, right, payload), each built, walked (its
 * payload sum checked) and freed post-order. Returns the nodes freed.
 */
function trees(h, depth, count) {
  let u32 = new Uint32Array(h.buffer, 0, h.buffer.byteLength >>> 2);
  let k = 0, sum = 0, expect = 0;
  const build = (d) => {
    const q = h.malloc(16);
    const v = k++ & 15;
    expect += v;
    const l = d > 1 ? build(d - 1) : 0;
    const r = d > 1 ? build(d - 1) : 0;
    if (q + 16 > u32.length * 4) u32 = new Uint32Array(h.buffer, 0, h.buffer.byteLength >>> 2);
    const i = q >>> 2;
    u32[i] = l; u32[i + 1] = r; u32[i + 2] = v;
    return q;
  };
  const walk = (q) => {
    const i = q >>> 2;
    sum += u32[i + 2];
    if (u32[i] !== 0) walk(u32[i]);
    if (u32[i + 1] !== 0) walk(u32[i + 1]);
  };
  const kill = (q) => {
    const i = q >>> 2;
    const l = u32[i], r = u32[i + 1];
    if (l !== 0) kill(l);
    if (r !== 0) kill(r);
    h.free(q, 16);
  };
  for (let t = 0; t < count; t++) {
    sum = expect = 0;
    const root = build(depth);
    walk(root);
    if (sum !== expect) throw new Error(`tree: payload sum ${sum}, expected ${expect}`);
    kill(root);
  }
  return count * (2 ** depth - 1);
}

if (!isMainThread) {
  const { kind, loop, lib, handle, buf, id, ops, depth, count, ctl, warmMs } = workerData;
  let h;
  if (kind === "sabmalloc") {
    const { Heap } = await import(lib);
    h = Heap.attach(handle);
  } else {
    h = new Trivial(buf, 64 + id * SLICE);
  }
  const slots = new Uint32Array(SLOTS);
  const sizes = new Uint32Array(SLOTS);
  primeViews(h); // covering()'s call to fixedView() too has type feedback before the loop is compiled
  // Warm-up, so that the clock starts in optimized code (bench/workers/tree.mjs and larson.mjs say
  // why): many short calls (V8 then optimizes the function itself, not only its loop on the stack),
  // and for the tree, trees of the timed depth (smaller ones fit in sabmalloc's thread cache and
  // leave its slow paths cold).
  if (loop === "tree") {
    for (let k = 0; k < 200; k++) trees(h, Math.min(depth, 10), 1);
    for (let k = 0; k < Math.max(1, count >> 1); k++) trees(h, depth, 1);
  } else {
    // At least warmMs of it, as the bench's larson worker warms up (bench/workers/larson.mjs says
    // why: the compiler must have caught up before the clock starts), after calls too short to
    // make it hot (larson.mjs says why: a first call of 2,500 operations got hot inside itself,
    // before V8 had given the function its feedback vector, and the code compiled then
    // deoptimized; in 1 run of 4 the trivial allocator's timed run went on in slower code).
    for (let k = 0; k < 200; k++) larson(h, slots, sizes, 40, 7 + id * 1000 + k);
    const t0 = performance.now();
    for (let k = 0; k < 200 || performance.now() - t0 < warmMs; k++) larson(h, slots, sizes, 2500, 99 + id * 1000 + k);
  }
  for (let i = 0; i < SLOTS; i++) if (slots[i] !== 0) { h.free(slots[i], sizes[i]); slots[i] = 0; }
  const c = new Int32Array(ctl);
  Atomics.add(c, 1, 1);
  Atomics.notify(c, 1);
  while (Atomics.load(c, 0) === 0) Atomics.wait(c, 0, 0);
  if (loop === "tree") trees(h, depth, count);
  else larson(h, slots, sizes, ops, 1234567 + id * 7919);
  const end = performance.timeOrigin + performance.now();
  for (let i = 0; i < SLOTS; i++) if (slots[i] !== 0) h.free(slots[i], sizes[i]);
  if (kind === "sabmalloc") h.detach();
  parentPort.postMessage(end);
}

/**
 * Runs `loop` ("larson": `ops` operations a worker; "tree": `trees` trees of `depth` levels a
 * worker, an operation per node freed) on 1 and 2 workers over the trivial allocator and over
 * sabmalloc (`lib`: the URL of a module exporting Heap), `reps` times interleaved. Returns, per
 * kind, the median throughputs (operations per second over all workers) and the scaling (2 ÷ 1).
 * The larson loop warms up for at least `warmMs` before the clock starts (both kinds).
 */
export async function scalingFloor({ lib, reps = 5, loop = "larson", ops = 2_000_000, depth = 16, trees: count = 64, warmMs = 400 }) {
  // The trivial allocator runs the larson loop 2-4x as fast: it gets FLOOR_OPS times the
  // operations, so that its runs last about as long as sabmalloc's (2M operations took it ~30 ms,
  // where a late wake-up of one worker, 1-4 ms measured, is a tenth of the time).
  const opsOf = (kind) => (loop === "larson" && kind === "floor" ? ops * FLOOR_OPS : ops);
  const perWorker = (kind) => (loop === "tree" ? count * (2 ** depth - 1) : opsOf(kind));
  const { Heap } = await import(lib);

  /** One repetition: `w` workers of `kind`; returns operations per second over all of them. */
  async function rep(kind, w) {
    const heap = kind === "sabmalloc" ? Heap.create({ maxBytes: 2 ** 30 }) : null;
    const buf = kind === "floor" ? new SharedArrayBuffer(64 + w * SLICE) : null;
    const ctl = new SharedArrayBuffer(8);
    const c = new Int32Array(ctl);
    const ends = [];
    const workers = [];
    for (let id = 0; id < w; id++) {
      const wk = new Worker(new URL(import.meta.url), { workerData: { kind, loop, lib, handle: heap?.handle, buf, id, ops: opsOf(kind), depth, count, ctl, warmMs } });
      ends.push(new Promise((res, rej) => { wk.once("message", res); wk.once("error", rej); }));
      workers.push(wk);
    }
    while (Atomics.load(c, 1) < w) await new Promise((r) => setTimeout(r, 1));
    const start = performance.timeOrigin + performance.now();
    Atomics.store(c, 0, 1);
    Atomics.notify(c, 0);
    const last = Math.max(...(await Promise.all(ends)));
    await Promise.all(workers.map((wk) => wk.terminate()));
    if (heap !== null) {
      if (heap.stats().allocated !== 0) throw new Error("sabmalloc: blocks left after the loop");
      heap.detach();
    }
    return (w * perWorker(kind)) / ((last - start) / 1000);
  }

  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const res = { floor: { 1: [], 2: [] }, sabmalloc: { 1: [], 2: [] } };
  for (let r = 0; r < reps; r++) {
    for (const kind of r % 2 ? ["sabmalloc", "floor"] : ["floor", "sabmalloc"]) {
      for (const w of [1, 2]) res[kind][w].push(await rep(kind, w));
    }
  }
  const out = loop === "tree" ? { loop, reps, depth, trees: count } : { loop, reps, ops };
  for (const kind of ["floor", "sabmalloc"]) {
    const one = med(res[kind][1]);
    const two = med(res[kind][2]);
    out[kind] = { one, two, scaling: two / one };
  }
  return out;
}

if (isMainThread && import.meta.url === pathToFileURL(resolve(process.argv[1] ?? "")).href) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
  const reps = opt("--reps", 5);
  const ops = opt("--ops", 2_000_000);
  const depth = opt("--tree-depth", 16);
  const count = opt("--trees", 64);
  const lib = pathToFileURL(resolve("dist/index.js")).href;
  const m = (x) => (x / 1e6).toFixed(1) + " M/s";
  for (const loop of ["larson", "tree"]) {
    const r = await scalingFloor({ lib, reps, loop, ops, depth, trees: count });
    const what = loop === "tree" ? `tree loop, ${count} trees of depth ${depth} a worker` : `larson-style loop, ${ops} ops a worker (the trivial allocator ${ops * FLOOR_OPS})`;
    console.log(`${what}, medians of ${reps} (1 worker -> 2 workers, scaling):`);
    for (const kind of ["floor", "sabmalloc"]) {
      const name = kind === "floor" ? "trivial allocator (floor)" : "sabmalloc";
      console.log(`  ${name.padEnd(26)} ${m(r[kind].one)} -> ${m(r[kind].two)}, ${r[kind].scaling.toFixed(2)}x`);
    }
  }
}
