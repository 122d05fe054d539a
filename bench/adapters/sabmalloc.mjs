// sabmalloc itself, written against the public contract (shared/CONTRACT.md):
//   Heap.create(options), heap.malloc/free/realloc/calloc/usableSize/stats/flush/detach.
// The implementation is imported from dist/ (npm run build) or from --impl <module>. If the import
// fails, the adapters report "skipped" with the reason and the rest of the suite still runs.
import path from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { fixedView } from "../lib/views.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_IMPL = path.join(here, "..", "..", "dist", "index.js");

let loaded = null; // { ok, Heap, url, reason }

/** Import the implementation once; returns { ok: true, Heap, url } or { ok: false, reason }. */
export async function loadImpl(implPath = DEFAULT_IMPL) {
  if (loaded && loaded.path === implPath) return loaded;
  const url = pathToFileURL(path.resolve(implPath)).href;
  try {
    const mod = await import(url);
    if (!mod.Heap || typeof mod.Heap.create !== "function") {
      loaded = { ok: false, path: implPath, url, reason: `${implPath} does not export Heap.create` };
    } else {
      loaded = { ok: true, path: implPath, url, Heap: mod.Heap, mod };
    }
  } catch (err) {
    const hint = implPath === DEFAULT_IMPL ? " (has `npm run build` produced dist/?)" : "";
    loaded = { ok: false, path: implPath, url, reason: `cannot import ${path.relative(process.cwd(), implPath)}${hint}: ${err.message.split("\n")[0]}` };
  }
  return loaded;
}

export const MiB = 1 << 20;
export const GiB = 1 << 30;

/** maxBytes for a heap expected to hold `bytes` at its peak */
export function maxBytesFor(bytes) {
  const want = Math.ceil((bytes * 3) / MiB) * MiB;
  return Math.min(3 * GiB, Math.max(GiB, want));
}

/** The multi-threaded configurations: the real thing, and one heap behind one global lock. */
export const SAB_CONFIGS = {
  sabmalloc: { arenas: undefined, threadCache: true },      // defaults: 4 x CPUs arenas, thread caches
  "sabmalloc-lock": { arenas: 1, threadCache: false },     // baseline: one arena = one lock, no caches
};

export function heapOptions(configId, bytes) {
  const cfg = SAB_CONFIGS[configId];
  const opts = { maxBytes: maxBytesFor(bytes), threadCache: cfg.threadCache };
  if (cfg.arenas !== undefined) opts.arenas = cfg.arenas;
  return opts;
}

class SabInstance {
  constructor(heap) { this.heap = heap; }
  malloc(n) { return this.heap.malloc(n); }
  free(p) { this.heap.free(p); }
  realloc(p, n) { return this.heap.realloc(p, n); }
  calloc(c, n) { return this.heap.calloc(c, n); }
  slots(n) { return new Uint32Array(n); }
  reset() { return true; } // workloads free everything they allocate
  usable(p) { return this.heap.usableSize(p); }
  view() { return fixedView(Uint32Array, this.heap); }
  memStats() {
    const st = this.heap.stats();
    return { active: st.active, mapped: st.mapped, metadata: st.metadata, capacity: st.capacity, allocated: st.allocated };
  }
  destroy() { try { this.heap.detach(); } catch { /* already gone */ } }
}

function makeAdapter(id, label) {
  return {
    id,
    label,
    kind: "sabmalloc",
    implPath: DEFAULT_IMPL,
    Heap: null,
    async load() {
      const r = await loadImpl(this.implPath);
      if (!r.ok) return { ok: false, reason: r.reason };
      this.Heap = r.Heap;
      return { ok: true, note: `from ${path.relative(process.cwd(), r.path)}` };
    },
    create(sizing) {
      return new SabInstance(this.Heap.create(heapOptions(id, sizing.bytes)));
    },
  };
}

export const sabmalloc = makeAdapter("sabmalloc", "sabmalloc (defaults: arenas, thread cache)");
/**
 * sabmalloc in a shared WebAssembly.Memory (Heap.fromMemory), as a wasm program's heap: there calloc
 * zeroes and realloc moves with the memory's own memory.fill and memory.copy (src/bulk.ts), which a
 * plain SharedArrayBuffer cannot offer. calloc and realloc only: everything else runs as in the
 * sabmalloc column.
 */
export const sabmallocWasm = {
  ...makeAdapter("sabmalloc-wasm", "sabmalloc in a shared WebAssembly.Memory (Heap.fromMemory: memory.fill, memory.copy)"),
  only: /^(calloc|realloc)\//,
  create(sizing) {
    const opts = heapOptions("sabmalloc", sizing.bytes);
    const memory = new WebAssembly.Memory({ initial: 16, maximum: Math.ceil(opts.maxBytes / 65536) + 16, shared: true });
    return new SabInstance(this.Heap.fromMemory(memory, opts));
  },
};
export const sabmallocLock = makeAdapter("sabmalloc-lock", "sabmalloc, 1 arena, no thread cache (global lock)");
/**
 * sabmalloc with heap profiling on at the default rate (a sample per 512 KiB allocated on average):
 * next to the plain sabmalloc column, every workload's ratio is what profiling costs it. Single-
 * threaded workloads only (the multi-threaded ones run SAB_CONFIGS).
 */
export const sabmallocProfiled = {
  ...makeAdapter("sabmalloc-profiled", "sabmalloc with heap profiling on (profile: true: 512 KiB between samples)"),
  create(sizing) {
    return new SabInstance(this.Heap.create({ ...heapOptions("sabmalloc", sizing.bytes), profile: true }));
  },
};
