// What heap profiles cost: malloc(32)+free pairs, and a random-replace loop over mixed sizes
// (1,000 live blocks, log-uniform 8 B .. 4 KiB, now and then 64 KiB), in heaps with profiling off,
// on (the default mean, 512 KiB between samples), and on with a mean so large that no sample is
// ever taken (the cost of counting alone), in one process, alternating, medians of several runs. Each heap gets its own copy of the loop (new Function), so that one heap's
// feedback never makes the other's calls polymorphic.
//
//   npm run build && node bench/profile-overhead.mjs [--reps 9] [--sample BYTES]

import { Heap } from "../dist/index.js";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const REPS = opt("--reps", 9);
const SAMPLE = opt("--sample", 512 * 1024);

const PAIR = `
  let x = 0;
  for (let i = 0; i < n; i++) {
    const p = heap.malloc(32);
    x ^= p;
    heap.free(p);
  }
  return x;`;

const MIXED = `
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
  return x;`;

function time(fn, heap, n) {
  const t0 = process.hrtime.bigint();
  fn(heap, n);
  return Number(process.hrtime.bigint() - t0) / n;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const cases = [
  { name: "malloc(32)+free", body: PAIR, n: 5_000_000 },
  { name: "random replace, mixed sizes", body: MIXED, n: 2_000_000 },
];
console.log(`profile overhead: ${REPS} runs each, medians; profiling on = sampleBytes ${SAMPLE}`);
const configs = {
  off: undefined,
  on: { sampleBytes: SAMPLE },
  // The countdown alone: a mean so large that no sample is taken.
  count: { sampleBytes: 2 ** 30 },
};
for (const c of cases) {
  const names = Object.keys(configs);
  const heaps = Object.fromEntries(names.map((k) => [k, Heap.create(configs[k] ? { profile: configs[k] } : {})]));
  const fns = Object.fromEntries(names.map((k) => [k, new Function("heap", "n", c.body)]));
  const ns = Object.fromEntries(names.map((k) => [k, []]));
  for (const k of names) time(fns[k], heaps[k], c.n); // warm up
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 ? [...names].reverse() : names;
    for (const k of order) ns[k].push(time(fns[k], heaps[k], c.n));
  }
  const off = median(ns.off);
  const pct = (v) => `${v >= off ? "+" : ""}${((v / off - 1) * 100).toFixed(1)}%`;
  console.log(`${c.name.padEnd(28)} off ${off.toFixed(2)} ns | on ${median(ns.on).toFixed(2)} ns (${pct(median(ns.on))}) | ` +
    `countdown only ${median(ns.count).toFixed(2)} ns (${pct(median(ns.count))})`);
}
