// AssemblyScript module compiled at bench time (bench/adapters/tlsf.mjs) with
// `--runtime minimal`: TLSF memory manager + a GC that only runs when __collect() is called
// from outside, which the suite never does. heap.alloc/realloc/free are the raw TLSF entry points
// (__alloc/__realloc/__free); they bypass the GC entirely. (`--runtime stub` would be a bump
// allocator that never frees; `incremental`, the default, is the same TLSF plus an incremental GC.)
// @ts-nocheck  (AssemblyScript, not TypeScript)

export function malloc(size: usize): usize {
  return heap.alloc(size);
}

export function free(ptr: usize): void {
  heap.free(ptr);
}

export function realloc(ptr: usize, size: usize): usize {
  if (ptr == 0) return heap.alloc(size);
  return heap.realloc(ptr, size);
}

export function calloc(count: usize, size: usize): usize {
  const n = count * size;
  const p = heap.alloc(n);
  memory.fill(p, 0, n);
  return p;
}

/** usable size of a block: TLSF keeps it in the 4-byte header before the block (low 2 bits: tags) */
export function usable(ptr: usize): usize {
  return load<u32>(ptr - 4) & ~3;
}
