// Growth race worker: every worker allocates past the heap's size at the same moment (after a
// barrier), verifies its blocks, hands a third of them to the next worker, and verifies and frees
// what it gets: blocks in chunks that its own views have never covered.
//
// workerData: GrowData. Posts a GrowResult after detach().

import { parentPort, workerData } from "node:worker_threads";
import { Heap, HeapHandle } from "../../src/index.js";
import { barrier, describeMismatch, fill, logUniform, Queue, rng, verify, Views } from "./shared.js";

export interface GrowData {
  handle: HeapHandle;
  id: number;
  n: number;
  ctl: number; // byte address of 8 control words in the heap
  queues: number[];
  cap: number;
  seed: number;
  smalls: number;
}

export interface GrowResult {
  id: number;
  allocated: number; // bytes this worker asked for
  received: number;
  remakes: number;
  capacitySeen: number;
  grown: number; // the size its block reached by doubling
  mismatches: string[];
  errors: string[];
}

const d = workerData as GrowData;
const res: GrowResult = { id: d.id, allocated: 0, received: 0, remakes: 0, capacitySeen: 0, grown: 0, mismatches: [], errors: [] };
const heap = Heap.attach(d.handle);
const v = new Views(heap);
const r = rng(d.seed);
const ctl = d.ctl >>> 2;

function check(who: string, p: number, size: number): void {
  const at = verify(v, p, size);
  if (at >= 0 && res.mismatches.length < 10) res.mismatches.push(describeMismatch(v, `worker ${d.id} ${who}`, p, size, at));
}

try {
  const sizes = [300_000, 600_000, 200_000 + Math.floor(r() * 800_000), (5 << 20) / 2, 1_100_000];
  for (let i = 0; i < d.smalls; i++) sizes.push(logUniform(r, 8, 14336));
  for (let i = sizes.length - 1; i > 0; i--) { // shuffle: the big ones somewhere among the small
    const j = Math.floor(r() * (i + 1));
    [sizes[i], sizes[j]] = [sizes[j], sizes[i]];
  }
  barrier(v.i32, ctl + 0, d.n);
  const blocks: Array<[number, number]> = [];
  for (const size of sizes) {
    const p = heap.malloc(size);
    if (p === 0) throw new Error(`malloc(${size}) returned 0`);
    fill(v, p, size);
    blocks.push([p, size]);
    res.allocated += size;
  }
  barrier(v.i32, ctl + 2, d.n);
  for (const [p, size] of blocks) check("own", p, size);
  const next = new Queue(v, d.queues[(d.id + 1) % d.n], d.cap);
  const kept: Array<[number, number]> = [];
  blocks.forEach(([p, size], i) => {
    if (i % 3 !== 0) kept.push([p, size]);
    else if (!next.push(p, size)) throw new Error("queue full");
  });
  barrier(v.i32, ctl + 4, d.n);
  const inbox = new Queue(v, d.queues[d.id], d.cap);
  const pair = [0, 0];
  while (inbox.pop(pair)) {
    check("received", pair[0], pair[1]);
    heap.free(pair[0]);
    res.received++;
  }
  for (const [p, size] of kept) {
    check("own, at the end", p, size);
    heap.free(p);
  }
  // Every worker at once grows a block by doubling from 8 B to 4 MiB: small blocks moved to an
  // empty chunk's start as they turn large, large runs made huge in place (realloc: runToHuge),
  // each taking chunks while the others do. Three times: a freed block's first chunk becomes its
  // arena's spare (arena.ts: insetToSpare), where the next one turns large, while the others free
  // and grow theirs in the same arenas.
  barrier(v.i32, ctl + 6, d.n);
  for (let chain = 0; chain < 3; chain++) {
    let size = 8;
    let p = heap.malloc(size);
    fill(v, p, size);
    while (size < 4 << 20) {
      const q = heap.realloc(p, size * 2);
      if (q === 0) throw new Error(`realloc(${p}, ${size * 2}) returned 0`);
      const at = verify(v, p, size, size, q); // the bytes of (p, size), now at q
      if (at >= 0 && res.mismatches.length < 10) res.mismatches.push(describeMismatch(v, `worker ${d.id} grown from ${size} to ${size * 2}`, q, size, at));
      p = q;
      size *= 2;
      fill(v, p, size);
      res.grown = size;
    }
    check(`grown (chain ${chain}), at the end`, p, size);
    heap.free(p);
  }
  res.capacitySeen = heap.buffer.byteLength;
  heap.detach();
} catch (e) {
  res.errors.push(`worker ${d.id}: ${(e as Error).stack ?? String(e)}`);
}
res.remakes = v.remakes;
parentPort!.postMessage(res);
