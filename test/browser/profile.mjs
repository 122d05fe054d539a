// The browser test's profile page: a Web Worker allocates from two functions in a heap with
// profiling on; the page (main thread) takes the profile and renders it in every format.
// Publishes window.__profile for browser.test.mjs.
import { Heap, formatProfile, toDevTools, toPprof } from "../../dist/index.js";

async function run() {
  const heap = Heap.create({ profile: { sampleBytes: 1 } });
  const w = new Worker(new URL("./profile-worker.mjs", import.meta.url), { type: "module" });
  const done = new Promise((ok, fail) => {
    w.onmessage = (e) => (e.data.type === "done" ? ok(e.data) : fail(new Error(e.data.message)));
    w.onerror = (e) => fail(new Error(`worker: ${e.message}`));
  });
  w.postMessage({ handle: heap.handle });
  const r = await done;
  const p = heap.profile();
  const site = (fn) => p.samples.filter((s) => s.stack.some((f) => f.functionName === fn)).reduce((a, s) => a + s.bytes, 0);
  const pb = toPprof(p);
  const dt = toDevTools(p);
  heap.check();
  return {
    workerSlot: r.slot, slots: [...new Set(p.samples.map((s) => s.slot))],
    bigSite: site("bigSite"), smallSite: site("smallSite"), expectBig: r.big, expectSmall: r.small,
    url: p.samples[0]?.stack[0].url, pprofHead: [pb[0], pb[1]], pprofBytes: pb.length,
    devtoolsRoot: dt.head.callFrame.functionName, devtoolsChildren: dt.head.children.length,
    text: formatProfile(p),
  };
}

run().then(
  (r) => { window.__profile = r; document.getElementById("log").textContent = r.text; },
  (e) => { window.__profile = { error: String(e?.stack ?? e) }; document.getElementById("log").textContent = String(e); },
);
