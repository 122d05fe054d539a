// A/B of two builds of sabmalloc in one process: the same loops, alternated, medians of rounds.
//   node --expose-gc bench/ab.mjs OLD/index.js NEW/index.js [rounds]
//   AB_ONLY=<regex>      only the loops whose names match
//   AB_OPTS=<json>       more heap options for both builds (AB_OPTS_A, AB_OPTS_B: for one of them),
//                        e.g. AB_OPTS_B='{"profile":true}': what profiling costs (give the same build
//                        twice as two copies of dist/: one module for both would make every call
//                        polymorphic, which no single-heap program sees)
// CPU time (process.cpuUsage), so that waiting for a core on a shared machine does not count.
// Loops: malloc(32)+free pairs (the cache-hit fast paths), a batch of 1,000 LIFO, random replace among 1,000 live blocks, a batch of
// 100,000 FIFO (fills and flushes: the critical sections), 64 KiB malloc+free (large runs through
// the cache), 300 KiB malloc+free (large runs through the arena lock), 2 MiB (huge, global lock).

import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const [a, b] = process.argv.slice(2, 4);
const rounds = Number(process.argv[4] ?? 7);
if (!a || !b) {
  console.error("usage: node bench/ab.mjs OLD/index.js NEW/index.js [rounds]");
  process.exit(2);
}
const load = async (p) => (await import(pathToFileURL(resolve(p)).href)).Heap;
const impls = [["A", await load(a)], ["B", await load(b)]];

