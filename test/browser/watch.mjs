// The browser test's watch page: a Web Worker attaches with the handle of heap.watch(worker),
// allocates (some blocks kept, some freed into its cache) and is terminated without detach();
// watch() reclaims its slot 3 s after terminate() (Chromium stops a worker running script 2 s after
// it): its cache comes back, its blocks stay live.
// Publishes window.__watch for browser.test.mjs.
import { Heap } from "../../dist/index.js";

async function run() {
  const heap = Heap.create();
  const w = new Worker(new URL("./watch-worker.mjs", import.meta.url), { type: "module" });
  const ready = new Promise((ok, fail) => {
    w.onmessage = (e) => (e.data.type === "ready" ? ok(e.data) : fail(new Error(e.data.message)));
    w.onerror = (e) => fail(new Error(`worker: ${e.message}`));
  });
  w.postMessage(heap.watch(w));
  const r = await ready;
  const threadsBefore = heap.stats().threads;
  const cachedBefore = heap.stats().cached;
  w.terminate(); // it is busy in a loop: no detach()
  const t0 = performance.now();
  while (heap.stats().threads > 1 && performance.now() - t0 < 8000) await new Promise((ok) => setTimeout(ok, 50));
  const reclaimedAfter = performance.now() - t0;
  heap.check();
  const st = heap.stats();
  let intact = 0;
  const u8 = heap.u8;
  for (const [p, n] of r.live) {
    let ok = true;
    for (let i = 0; i < n; i++) if (u8[p + i] !== ((p + i) & 255)) ok = false;
    if (ok) intact++;
    heap.free(p);
  }
  heap.flush();
  return {
    slot: r.slot, threadsBefore, cachedBefore, threadsAfter: st.threads, cachedAfter: st.cached,
    reclaimedAfter, live: r.live.length, intact, allocatedAtEnd: heap.stats().allocated,
  };
}

run().then(
  (r) => { window.__watch = r; document.getElementById("log").textContent = JSON.stringify(r, null, 2); },
  (e) => { window.__watch = { error: String(e?.stack ?? e) }; document.getElementById("log").textContent = String(e); },
);
