// larson-style worker (after Larson & Krishnan, as in mimalloc-bench): this thread owns slice `id`
// of a shared slot table; loop: pick a random slot, free what is there, malloc a random size in
// minSize..maxSize, touch its first and last byte. Threads are replaced by new ones every
// generation (the main thread spawns generation g+1 after g has detached), and the new thread
// inherits the slice, so most frees are of blocks another (now gone) thread allocated.
// The touched bytes are checked before each free: another thread writing into a block we own
// would show up as a mismatch.
import { runWorker, xorshift } from "./common.mjs";
import { fixedView } from "../lib/views.mjs";

runWorker((heap, wd, live) => {
  const p = wd.params, id = wd.id, n = p.perThread;
  const slots = new Uint32Array(wd.shared.slots, id * n * 4, n);
  const sizes = new Uint32Array(wd.shared.sizes, id * n * 4, n);
  const span = p.maxSize - p.minSize + 1;
  const base = live[id];
  let u8 = fixedView(Uint8Array, heap);
  let s = xorshift(wd.seed);
  let net = 0;
  const ops = p.opsPerGen;
  for (let k = 0; k < ops; k++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const i = (s >>> 0) % n;
    const old = slots[i];
    if (old !== 0) {
      const sz = sizes[i];
      if (old + sz > u8.length) u8 = fixedView(Uint8Array, heap);
      if (u8[old] !== (sz & 255) || u8[old + sz - 1] !== (sz & 255)) {
        throw new Error(`larson: block at ${old} (${sz} bytes) was overwritten`);
      }
      heap.free(old);
      net -= sz;
    }
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const size = p.minSize + ((s >>> 0) % span);
    const q = heap.malloc(size);
    if (q === 0) throw new Error(`larson: malloc(${size}) returned 0`);
    if (q + size > u8.length) u8 = fixedView(Uint8Array, heap);
    u8[q] = size;
    u8[q + size - 1] = size;
    slots[i] = q;
    sizes[i] = size;
    net += size;
    if ((k & 1023) === 0) live[id] = base + net;
  }
  live[id] = base + net;
  return { ops };
});
