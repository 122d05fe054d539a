// Memory sampler of a multi-threaded repetition: its own attached thread (so the main thread never
// calls into the heap while workers run, and stays free to run the watchdog), sampling stats()
// every `sampleMs` until told to stop. Peaks go to a Float64Array `out`:
//   [0] peak live requested bytes (sum of the workers' published counts), [1] peak allocated,
//   [2] peak active, [3] peak mapped, [4] metadata at the mapped peak, [5] samples taken,
//   [6] bytes in thread caches at the active peak (stats().cached; 0 when the heap has no such stat).
import { parentPort } from "node:worker_threads";
import { attachedWorker } from "./common.mjs";

attachedWorker((heap, wd) => {
  const ctl = new Int32Array(wd.ctl);
  const live = new Float64Array(wd.live);
  const out = new Float64Array(wd.out);
  const requested = () => {
    let req = 0;
    for (let i = 0; i < live.length; i++) req += live[i];
    return req;
  };
  const sample = () => {
    // Workers publish a malloc's bytes before the call and a free's after it, so the larger of
    // the counts read before and after stats() covers every block stats() may have seen.
    const before = requested();
    const st = heap.stats();
    const req = Math.max(before, requested());
    if (req > out[0]) out[0] = req;
    if (st.allocated > out[1]) out[1] = st.allocated;
    if (st.active > out[2]) { out[2] = st.active; out[6] = st.cached ?? 0; }
    if (st.mapped > out[3]) { out[3] = st.mapped; out[4] = st.metadata; }
    out[5]++;
  };
  parentPort.postMessage({ type: "ready", slot: heap.slot });
  while (Atomics.load(ctl, 0) === 0) {
    sample();
    Atomics.wait(ctl, 0, 0, wd.sampleMs);
  }
  sample();
  heap.detach();
  parentPort.postMessage({ type: "done" });
});
