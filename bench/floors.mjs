// Floors: what some of the benchmark's loops cost with no allocator at all, next to sabmalloc, in
// one process (CPU time, medians of 5). Where sabmalloc is far from the best peer, this tells how
// much of the gap any JavaScript allocator would pay on this machine.
//
//   npm run build && node --expose-gc bench/floors.mjs
//
// - malloc(32)+free pairs: sabmalloc, and a trivial LIFO free list (a class with malloc and free
//   over an Int32Array, no size classes, no checks) called the same way.
// - random replace with 2^20 live blocks (8..512 B): sabmalloc; the loop alone; the loop plus one
//   word read and written in a random block of a 272 MB shared buffer (one cold touch per op).
// - realloc by doubling, 8 B -> 1 MiB: the copies alone if every step moved (copyWithin on 8-byte
//   elements), and the one copy that sabmalloc makes (512 KiB, when the block becomes huge).
// - zeroing (calloc): calloc's word loop over a shared buffer (space.ts: zeroBytes), fill() on it,
//   memset on a plain ArrayBuffer.

import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const lib = pathToFileURL(resolve(process.argv[2] ?? "dist/index.js")).href;
const { Heap } = await import(lib);
const { zeroBytes } = await import(new URL("space.js", lib).href); // calloc's zeroing, unrolled
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const fmt = (ns) => (ns >= 1000 ? (ns / 1000).toFixed(2) + " µs" : ns.toFixed(1) + " ns");
const runs = (n, f) => { const r = []; for (let i = 0; i < n; i++) r.push(f()); return med(r); };

class FreeList {
  constructor() { this.m = new Int32Array(new SharedArrayBuffer(1 << 20)); this.top = 0; this.bump = 64; }
  malloc() { const t = this.top; if (t !== 0) { this.top = this.m[t >>> 2]; return t; } const p = this.bump; this.bump += 32; return p; }
  free(p) { this.m[p >>> 2] = this.top; this.top = p; }
}
const pairs = () => new Function("h", "cpuMs", `const n = 4000000; const t0 = cpuMs();
  for (let i = 0; i < n; i++) h.free(h.malloc(32));
  return (cpuMs() - t0) * 1e6 / n;`);
const sabPair = pairs();
const flPair = pairs();
const heap = Heap.create();
const fl = new FreeList();
console.log(`malloc(32)+free:            sabmalloc ${fmt(runs(7, () => sabPair(heap, cpuMs)))}, trivial free list ${fmt(runs(7, () => flPair(fl, cpuMs)))}`);

const replace = new Function("h", "cpuMs", `const n = 1 << 20; const ps = new Uint32Array(n); let x = 12345;
  for (let i = 0; i < n; i++) ps[i] = h.malloc(8 + (i * 7919) % 505);
  const ops = 2000000; const t0 = cpuMs();
  for (let i = 0; i < ops; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; const k = (x >>> 0) & (n - 1);
    h.free(ps[k]); ps[k] = h.malloc(8 + ((x >>> 8) % 505)); }
  return (cpuMs() - t0) * 1e6 / ops;`);
const touch = (cold) => {
  const n = 1 << 20, ps = new Uint32Array(n), m = new Int32Array(new SharedArrayBuffer(272 << 20));
  for (let i = 0; i < n; i++) ps[i] = (i * 260) & ~7;
  let x = 12345, s = 0;
  const ops = 2000000, t0 = cpuMs();
  if (cold) {
    for (let i = 0; i < ops; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; const w = ps[(x >>> 0) & (n - 1)] >>> 2; s ^= m[w]; m[w] = s; }
  } else {
    for (let i = 0; i < ops; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; const k = (x >>> 0) & (n - 1); s ^= ps[k]; ps[k] = (ps[k] + 8) & 0xfffffff; }
  }
  return (cpuMs() - t0) * 1e6 / ops + (s === 0.5 ? 1 : 0);
};
const sabReplace = runs(5, () => replace(Heap.create({ initialBytes: 64 << 20, maxBytes: 2 ** 31 }), cpuMs));
console.log(`random replace, 1M live:    sabmalloc ${fmt(sabReplace)}; no allocator: the loop ${fmt(runs(5, () => touch(false)))}, the loop + one cold word per op ${fmt(runs(5, () => touch(true)))}`);

const f64 = new Float64Array(new SharedArrayBuffer(8 << 20));
const copies = (all) => { const t0 = cpuMs(); for (let g = 0; g < 300; g++) for (let s = all ? 8 : 512 << 10; s <= 512 << 10; s *= 2) f64.copyWithin(1 << 19, 0, s / 8); return (cpuMs() - t0) * 1e6 / (300 * 17); };
console.log(`realloc x2, 8 B -> 1 MiB:   copies alone, a step: every step moving ${fmt(runs(5, () => copies(true)))}, only the 512 KiB one ${fmt(runs(5, () => copies(false)))}`);

const u8 = new Uint8Array(new ArrayBuffer(8 << 20));
const space = { f64 };
const zero = (how, n) => {
  const t0 = cpuMs();
  for (let i = 0; i < 100000; i++) {
    const p = (i & 1023) * 4096;
    if (how === 0) zeroBytes(space, p, n);
    else if (how === 1) f64.fill(0, p >>> 3, (p + n) >>> 3);
    else u8.fill(0, p, p + n);
  }
  return (cpuMs() - t0) * 1e6 / 100000;
};
for (const n of [256, 1024, 4096]) {
  console.log(`zeroing ${String(n).padStart(4)} B:              zeroBytes (shared) ${fmt(runs(5, () => zero(0, n)))}, fill() (shared) ${fmt(runs(5, () => zero(1, n)))}, memset (ArrayBuffer) ${fmt(runs(5, () => zero(2, n)))}`);
}
