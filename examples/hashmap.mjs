// A hash map shared by worker threads: string values of any length, stored in one sabmalloc heap.
//
// The whole map lives in the heap - the slot array, a lock word per segment of 32 slots, and every
// value (heap.malloc'd, its UTF-8 bytes after a length word) - so a worker needs only the heap's
// handle and the map's address. Open addressing: a key hashes to a segment and a start slot, and is
// probed linearly inside that segment, under that segment's lock. (The demo, `npm start`, runs a
// bigger version of this map: src/demo/table.ts.)
//
//   slots: | key + 1 | value ptr | key + 1 | value ptr | ...    (0: never used, -1: deleted)
//   value: | length  | UTF-8 bytes ...                |
//
//   node examples/hashmap.mjs          (after npm run build)
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Heap } from "sabmalloc";

const SEG = 32;
const SEGMENTS = 256;
const KEYS = 4000; // load factor ~0.5
const WORKERS = 4;
const OPS = 40000;

class SharedMap {
  /** `map`: byte address of [slots ptr, locks ptr]; made by SharedMap.create. */
  constructor(heap, map) {
    this.heap = heap;
    this.map = map;
    const hdr = new Int32Array(heap.buffer, map, 2);
    this.slots = hdr[0] >>> 2; // word indexes
    this.locks = hdr[1] >>> 2;
  }

  static create(heap) {
    const map = heap.malloc(8);
    const hdr = new Int32Array(heap.buffer, map, 2);
    hdr[0] = heap.calloc(SEG * SEGMENTS * 2, 4);
    hdr[1] = heap.calloc(SEGMENTS, 4);
    return new SharedMap(heap, map);
  }

  get i32() {
    return new Int32Array(this.heap.buffer); // tracks the heap's growth
  }

  lock(seg) {
    const m = this.i32;
    while (Atomics.compareExchange(m, this.locks + seg, 0, 1) !== 0) Atomics.wait(m, this.locks + seg, 1, 1);
  }

  unlock(seg) {
    const m = this.i32;
    Atomics.store(m, this.locks + seg, 0);
    Atomics.notify(m, this.locks + seg, 1);
  }

  /** Slot of `key` in its segment, or -(slot + 1) where it would go (-(SEG * SEGMENTS) - 1: full). */
  find(m, key) {
    const h = Math.imul(key, 0x9e3779b1) >>> 0;
    const seg = h % SEGMENTS;
    let free = -1;
    for (let n = 0; n < SEG; n++) {
      const i = seg * SEG + ((h >>> 24) + n) % SEG;
      const k = m[this.slots + 2 * i];
      if (k === key + 1) return i;
      if (k === 0) return -((free >= 0 ? free : i) + 1);
      if (k === -1 && free < 0) free = i;
    }
    return free >= 0 ? -(free + 1) : -(SEG * SEGMENTS) - 1;
  }

  segment(key) {
    return (Math.imul(key, 0x9e3779b1) >>> 0) % SEGMENTS;
  }

  set(key, value) {
    const bytes = new TextEncoder().encode(value);
    const v = this.heap.malloc(4 + bytes.length); // outside the lock
    if (v === 0) throw new Error("the heap is full");
    new Uint8Array(this.heap.buffer, v + 4, bytes.length).set(bytes);
    new Uint32Array(this.heap.buffer, v, 1)[0] = bytes.length;
    const seg = this.segment(key);
    this.lock(seg);
    const m = this.i32;
    const i = this.find(m, key);
    let old = 0;
    if (i >= 0) {
      old = m[this.slots + 2 * i + 1];
      m[this.slots + 2 * i + 1] = v;
    } else if (i !== -(SEG * SEGMENTS) - 1) {
      m[this.slots + 2 * (-i - 1)] = key + 1;
      m[this.slots + 2 * (-i - 1) + 1] = v;
    }
    this.unlock(seg);
    if (i === -(SEG * SEGMENTS) - 1) {
      this.heap.free(v);
      throw new Error(`segment of key ${key} is full`);
    }
    if (old !== 0) this.heap.free(old); // unlinked: nobody else can reach it now
  }

