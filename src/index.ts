// sabmalloc: a jemalloc-style malloc/free for a SharedArrayBuffer (or a shared WebAssembly.Memory)
// that many threads use at once.

export { Heap } from "./heap.js";
export type { HeapHandle, HeapOptions } from "./heap.js";
export { HeapError } from "./errors.js";
export type { HeapErrorCode } from "./errors.js";
export type { ArenaStats, BinStats, ClassCounts, HeapStats } from "./stats.js";
export { NBINS, BIN_SIZE, BIN_RUN_PAGES, BIN_NREGS, SMALL_MAX } from "./sizeclass.js";
export { PAGE_SIZE, CHUNK_SIZE } from "./layout.js";
export { formatStats, formatBytes } from "./format.js";
export { heapMap } from "./heapmap.js";
/** @internal Inspection for tools (heap pictures); not part of the contract, its shape may change. */
export { pageStates } from "./inspect.js";
export type { ChunkView, HeapSnapshot, RunKind, RunView } from "./inspect.js";
export { toPprof, toDevTools, formatProfile } from "./pprof.js";
export type { DevToolsNode, DevToolsProfile } from "./pprof.js";
export type { HeapProfile, ProfileFrame, ProfileOptions, ProfileSample } from "./profile.js";
