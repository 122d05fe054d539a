// The browser test's page: one heap shared by four Web Workers and this main thread, which cannot
// block (Atomics.wait throws here), so its lock waits spin. Publishes window.__result for the test
// driver (browser.test.mjs) and shows it on the page.
import { Heap, formatStats, heapMap } from "../../dist/index.js";
import { makeBulk } from "../../dist/bulk.js";
import { drainExchange, Stress } from "./stress.mjs";

const WORKERS = 4;
const WORKER_OPS = 60000;
const NXCHG = 256;

const log = (s) => { document.getElementById("log").textContent = s; };

async function run() {
  const result = { crossOriginIsolated: globalThis.crossOriginIsolated };
  if (!crossOriginIsolated) throw new Error("the page is not cross-origin isolated (COOP/COEP headers missing)");
  let mainCanWait = true;
  try { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); } catch { mainCanWait = false; }
  result.mainCanWait = mainCanWait;

  const heap = Heap.create({ initialBytes: 4 << 20, maxBytes: 512 << 20 });
  const xchg = heap.calloc(NXCHG, 4);
  const t0 = performance.now();
  const done = [];
  let started = 0;
  const gate = new SharedArrayBuffer(4); // the workers' meeting point once attached (worker.mjs)
  for (let i = 0; i < WORKERS; i++) {
    const w = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
    done.push(new Promise((ok, fail) => {
      w.onmessage = (e) => {
        if (e.data.type === "started") started++;
        else if (e.data.type === "done") ok(e.data);
        else fail(new Error(e.data.message));
      };
      w.onerror = (e) => fail(new Error(`worker ${i}: ${e.message}`));
    }));
    w.postMessage({ handle: heap.handle, xchg, nxchg: NXCHG, seed: 0x1234567 * (i + 1), ops: WORKER_OPS, gate, workers: WORKERS });
  }
  // The main thread takes part, in slices, so that the page stays responsive and hears the workers.
  const mine = new Stress(heap, xchg, NXCHG, 0x7777);
  let finished = false;
  const all = Promise.all(done).finally(() => (finished = true));
  all.catch(() => {});
  let picture = "";
  while (!finished || mine.ops < 5000) {
    mine.step(500);
    // A picture of the heap while the workers run: heapMap takes every lock, spinning for them here.
    if (started === WORKERS && !finished && picture === "") {
      picture = heapMap(heap);
      result.busyThreads = heap.stats().threads;
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  result.busySvgBytes = picture.length;
  const workers = await all;
  mine.finish();
  result.drained = drainExchange(heap, xchg, NXCHG);
  heap.free(xchg);
  heap.flush();
  result.ms = Math.round(performance.now() - t0);
  result.workers = workers;
  result.mainOps = mine.ops;
  result.slots = workers.map((w) => w.slot);
  heap.check();
  result.check = "passed";
  const stats = heap.stats();
  result.allocated = stats.allocated;
  result.threads = stats.threads;
  result.report = formatStats(stats);
  const svg = heapMap(heap);
  result.svgBytes = svg.length;
  document.getElementById("map").innerHTML = picture || svg;

  // A heap inside a shared WebAssembly.Memory works here too.
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024, shared: true });
  const wheap = Heap.fromMemory(memory, { base: 65536, maxBytes: 32 << 20 });
  const ptrs = [];
  for (let i = 0; i < 2000; i++) ptrs.push(wheap.malloc(1 + ((i * 7919) % 3000)));
  if (ptrs.some((p) => p === 0 || p < 65536)) throw new Error("fromMemory: a bad pointer");
  for (const p of ptrs) wheap.free(p);
  // Its calloc zeroes, and realloc moves, with memory.fill and memory.copy (src/bulk.ts), which the
  // page compiles: blocks written over and freed come back zeroed; moved blocks keep their bytes.
  result.bulk = makeBulk(memory) !== null;
  for (const size of [100, 300, 5000, 70000]) {
    const p = wheap.malloc(size);
    wheap.u8.fill(0xee, p, p + size);
    wheap.free(p);
    const q = wheap.calloc(1, size);
    if (!wheap.u8.subarray(q, q + size).every((b) => b === 0)) throw new Error(`fromMemory: calloc(1, ${size}) is not zero`);
    for (let i = 0; i < size; i++) wheap.u8[q + i] = i & 255;
    const r = wheap.realloc(q, 3 * size);
    for (let i = 0; i < size; i++) if (wheap.u8[r + i] !== (i & 255)) throw new Error(`fromMemory: realloc lost byte ${i} of ${size}`);
    wheap.free(r);
  }
  wheap.flush();
  wheap.check();
  result.wasmAllocated = wheap.stats().allocated;
  return result;
}

run().then(
  (r) => {
    window.__result = r;
    const w = r.workers.map((x) => `slot ${x.slot}: ${x.ops} ops, ${x.checked} blocks checked`).join("\n  ");
    log(`passed in ${r.ms} ms (cross-origin isolated: ${r.crossOriginIsolated}; main thread may block: ${r.mainCanWait})\n` +
      `workers:\n  ${w}\nmain thread: ${r.mainOps} ops; exchange drained: ${r.drained} blocks\n` +
      `check(): ${r.check}; allocated after: ${r.allocated}; threads: ${r.threads}; wasm-memory heap allocated after: ${r.wasmAllocated} (memory.fill and memory.copy: ${r.bulk})\n\n` +
      r.report);
  },
  (e) => { window.__result = { error: String(e?.stack ?? e) }; log(`FAILED: ${e?.stack ?? e}`); },
);