  get(key) {
    const seg = this.segment(key);
    this.lock(seg);
    try {
      const m = this.i32;
      const i = this.find(m, key);
      return i < 0 ? undefined : this.read(m[this.slots + 2 * i + 1]);
    } finally {
      this.unlock(seg);
    }
  }

  delete(key) {
    const seg = this.segment(key);
    this.lock(seg);
    const m = this.i32;
    const i = this.find(m, key);
    let old = 0;
    if (i >= 0) {
      old = m[this.slots + 2 * i + 1];
      m[this.slots + 2 * i] = -1; // tombstone: later keys of the segment stay reachable
      m[this.slots + 2 * i + 1] = 0;
    }
    this.unlock(seg);
    if (old !== 0) this.heap.free(old);
    return old !== 0;
  }

  read(v) {
    const len = new Uint32Array(this.heap.buffer, v, 1)[0];
    // TextDecoder will not read shared memory: copy the bytes out first.
    return new TextDecoder().decode(new Uint8Array(this.heap.buffer, v + 4, len).slice());
  }

  *entries() {
    const m = this.i32;
    for (let i = 0; i < SEG * SEGMENTS; i++) {
      const k = m[this.slots + 2 * i];
      if (k > 0) yield [k - 1, this.read(m[this.slots + 2 * i + 1])];
    }
  }

  destroy() {
    const m = this.i32;
    for (let i = 0; i < SEG * SEGMENTS; i++) if (m[this.slots + 2 * i] > 0) this.heap.free(m[this.slots + 2 * i + 1]);
    this.heap.free(this.slots * 4);
    this.heap.free(this.locks * 4);
    this.heap.free(this.map);
  }
}

/** The value a writer stores: anyone can tell from it which key and version it belongs to. */
function valueFor(key, version) {
  return `${key}/${version}: ` + "ünïcødé ✓ ".repeat((key * 31 + version) % 40);
}

function checkValue(key, value) {
  const m = /^(\d+)\/(\d+): /.exec(value);
  if (!m || Number(m[1]) !== key || value !== valueFor(key, Number(m[2]))) throw new Error(`key ${key}: bad value ${JSON.stringify(value.slice(0, 40))}`);
}

if (isMainThread) {
  const heap = Heap.create();
  const map = SharedMap.create(heap);
  for (let k = 0; k < KEYS; k += 2) map.set(k, valueFor(k, 0));
  const workers = Array.from({ length: WORKERS }, (_, id) =>
    new Worker(new URL(import.meta.url), { workerData: { handle: heap.handle, map: map.map, id } }));
  const counts = await Promise.all(workers.map((w) => new Promise((ok, fail) => {
    w.once("message", ok);
    w.once("error", fail);
  })));
  let n = 0;
  let bytes = 0;
  for (const [k, v] of map.entries()) {
    checkValue(k, v);
    n++;
    bytes += v.length;
  }
  console.log(`${WORKERS} workers: ${counts.map((c) => `${c.sets} sets / ${c.gets} gets / ${c.deletes} deletes`).join("; ")}`);
  console.log(`the map holds ${n} keys, ${bytes} characters of values, every value checked; ` +
    `heap: ${(heap.stats().allocated / 1024).toFixed(0)} KiB allocated`);
  map.destroy();
  heap.flush();
  heap.check();
  if (heap.stats().allocated !== 0) throw new Error("leak");
  console.log("ok: every value was right, the map is freed, the heap is consistent and empty");
} else {
  const heap = Heap.attach(workerData.handle);
  const map = new SharedMap(heap, workerData.map);
  const c = { sets: 0, gets: 0, deletes: 0 };
  let x = 0x9e3779b9 ^ workerData.id;
  for (let op = 0; op < OPS; op++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const key = (x >>> 8) % KEYS;
    const r = (x >>> 0) % 10;
    if (r < 5) {
      const v = map.get(key);
      if (v !== undefined) checkValue(key, v);
      c.gets++;
    } else if (r < 8) {
      map.set(key, valueFor(key, op));
      c.sets++;
    } else if (map.delete(key)) {
      c.deletes++;
    }
  }
  heap.detach();
  parentPort.postMessage(c);
}
