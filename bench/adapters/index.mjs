// The allocators the single-threaded workloads run against. Each adapter:
//   { id, label, kind: "sabmalloc" | "peer" | "native", style?, only?, memory?,
//     load(): {ok, note?, reason?}, create({bytes}): instance }
// style: "heap" (default: malloc returns an offset into memory that view() shows), "typed" (malloc
// returns a typed array), "objects" (plain JS objects: tree workloads only), "native" (the C
// program: a child process instead of an instance, see lib/native.mjs); only: a RegExp of the
// workload ids it runs (the others are "n/a"); memory: false skips the memory pass.
// and each instance:
//   malloc(n), free(p), realloc(p, n), calloc(c, n)   the allocator (p: a number, or an object for GC)
//   slots(n)          a container for n pointers (Uint32Array, or Array for the GC baseline)
//   reset()           after a run: true if the instance can be reused, false to get a fresh one
//   usable(p)         usable size of a live block (memory pass only)
//   view()            a Uint32Array over the allocator's memory (heap style; tree workloads)
//   memStats(liveBlocks, liveUsable)  { active, mapped, metadata, capacity } - null where the
//                     allocator cannot tell (the memory probe passes its exact live counts)
//   destroy()?        optional
// Adding an allocator = writing one of these and listing it here.
import { sabmalloc, sabmallocLock, sabmallocProfiled, sabmallocWasm } from "./sabmalloc.mjs";
import thing from "./thing.mjs";
import tlsf from "./tlsf.mjs";
import { gcU8, gcF64 } from "./gc.mjs";
import { freeList, jsObjects } from "./tree-peers.mjs";
import { noAllocator, noAllocatorChecked, noAllocatorMark, noAllocatorMove, noAllocatorTouch } from "./floor.mjs";
import { nativeGlibc, nativeJemalloc } from "./native.mjs";

export const ALL_ADAPTERS = [sabmalloc, sabmallocLock, sabmallocProfiled, sabmallocWasm, tlsf, thing, gcU8, gcF64, noAllocator, noAllocatorTouch, noAllocatorMark, noAllocatorChecked, noAllocatorMove, freeList, jsObjects, nativeGlibc, nativeJemalloc];
