// A Web Worker of the browser watch test: attaches with a watch() handle, keeps 20 blocks (filled
// with a pattern of their addresses), frees 200 more into its cache, then spins until terminated.
import { Heap } from "../../dist/index.js";

self.onmessage = (e) => {
  try {
    const heap = Heap.attach(e.data);
    const live = [];
    for (let i = 0; i < 20; i++) {
      const n = 16 + i * 100;
      const p = heap.malloc(n);
      const u8 = heap.u8;
      for (let j = 0; j < n; j++) u8[p + j] = (p + j) & 255;
      live.push([p, n]);
    }
    for (let i = 0; i < 200; i++) heap.free(heap.malloc(32 + (i % 5) * 16));
    self.postMessage({ type: "ready", slot: heap.slot, live });
    for (;;) heap.free(heap.malloc(64)); // until terminate(): cache hits, no lock
  } catch (err) {
    self.postMessage({ type: "error", message: String(err?.stack ?? err) });
  }
};
