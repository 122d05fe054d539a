// xmalloc-test-style worker: producers malloc `size`-byte objects, tag them and push them through
// a shared ring; consumers pop, check the tags and free them, so every free is remote.
// Workers pair up: even id = producer, odd id = consumer, one single-producer/single-consumer ring
// per pair. A worker without a partner (1 worker, or the last of an odd count) produces a batch and
// frees it itself (no remote frees). ops = frees.
import { freeWarmBlocks, runWorker } from "./common.mjs";
import { fixedView } from "../lib/views.mjs";

const HEAD = 0, TAIL = 16; // int32 indices in a pair's control block (separate 64-byte lines)

runWorker((heap, wd, live) => {
  const p = wd.params, id = wd.id, w = wd.workers;
  const size = p.size, N = p.perProducer, C = p.ring;
  const words = size >>> 2;
  let u32 = fixedView(Uint32Array, heap);
  let net = 0;
  const base = live[id];

  if (w === 1 || (w % 2 === 1 && id === w - 1)) {
    const batch = new Uint32Array(C);
    let done = 0;
    while (done < N) {
      const m = Math.min(C, N - done);
      for (let k = 0; k < m; k++) {
        const q = heap.malloc(size);
        if (q === 0) throw new Error(`xmalloc: malloc(${size}) returned 0`);
        if (q + size > u32.length * 4) u32 = fixedView(Uint32Array, heap);
        u32[q >>> 2] = done + k;
        u32[(q >>> 2) + words - 1] = ~(done + k);
        batch[k] = q;
      }
      net += m * size;
      live[id] = base + net; // the batch is live now
      for (let k = 0; k < m; k++) {
        const q = batch[k];
        if (u32[q >>> 2] !== ((done + k) >>> 0) || (u32[(q >>> 2) + words - 1] | 0) !== ~(done + k)) {
          throw new Error(`xmalloc: object ${done + k} at ${q} corrupted`);
        }
        heap.free(q);
      }
      net -= m * size;
      done += m;
      live[id] = base + net;
    }
    return { ops: N, role: "solo" };
  }

  const pair = id >> 1;
  const ring = new Uint32Array(wd.shared.rings, pair * C * 4, C);
  const ctl = new Int32Array(wd.shared.ctl, pair * 128, 32);
  const mask = C - 1;

  if ((id & 1) === 0) {
    // producer
    let tail = 0, head = 0;
    for (let k = 0; k < N; k++) {
      const q = heap.malloc(size);
      if (q === 0) throw new Error(`xmalloc: malloc(${size}) returned 0`);
      if (q + size > u32.length * 4) u32 = fixedView(Uint32Array, heap);
      u32[q >>> 2] = k;
      u32[(q >>> 2) + words - 1] = ~k;
      net += size;
      while (tail - head >= C) {
        head = Atomics.load(ctl, HEAD);
        if (tail - head >= C) Atomics.wait(ctl, HEAD, head, 5);
      }
      ring[tail & mask] = q;
      tail++;
      if ((tail & 63) === 0) {
        Atomics.store(ctl, TAIL, tail);
        Atomics.notify(ctl, TAIL, 1);
        live[id] = base + net;
      }
    }
    Atomics.store(ctl, TAIL, tail);
    Atomics.notify(ctl, TAIL, 1);
    live[id] = base + net;
    return { ops: 0, role: "producer" };
  }

  // consumer
  let head = 0, tail = 0;
  while (head < N) {
    if (head === tail) {
      tail = Atomics.load(ctl, TAIL);
      if (head === tail) { Atomics.wait(ctl, TAIL, tail, 5); continue; }
    }
    const q = ring[head & mask];
    if (q + size > u32.length * 4) u32 = fixedView(Uint32Array, heap);
    if (u32[q >>> 2] !== (head >>> 0) || (u32[(q >>> 2) + words - 1] | 0) !== ~head) {
      throw new Error(`xmalloc: object ${head} at ${q} corrupted`);
    }
    heap.free(q);
    net -= size;
    head++;
    if ((head & 63) === 0) {
      Atomics.store(ctl, HEAD, head);
      Atomics.notify(ctl, HEAD, 1);
      live[id] = base + net;
    }
  }
  Atomics.store(ctl, HEAD, head);
  Atomics.notify(ctl, HEAD, 1);
  live[id] = base + net;
  return { ops: N, role: "consumer" };
}, (heap, wd) => {
  // Untimed, so that the allocator's paths the timed run takes are compiled before the clock starts
  // (bench/README.md: the warm-up): batches of the timed size made and freed by this thread, many
  // short ones, then frees of blocks the main thread made (remote frees, as a consumer's are).
  const p = wd.params;
  const batch = new Uint32Array(Math.min(p.ring, 4096));
  for (let k = 0; k < 200; k++) {
    for (let i = 0; i < batch.length; i++) batch[i] = heap.malloc(p.size);
    for (let i = 0; i < batch.length; i++) heap.free(batch[i]);
  }
  freeWarmBlocks(heap, wd);
});
