// What heap profiles cost: malloc(32)+free pairs, and a random-replace loop over mixed sizes
// (1,000 live blocks, log-uniform 8 B .. 4 KiB, now and then 64 KiB), in heaps with profiling off,
// on (the default mean, 512 KiB between samples), and on with a mean so large that no sample is
// ever taken (the cost of counting alone). Medians of several runs of CPU time, taken in turns in one process:
// each configuration runs in a worker thread of its own (its own JIT: a profiled Heap has another
// hidden class than an unprofiled one, and mixing both in one isolate would make every Heap call
// polymorphic, which no single-heap program sees), one at a time while the others wait.
//
// Warm-up: a sample runs code that nothing else runs (mallocSampled, captureStack, the profile's
// tables, freeSlow of a large run); at the default mean it runs once per 16,384 malloc(32) calls,
// so V8 takes a while to compile it, and TurboFan compiles are costly: over the first ~2,000
// samples (~30M malloc(32) calls, ~10 runs of this loop) compiling those paths costs ~100-200 ms of
// CPU in all, which a short measurement would take for a cost per sample (it made "on" read
// +52..75% where the steady state is ~+40%). So each configuration runs --warmup times first
// (default 12); the numbers are the steady state.
//
//   npm run build && node bench/profile-overhead.mjs [--reps 9] [--warmup 12] [--sample BYTES]

import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const PAIR = (heap, n) => {
  let x = 0;
  for (let i = 0; i < n; i++) {
    const p = heap.malloc(32);
    x ^= p;
    heap.free(p);
  }
  return x;
};

const MIXED = (heap, n) => {
  const live = new Uint32Array(1000);
  let r = 0x9e3779b9;
  let x = 0;
  for (let i = 0; i < n; i++) {
    r ^= r << 13; r ^= r >>> 17; r ^= r << 5;
    const k = (r >>> 0) % 1000;
    if (live[k] !== 0) heap.free(live[k]);
    const size = (r & 1023) === 0 ? 65536 : Math.floor(8 * Math.pow(512, ((r >>> 10) & 1023) / 1024));
    const p = heap.malloc(size);
    x ^= p;
    live[k] = p;
  }
  for (let k = 0; k < 1000; k++) if (live[k] !== 0) heap.free(live[k]);
  return x;
};

const CASES = [
  { name: "malloc(32)+free", fn: PAIR, n: 5_000_000 },
  { name: "random replace, mixed sizes", fn: MIXED, n: 2_000_000 },
];

if (!isMainThread) {
  const { Heap } = await import("../dist/index.js");
  const { profile, c } = workerData;
  const heap = Heap.create(profile ? { profile } : {});
  const { fn, n } = CASES[c];
  parentPort.on("message", () => {
    // Every run starts with an empty cache, so malloc's and free's slow paths run inside the
    // loop: compiled into it as calls, as in any real program. (Never taken, V8 leaves them out
    // of the loop's code, and the unprofiled loop then reads ~1 ns faster than it would anywhere
    // else: 8.1 against 9.3 ns a pair, while the counting loop, whose first malloc of a class
    // always takes the slow path, keeps its calls either way.)
    heap.flush();
    // CPU time, not wall time: on a machine shared with other jobs the wall clock also counts the
    // time others had the core. (The process's: the other workers sleep meanwhile.)
    const t0 = process.cpuUsage();
    fn(heap, n);
    const t = process.cpuUsage(t0);
    parentPort.postMessage(((t.user + t.system) * 1000) / n);
  });
} else {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const REPS = opt("--reps", 15);
  const WARMUP = Math.max(1, opt("--warmup", 12));
  const SAMPLE = opt("--sample", 512 * 1024);
  const configs = { off: null, on: { sampleBytes: SAMPLE }, count: { sampleBytes: 2 ** 30 } };
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.log(`profile overhead: ${REPS} runs each, medians; profiling on = sampleBytes ${SAMPLE}; count = on, no sample ever taken`);
  for (let c = 0; c < CASES.length; c++) {
    const names = Object.keys(configs);
    const workers = Object.fromEntries(names.map((k) => [k, new Worker(new URL(import.meta.url), { workerData: { profile: configs[k], c } })]));
    const once = (k) => new Promise((resolve) => {
      workers[k].once("message", resolve);
      workers[k].postMessage("run");
    });
    const ns = Object.fromEntries(names.map((k) => [k, []]));
    for (let w = 0; w < WARMUP; w++) for (const k of names) await once(k);
    for (let rep = 0; rep < REPS; rep++) {
      for (const k of rep % 2 ? [...names].reverse() : names) ns[k].push(await once(k));
    }
    for (const w of Object.values(workers)) await w.terminate();
    // The machine's speed drifts between phases that last longer than a run (the same build reads
    // 8 or 13 ns a pair from one second to the next), so the overhead is the median of the ratios
    // of runs taken next to each other, not the ratio of the medians.
    const off = median(ns.off);
    const ratio = (k) => median(ns[k].map((t, i) => t / ns.off[i]));
    const show = (k) => `${median(ns[k]).toFixed(2)} ns (${ratio(k) >= 1 ? "+" : ""}${((ratio(k) - 1) * 100).toFixed(1)}%)`;
    console.log(`${CASES[c].name.padEnd(28)} off ${off.toFixed(2)} ns | on ${show("on")} | count ${show("count")}`);
  }
}
