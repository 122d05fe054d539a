// Baseline: no allocator at all - a fresh typed array per request, dropped for the garbage
// collector on free. This is what a JavaScript program does without a heap in a buffer.
// (The typed arrays are not in a shared buffer, so this baseline is single-threaded only.)

let sink = null; // keeps the last "freed" array reachable so the allocation cannot be elided

class GcU8 {
  malloc(n) { return new Uint8Array(n); }
  free(p) { sink = p; }
  realloc(p, n) {
    if (p === 0) return new Uint8Array(n);
    const q = new Uint8Array(n);
    q.set(n >= p.length ? p : p.subarray(0, n));
    return q;
  }
  calloc(c, n) { return new Uint8Array(c * n); }
  slots(n) { return new Array(n).fill(0); }
  reset() { sink = null; return true; }
  usable(p) { return p.byteLength; }
  memStats() { return gcMem(); }
}

class GcF64 {
  malloc(n) { return new Float64Array((n + 7) >>> 3); }
  free(p) { sink = p; }
  realloc(p, n) {
    const len = (n + 7) >>> 3;
    if (p === 0) return new Float64Array(len);
    const q = new Float64Array(len);
    q.set(len >= p.length ? p : p.subarray(0, len));
    return q;
  }
  calloc(c, n) { return new Float64Array((c * n + 7) >>> 3); }
  slots(n) { return new Array(n).fill(0); }
  reset() { sink = null; return true; }
  usable(p) { return p.byteLength; }
  memStats() { return gcMem(); }
}

/** The JS heap plus array-buffer backing stores (approximate: includes everything in the process). */
function gcMem() {
  const m = process.memoryUsage();
  return { active: null, mapped: m.heapUsed + m.arrayBuffers, metadata: null, capacity: null, approx: true };
}

export const gcU8 = {
  id: "gc-u8",
  label: "GC: new Uint8Array(n)",
  kind: "peer",
  style: "typed", // malloc returns a typed array (no memory to write nodes into)
  async load() { return { ok: true }; },
  create() { return new GcU8(); },
};

export const gcF64 = {
  id: "gc-f64",
  label: "GC: new Float64Array(n/8)",
  kind: "peer",
  style: "typed",
  async load() { return { ok: true }; },
  create() { return new GcF64(); },
};

export function gcSink() { return sink; }
