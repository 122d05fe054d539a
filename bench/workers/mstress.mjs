// mstress-style worker (after mimalloc's test-stress): random sizes from 8 bytes to MiBs
// (mostly small; 1% x100, 0.1% x1000, 0.01% x10000, capped at maxBytes), every object filled with
// a pattern that is verified before it is freed; objects move between threads through a shared
// table of transfer slots (Atomics.exchange). Each generation's threads free their own slots at
// the end; what sits in the transfer table is freed by the next generations or the main thread.
// ops = allocations + frees + transfers.
import { runWorker, xorshift } from "./common.mjs";
import { fillPattern, checkPattern, freeTable } from "../lib/pattern.mjs";
import { fixedView } from "../lib/views.mjs";

/**
 * The loop: `ops` operations on this thread's `local` slots and the transfer table `global`, the
 * thread's live requested bytes published in `live[id]` from `base`; then its local slots freed.
 * Returns the counts.
 */
function stress(heap, p, local, global, live, id, base, seed, ops) {
  const L = local.length, G = global.length, maxBytes = p.maxBytes;
  let u32 = fixedView(Uint32Array, heap);
  let s = xorshift(seed);
  let net = 0, allocs = 0, frees = 0, transfers = 0;
  const rnd = () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return s >>> 0; };

  const release = (q) => {
    if (q + 8 > u32.length * 4 || q + u32[q >>> 2] > u32.length * 4) u32 = fixedView(Uint32Array, heap);
    const size = checkPattern(u32, q, maxBytes);
    heap.free(q);
    net -= size;
    live[id] = base + net; // after the free: the sampler never sees fewer bytes than are live
    frees++;
  };
  const alloc = () => {
    let items = 1 + (rnd() % 128);
    if (rnd() % 100 < 1) {
      if (rnd() % 100 < 1) items *= 10000;
      else if (rnd() % 100 < 10) items *= 1000;
      else items *= 100;
    }
    let size = items * 8;
    if (size > maxBytes) size = maxBytes;
    net += size;
    live[id] = base + net; // before the malloc: idem (objects up to MiBs come and go within a few ops)
    const q = heap.malloc(size);
    if (q === 0) throw new Error(`mstress: malloc(${size}) returned 0`);
    if (q + size > u32.length * 4) u32 = fixedView(Uint32Array, heap);
    fillPattern(u32, q, size, rnd());
    allocs++;
    return q;
  };

  for (let k = 0; k < ops; k++) {
    const r = rnd() % 100;
    if (r < p.transferPct) {
      const i = rnd() % L, j = rnd() % G;
      local[i] = Atomics.exchange(global, j, local[i]);
      transfers++;
    } else {
      const i = rnd() % L;
      if (local[i] !== 0) release(local[i]);
      local[i] = r < 100 - p.emptyPct ? alloc() : 0;
    }
  }
  for (let i = 0; i < L; i++) if (local[i] !== 0) { release(local[i]); local[i] = 0; }
  live[id] = base + net;
  return { ops: allocs + frees + transfers, allocs, frees, transfers };
}

runWorker((heap, wd, live) => {
  const p = wd.params, id = wd.id;
  return stress(heap, p, new Uint32Array(p.local), new Uint32Array(wd.shared.global), live, id, live[id], wd.seed, p.opsPerGen);
}, (heap, wd) => {
  // Untimed: the same loop on private slots and a private transfer table, many short calls, then
  // what the table holds freed, so that V8 has compiled the timed code (bench/README.md: the
  // warm-up; each generation is a fresh thread).
  const p = wd.params;
  const global = new Uint32Array(new SharedArrayBuffer(p.globalPerWorker * 4));
  const scratch = new Float64Array(new SharedArrayBuffer(8));
  const calls = 20, ops = Math.max(100, Math.round(p.opsPerGen / calls));
  for (let k = 0; k < calls; k++) stress(heap, p, new Uint32Array(p.local), global, scratch, 0, 0, wd.seed ^ (0x2545f491 + k), ops);
  freeTable(heap, global, p.maxBytes);
});
