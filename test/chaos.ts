// The chaos soak: 2-4 workers churn mixed sizes on one heap (test/workers/chaos.ts), with frees
// across threads and growth, and one of them is terminated at a random moment again and again -
// inside malloc, free, a cache fill or flush, a growth, holding locks or not - then reclaimed,
// by reclaim() at once or by watch() when its 'exit' event runs, and replaced by a new worker.
// Every few kills the heap is checked while the others keep working; at the end every recorded
// block must hold its bytes, and after they are freed at most the blocks in flight (one per
// terminated worker) may be missing.

import assert from "node:assert/strict";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { Heap } from "../src/index.js";
import { rng, verify, Views } from "./workers/shared.js";

export interface ChaosOptions {
  kills: number;
  workers: number;
  seed?: number;
  /** Called after every kill with the running count (progress). */
  onKill?: (n: number) => void;
}

export interface ChaosResult {
  kills: number;
  byWatch: number;
  checks: number;
  blocks: number;
  lostBytes: number;
  lostBlocks: number;
  lostBound: number;
  ms: number;
}

const ENTRIES = 256;
const HUGE_MAX = 3 << 20;

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const t0 = Date.now();
  const rand = rng(o.seed ?? 0xc4a05);
  const heap = Heap.create({ initialBytes: 8 << 20, maxBytes: 1 << 30, arenas: 4, lockTimeout: 30_000 });
  const rec = new Int32Array(new SharedArrayBuffer(o.workers * ENTRIES * 8));
  const workers: Worker[] = [];
  const slots: number[] = [];
  const watched: boolean[] = [];
  let seed = 1;
  let byWatch = 0;

  const start = async (k: number, watch: boolean): Promise<void> => {
    const w = new Worker(new URL("./workers/chaos.js", import.meta.url), {
      workerData: { rec, base: k * ENTRIES, count: ENTRIES, seed: seed++ },
    });
    w.on("error", (e) => {
      failure ??= e; // a damaged block or an allocator error in a worker fails the soak
    });
    w.postMessage(watch ? heap.watch(w) : heap.handle);
    const [msg] = (await once(w, "message")) as [{ slot: number }];
    workers[k] = w;
    slots[k] = msg.slot;
    watched[k] = watch;
  };
  let failure: unknown = null;

  let checks = 0;
  try {
    await churnAndKill();
  } finally {
    // Whatever happened, no worker outlives the soak (a failed run must not churn on for ever).
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure !== null) throw failure;

  async function churnAndKill(): Promise<void> {
    for (let k = 0; k < o.workers; k++) await start(k, k % 2 === 0);
    for (let n = 1; n <= o.kills; n++) {
      await new Promise((r) => setTimeout(r, 5 + rand() * 40));
      if (failure !== null) throw failure;
      const k = Math.floor(rand() * o.workers);
      await workers[k].terminate();
      if (watched[k]) byWatch++; // its 'exit' event reclaims it
      else heap.reclaim(slots[k]);
      await start(k, rand() < 0.5);
      if (n % 10 === 0) {
        heap.check();
        checks++;
      }
      o.onKill?.(n);
    }
    for (let k = 0; k < o.workers; k++) {
      await workers[k].terminate();
      heap.reclaim(slots[k]); // (a watched one: whichever comes first, this or its 'exit' handler)
    }
  }
  // Give the 'exit' handlers of watched workers their turn, then verify everything.
  await new Promise((r) => setTimeout(r, 20));
  heap.check();
  const v = new Views(heap);
  let blocks = 0;
  for (let i = 0; i < rec.length >>> 1; i++) {
    const word = rec[2 * i];
    if (word === 0) continue;
    const p = (word & ~1) >>> 0;
    const n = rec[2 * i + 1];
    const bad = (word & 1) === 0 ? verify(v, p, n) : -1; // (bit 0: its worker died while filling it)
    assert.equal(bad, -1, `block ${p} of ${n} bytes damaged at byte ${bad}`);
    heap.free(p);
    blocks++;
  }
  heap.flush();
  heap.check();
  const st = heap.stats();
  assert.equal(st.threads, 1, "every worker's slot was reclaimed");
  const kills = o.kills + o.workers;
  const lostBound = kills * HUGE_MAX;
  assert.ok(st.allocated <= lostBound, `${st.allocated} bytes lost, more than one block in flight per kill`);
  // Blocks still allocated, counted: regions of every bin, large runs, huge blocks.
  let lostBlocks = st.huge.nmalloc - st.huge.nfree;
  for (const a of st.arenas) {
    lostBlocks += a.large.nmalloc - a.large.nfree;
    for (const b of a.bins) lostBlocks += b.curregs;
  }
  assert.ok(lostBlocks <= kills, `${lostBlocks} blocks lost in ${kills} terminations: at most one each`);
  return { kills, byWatch, checks, blocks, lostBytes: st.allocated, lostBlocks, lostBound, ms: Date.now() - t0 };
}