// Each build gets its own copy of every loop (compiled from the same source), so that V8's type
// feedback at the call sites sees one Heap class: a loop shared by both would be polymorphic.
const LOOPS = {
  "malloc(32)+free": `const n = 2000000; const t0 = cpuMs();
    for (let i = 0; i < n; i++) h.free(h.malloc(32));
    return ((cpuMs() - t0) * 1e6) / n;`,
  "batch 1k LIFO": `const ps = new Array(1000); const reps = 1000; const t0 = cpuMs();
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < 1000; i++) ps[i] = h.malloc(16);
      for (let i = 999; i >= 0; i--) h.free(ps[i]);
    }
    return ((cpuMs() - t0) * 1e6) / (reps * 1000);`,
  "batch 1k mixed LIFO": `const sz = new Int32Array(1000); let x = 5;
    for (let i = 0; i < 1000; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; sz[i] = Math.floor(8 * 2 ** (((x >>> 0) / 2 ** 32) * 7)); }
    const ps = new Array(1000); const reps = 1000; const t0 = cpuMs();
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < 1000; i++) ps[i] = h.malloc(sz[i]);
      for (let i = 999; i >= 0; i--) h.free(ps[i]);
    }
    return ((cpuMs() - t0) * 1e6) / (reps * 1000);`,
  "batch 100k mixed FIFO": `const n = 100000; const sz = new Int32Array(n); let x = 7;
    for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; sz[i] = Math.floor(8 * 2 ** (((x >>> 0) / 2 ** 32) * 6)); }
    const ps = new Array(n); const reps = 10; const t0 = cpuMs();
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) ps[i] = h.malloc(sz[i]);
      for (let i = 0; i < n; i++) h.free(ps[i]);
    }
    return ((cpuMs() - t0) * 1e6) / (reps * n);`,
  "batch 100k mixed LIFO": `const n = 100000; const sz = new Int32Array(n); let x = 7;
    for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; sz[i] = Math.floor(8 * 2 ** (((x >>> 0) / 2 ** 32) * 7)); }
    const ps = new Array(n); const reps = 10; const t0 = cpuMs();
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) ps[i] = h.malloc(sz[i]);
      for (let i = n - 1; i >= 0; i--) h.free(ps[i]);
    }
    return ((cpuMs() - t0) * 1e6) / (reps * n);`,
  "batch 1M mixed FIFO": `const n = 1000000; const sz = new Int32Array(n); let x = 9;
    for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; sz[i] = Math.floor(8 * 2 ** (((x >>> 0) / 2 ** 32) * 7)); }
    const ps = new Array(n); const reps = 2; const t0 = cpuMs();
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) ps[i] = h.malloc(sz[i]);
      for (let i = 0; i < n; i++) h.free(ps[i]);
    }
    return ((cpuMs() - t0) * 1e6) / (reps * n);`,
  "batch 1M mixed LIFO": `const n = 1000000; const sz = new Int32Array(n); let x = 9;
    for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; sz[i] = Math.floor(8 * 2 ** (((x >>> 0) / 2 ** 32) * 7)); }
    const ps = new Array(n); const reps = 2; const t0 = cpuMs();
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) ps[i] = h.malloc(sz[i]);
      for (let i = n - 1; i >= 0; i--) h.free(ps[i]);
    }
    return ((cpuMs() - t0) * 1e6) / (reps * n);`,
  "batch 100k FIFO": `const n = 100000; const ps = new Array(n); const reps = 10; const t0 = cpuMs();
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) ps[i] = h.malloc(16 + (i & 3) * 16);
      for (let i = 0; i < n; i++) h.free(ps[i]);
    }
    return ((cpuMs() - t0) * 1e6) / (reps * n);`,
  "batch 100k LIFO": `const n = 100000; const ps = new Array(n); const reps = 10; const t0 = cpuMs();
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) ps[i] = h.malloc(16 + (i & 3) * 16);
      for (let i = n - 1; i >= 0; i--) h.free(ps[i]);
    }
    return ((cpuMs() - t0) * 1e6) / (reps * n);`,
  "tree 2^16 x16 B": `const m0 = h.i32; let m = m0;
    const build = (d) => { const p = h.malloc(16); if (h.i32 !== m) m = h.i32;
      const l = d > 0 ? build(d - 1) : 0; const r = d > 0 ? build(d - 1) : 0;
      m[p >>> 2] = l; m[(p >>> 2) + 1] = r; m[(p >>> 2) + 2] = d; return p; };
    const free = (p) => { const l = m[p >>> 2], r = m[(p >>> 2) + 1]; if (l !== 0) free(l >>> 0); if (r !== 0) free(r >>> 0); h.free(p); };
    const reps = 8; const t0 = cpuMs();
    for (let k = 0; k < reps; k++) { const root = build(15); m = h.i32; free(root); }
    return ((cpuMs() - t0) * 1e6) / (reps * 65535);`,
  "replace 1k live": `const n = 1000; const ops = 2000000; const ix = new Uint16Array(ops); const sz = new Uint16Array(ops); let x = 4321;
    for (let i = 0; i < ops; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; ix[i] = (x >>> 0) % n; x ^= x << 13; x ^= x >>> 17; x ^= x << 5; sz[i] = Math.floor(8 * 128 ** (((x >>> 0) % 65536) / 65536)); }
    const ps = new Uint32Array(n); for (let i = 0; i < n; i++) ps[i] = h.malloc(sz[ops - 1 - i]);
    const t0 = cpuMs();
    for (let i = 0; i < ops; i++) { const k = ix[i]; h.free(ps[k]); ps[k] = h.malloc(sz[i]); }
    const t = ((cpuMs() - t0) * 1e6) / ops; for (let i = 0; i < n; i++) h.free(ps[i]); return t;`,
  "replace 1M live": `const n = 1 << 20; const ps = new Uint32Array(n); let x = 12345;
    for (let i = 0; i < n; i++) ps[i] = h.malloc(8 + (i * 7919) % 505);
    const ops = 2000000; const t0 = cpuMs();
    for (let i = 0; i < ops; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; const k = (x >>> 0) & (n - 1);
      h.free(ps[k]); ps[k] = h.malloc(8 + ((x >>> 8) % 505)); }
    const t = ((cpuMs() - t0) * 1e6) / ops; for (let i = 0; i < n; i++) h.free(ps[i]); return t;`,
  "realloc x2 8B..1MiB": `const reps = 2000; let steps = 0; const t0 = cpuMs();
    for (let r = 0; r < reps; r++) { let p = h.malloc(8); for (let s = 16; s <= 1 << 20; s *= 2) { p = h.realloc(p, s); steps++; } h.free(p); }
    return ((cpuMs() - t0) * 1e6) / steps;`,
  "realloc +1..128 B": `let steps = 0; let x = 7; const t0 = cpuMs();
    for (let r = 0; r < 6; r++) { let size = 8; let p = h.malloc(8); while (size < 1 << 20) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; size += 1 + ((x >>> 0) & 127); p = h.realloc(p, size); steps++; } h.free(p); }
    return ((cpuMs() - t0) * 1e6) / steps;`,
  "calloc+free 8..4K": `const n = 500000; let x = 99; const t0 = cpuMs();
    for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; h.free(h.calloc(1, 8 + ((x >>> 0) % 4089))); }
    return ((cpuMs() - t0) * 1e6) / n;`,
  "64 KiB malloc+free": `const n = 200000; const t0 = cpuMs();
    for (let i = 0; i < n; i++) h.free(h.malloc(65536));
    return ((cpuMs() - t0) * 1e6) / n;`,
  "300 KiB malloc+free": `const n = 50000; const t0 = cpuMs();
    for (let i = 0; i < n; i++) h.free(h.malloc(300 << 10));
    return ((cpuMs() - t0) * 1e6) / n;`,
  "2 MiB malloc+free": `const n = 20000; const t0 = cpuMs();
    for (let i = 0; i < n; i++) h.free(h.malloc(2 << 20));
    return ((cpuMs() - t0) * 1e6) / n;`,
};
// CPU time of the process, not wall time: on a shared machine a loop that waits for a core is not slower.
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const loopsOf = () => Object.fromEntries(Object.entries(LOOPS).map(([k, src]) => [k, new Function("h", "cpuMs", src)]));
const compiled = { A: loopsOf(), B: loopsOf() };

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
console.log(`A = ${a}\nB = ${b}\n${rounds} rounds, alternated; ns per operation (pair), medians\n`);
console.log("loop".padEnd(22) + "A".padStart(9) + "B".padStart(9) + "   B/A");
const optsOf = (id) => ({ ...JSON.parse(process.env.AB_OPTS ?? "{}"), ...JSON.parse(process.env["AB_OPTS_" + id] ?? "{}") });
const opts = { A: optsOf("A"), B: optsOf("B") };
const only = process.env.AB_ONLY ? new RegExp(process.env.AB_ONLY) : null;
for (const name of Object.keys(LOOPS).filter((k) => only === null || only.test(k))) {
  const times = { A: [], B: [] };
  for (let r = 0; r < rounds + 1; r++) {
    for (const [id, Heap] of r % 2 === 0 ? impls : [...impls].reverse()) {
      const h = Heap.create({ initialBytes: 32 << 20, maxBytes: 2 ** 31, ...opts[id] });
      const t = compiled[id][name](h, cpuMs);
      if (r > 0) times[id].push(t); // round 0 warms both up
    }
  }
  const ma = median(times.A);
  const mb = median(times.B);
  console.log(name.padEnd(22) + ma.toFixed(2).padStart(9) + mb.toFixed(2).padStart(9) + (mb / ma).toFixed(3).padStart(8));
}
