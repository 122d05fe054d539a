// tree worker: this thread builds a complete binary tree of 16-byte nodes (left, right, payload:
// u32 words of the node) of `depth` levels in the shared heap, walks it (count and payload sum
// checked: another thread writing into our nodes would show), frees it post-order, `trees` times.
// The loop of the single-threaded tree workload (workloads/micro.mjs runTree) calling the heap
// directly; its C twin is tree_thread in bench/native/native.c. ops = nodes freed.
import { runWorker } from "./common.mjs";
import { fixedView } from "../lib/views.mjs";

function trees(heap, depth, count, live, id) {
  const nodes = 2 ** depth - 1;
  let u32 = fixedView(Uint32Array, heap);
  let k = 0, frees = 0, n = 0, sum = 0, expect = 0;
  const build = (d) => {
    const q = heap.malloc(16);
    if (q === 0) throw new Error("tree: malloc(16) returned 0");
    const v = k++ & 15;
    expect += v;
    let l = 0, r = 0;
    if (d > 1) { l = build(d - 1); r = build(d - 1); }
    if (q + 16 > u32.length * 4) u32 = fixedView(Uint32Array, heap);
    const i = q >>> 2;
    u32[i] = l; u32[i + 1] = r; u32[i + 2] = v;
    return q;
  };
  const walk = (q) => {
    n++;
    const i = q >>> 2;
    sum += u32[i + 2];
    const l = u32[i], r = u32[i + 1];
    if (l) walk(l);
    if (r) walk(r);
  };
  const kill = (q) => {
    const i = q >>> 2;
    const l = u32[i], r = u32[i + 1];
    if (l) kill(l);
    if (r) kill(r);
    heap.free(q);
    frees++;
  };
  for (let t = 0; t < count; t++) {
    live[id] = 16 * nodes; // published before the mallocs
    n = 0; sum = 0; expect = 0;
    const root = build(depth);
    walk(root);
    if (n !== nodes || sum !== expect) throw new Error(`tree: walk found ${n} nodes, payload sum ${sum}; expected ${nodes}, ${expect}`);
    kill(root);
    live[id] = 0;
  }
  return frees;
}

runWorker((heap, wd, live) => {
  const p = wd.params;
  return { ops: trees(heap, p.depth, p.trees, live, wd.id) };
}, (heap, wd) => {
  // Untimed: many short calls with arguments of the timed call's shapes (see larson.mjs), so
  // that the timed call starts in optimized code.
  // (warmOps / 100 trees of depth 10: 200 normally, 20 in smoke runs)
  const scratch = new Float64Array(new SharedArrayBuffer(8));
  const n = Math.max(10, Math.round(wd.params.warmOps / 100));
  for (let k = 0; k < n; k++) trees(heap, Math.min(wd.params.depth, 10), 1, scratch, 0);
  // Then trees of the timed depth, half as many as the timed run: a tree of 1,023 nodes fits in a
  // thread cache, so only larger ones make the allocator's slow paths (fills, flushes, runs carved
  // and given back) hot enough for V8 to optimize. Without these, it compiled them while the clock
  // ran: with 2 workers on 2 cores the compiler threads then took ~0.8 of a core from the workers
  // (per-thread CPU times), with 1 worker they ran on the idle core, and the scaling measured the JIT.
  const full = Math.max(1, Math.round(wd.params.trees / 2));
  for (let k = 0; k < full; k++) trees(heap, wd.params.depth, 1, scratch, 0);
});
