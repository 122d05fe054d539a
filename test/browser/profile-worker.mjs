// A Web Worker of the browser profile test: allocates 3:1 from two functions, posts the true sizes.
import { Heap } from "../../dist/index.js";

function bigSite(heap) {
  return heap.malloc(3000);
}

function smallSite(heap) {
  return heap.malloc(1000);
}

self.onmessage = (e) => {
  try {
    const heap = Heap.attach(e.data.handle);
    let big = 0;
    let small = 0;
    for (let i = 0; i < 200; i++) {
      big += heap.usableSize(bigSite(heap));
      small += heap.usableSize(smallSite(heap));
    }
    const slot = heap.slot;
    heap.detach();
    self.postMessage({ type: "done", slot, big, small });
  } catch (err) {
    self.postMessage({ type: "error", message: String(err?.stack ?? err) });
  }
};
