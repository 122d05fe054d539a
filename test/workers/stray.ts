// Stray writes (a user's off-by-one in a struct layout) over a chunk's header pages, then ordinary
// malloc/free calls: each must work or throw a HeapError - never spin, overflow the stack or throw
// anything else. Runs in a worker so that the test can tell a hang (it terminates the worker).
//
// workerData: { seed, words, calls }; posts { ok, heapErrors, other: string[] }

import { parentPort, workerData } from "node:worker_threads";
import { Heap, HeapError } from "../../src/index.js";
import { rng } from "./shared.js";

const { seed, words, calls } = workerData as { seed: number; words: number; calls: number };
const rand = rng(seed);
const ri = (n: number): number => Math.floor(rand() * n);
const heap = Heap.create({ initialBytes: 4 << 20, arenas: 1 });
const live: number[] = [];
for (let i = 0; i < 3000; i++) {
  const p = heap.malloc(i % 50 === 0 ? 5000 + ri(60000) : 8 + ri(1000));
  if (p !== 0) live.push(p);
  if (i % 3 === 0) heap.free(live.splice(ri(live.length), 1)[0]);
}
// The chunk most of them are in: chunk 0 or 1; its header is pages 0-4 (map and bitmaps).
const i32 = heap.i32;
const chunk = ri(2);
const pages = (heap.buffer.byteLength >>> 12) + 16;
for (let k = 0; k < words; k++) {
  // Mostly the page map (infos, tree links, free counts), else the bitmaps; values that look
  // like page numbers and counts as often as arbitrary words.
  const at = (chunk << 18) + (ri(10) < 7 ? ri(1024) : 1024 + ri(4 * 1024));
  const kind = ri(3);
  i32[at] = kind === 0 ? ri(pages) : kind === 1 ? ri(600) : (rand() * 2 ** 32) | 0;
}
let heapErrors = 0;
const other: string[] = [];
for (let i = 0; i < calls; i++) {
  try {
    if (live.length > 0 && ri(2) === 0) heap.free(live.splice(ri(live.length), 1)[0]);
    else {
      const p = heap.malloc(ri(10) === 0 ? 5000 + ri(100000) : 8 + ri(2000));
      if (p !== 0) live.push(p);
    }
  } catch (e) {
    if (e instanceof HeapError) heapErrors++;
    else other.push(String(e));
  }
}
try {
  heap.check();
} catch (e) {
  if (e instanceof HeapError) heapErrors++;
  else other.push(`check(): ${String(e)}`);
}
parentPort!.postMessage({ ok: true, heapErrors, other: other.slice(0, 5) });
