// A Web Worker of the browser test: joins the page's heap and runs the stress workload.
import { Heap } from "../../dist/index.js";
import { Stress } from "./stress.mjs";

self.onmessage = (e) => {
  const { handle, xchg, nxchg, seed, ops } = e.data;
  let heap = null;
  try {
    heap = Heap.attach(handle);
    const slot = heap.slot;
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
