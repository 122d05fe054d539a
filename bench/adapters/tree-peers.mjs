// Peers of the tree workloads only (adapter option `only`):
// - freelist: the floor for 16-byte nodes: an Int32Array, a bump pointer and a LIFO free list
//   threaded through the freed nodes (push/pop, no size classes, no headers, never returns memory);
// - js-objects: no allocator at all: the workload builds plain { left, right, value } objects
//   (workloads/micro.mjs runTreeObjects) and frees a tree by dropping its root (the GC).
const NODE = 16;

class FreeList16 {
  constructor(bytes) {
    this.grow(Math.max(1 << 16, Math.ceil(bytes / 4)));
    this.head = 0;  // first free node (0: none)
    this.top = NODE; // bump pointer; offset 0 stays unused so that 0 can mean "null"
  }
  grow(words) {
    const next = new Int32Array(words);
    if (this.i32) next.set(this.i32);
    this.i32 = next;
    this.u32 = new Uint32Array(next.buffer);
  }
  malloc(n) {
    if (n > NODE) throw new Error(`freelist: ${n} bytes requested, nodes are ${NODE}`);
    const q = this.head;
    if (q !== 0) {
      this.head = this.i32[q >>> 2];
      return q;
    }
    const t = this.top;
    if (t + NODE > this.i32.length * 4) this.grow(this.i32.length * 2);
    this.top = t + NODE;
    return t;
  }
  free(p) {
    this.i32[p >>> 2] = this.head;
    this.head = p;
  }
  realloc() { throw new Error("freelist: no realloc"); }
  calloc() { throw new Error("freelist: no calloc"); }
  slots(n) { return new Uint32Array(n); }
  reset() { this.head = 0; this.top = NODE; return true; }
  usable() { return NODE; }
  view() { return this.u32; }
  memStats(liveBlocks) {
    return { active: liveBlocks != null ? NODE * liveBlocks : null, mapped: this.top, metadata: 0, capacity: this.i32.byteLength };
  }
}

/** The objects peer's instance: the workload does not call it (its variant builds objects). */
class JsObjects {
  slots(n) { return new Array(n).fill(null); }
  reset() { return true; }
  memStats() { return { active: null, mapped: null, metadata: null, capacity: null }; } // no memory pass
}

export const freeList = {
  id: "freelist",
  label: "free list of 16-byte nodes over an Int32Array (the floor; tree workloads only)",
  kind: "peer",
  only: /^tree\//,
  async load() { return { ok: true }; },
  create(sizing) { return new FreeList16(sizing.bytes); },
};

export const jsObjects = {
  id: "js-objects",
  label: "plain JS objects {left, right, value}, freed by dropping the root (GC; tree workloads only)",
  kind: "peer",
  style: "objects",
  only: /^tree\//,
  async load() { return { ok: true }; },
  create() { return new JsObjects(); },
};
