// A Web Worker of the browser test: joins the page's heap and runs the stress workload.
import { Heap } from "../../dist/index.js";
import { Stress } from "./stress.mjs";

self.onmessage = (e) => {
  const { handle, xchg, nxchg, seed, ops, gate, workers } = e.data;
  let heap = null;
  try {
    heap = Heap.attach(handle);
    const slot = heap.slot;
    // Every worker attached before any goes on (and may detach, freeing its slot for another):
    // the page then sees as many slots as workers, on a loaded machine too.
    const g = new Int32Array(gate);
    Atomics.add(g, 0, 1);
    for (let v; (v = Atomics.load(g, 0)) < workers;) Atomics.wait(g, 0, v, 1000);
    Atomics.notify(g, 0);
    const s = new Stress(heap, xchg, nxchg, seed);
    self.postMessage({ type: "started" });
    s.step(ops);
    s.finish();
    heap.detach();
    self.postMessage({ type: "done", slot, ops: s.ops, checked: s.checked });
  } catch (err) {
    self.postMessage({ type: "error", message: String(err?.stack ?? err) });
  }
};
