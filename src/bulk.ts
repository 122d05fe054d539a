// bulk: memset and memmove for a heap inside a shared WebAssembly.Memory, through the memory's own
// bulk instructions (memory.fill, memory.copy) in a module of 80 bytes, written out below.
//
// JavaScript has no fast memset or memmove for a SharedArrayBuffer: V8's TypedArray fill() stores
// byte by byte there, copyWithin() is a relaxed copy, so calloc zeroes and debug mode junk-fills
// with Float64 stores, eight a turn, and realloc copies with a word loop or copyWithin (space.ts).
// A wasm module can import a shared WebAssembly.Memory, and its memory.fill and memory.copy run as
// native memset and memmove.
// A heap made by Heap.fromMemory (or restoreInto, or attached to one) gets them; a heap on a plain
// SharedArrayBuffer (Heap.create) cannot: wasm imports memories, never buffers.
//
// Measured (Node 20, one shared memory, medians of 3; ns a call):
//
//   bytes              8    64   256   1 KiB  4 KiB  64 KiB  1 MiB
//   Float64 loop      12    16    14      48    162   2,655  45,186
//   memory.fill       22    21    14      18     73     901  19,899
//   word loop /
//   copyWithin        14    30    57      92    225   2,805  46,297
//   memory.copy       25    24    16      30     71   1,781  32,683
//
// A call into wasm costs ~10 ns, so short blocks keep the loops (BULK_FILL_MIN, BULK_COPY_MIN).
//
// Where WebAssembly cannot compile (a page whose Content-Security-Policy forbids it), makeBulk
// returns null and the loops do all of it.

/** Bytes from which zeroBytes and fillBytes call memory.fill (below, the loops are as fast). */
export const BULK_FILL_MIN = 256;
/** Bytes from which copyBlock calls memory.copy (below, the word loop is as fast). */
export const BULK_COPY_MIN = 64;

/** memory.fill and memory.copy over one memory. Addresses and lengths are uint32 (wasm32). */
export interface Bulk {
  /** Sets bytes [dst, dst + n) to `byte` (its low 8 bits). */
  fill(dst: number, byte: number, n: number): void;
  /** Copies n bytes from src to dst (the ranges may overlap, as memmove's). */
  copy(dst: number, src: number, n: number): void;
}

// The module, section by section (wasm binary format; numbers are LEB128, all of them one byte
// but the memory's maximum):
//
//   (module
//     (import "s" "m" (memory 0 65536 shared))
//     (func (export "fill") (param $dst i32) (param $byte i32) (param $n i32)
//       (memory.fill (local.get $dst) (local.get $byte) (local.get $n)))
//     (func (export "copy") (param $dst i32) (param $src i32) (param $n i32)
//       (memory.copy (local.get $dst) (local.get $src) (local.get $n))))
//
// A JavaScript number at or above 2^31 reaches an i32 parameter wrapped to a negative value, whose
// bits are the same uint32: memory.fill and memory.copy read addresses and lengths as unsigned.
const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  // type section (1), 7 bytes: 1 type, (i32 i32 i32) -> ()
  0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00,
  // import section (2), 11 bytes: 1 import, "s" "m", a memory (2): shared with a maximum (3),
  // at least 0 pages, at most 65536 (0x80 0x80 0x04): any shared memory links
  0x02, 0x0b, 0x01, 0x01, 0x73, 0x01, 0x6d, 0x02, 0x03, 0x00, 0x80, 0x80, 0x04,
  // function section (3), 3 bytes: 2 functions, both of type 0
  0x03, 0x03, 0x02, 0x00, 0x00,
  // export section (7), 15 bytes: "fill" = function 0, "copy" = function 1
  0x07, 0x0f, 0x02, 0x04, 0x66, 0x69, 0x6c, 0x6c, 0x00, 0x00, 0x04, 0x63, 0x6f, 0x70, 0x79, 0x00, 0x01,
  // code section (10), 26 bytes: 2 bodies
  0x0a, 0x1a, 0x02,
  // fill: 11 bytes, no locals; local.get 0, local.get 1, local.get 2, memory.fill 0, end
  0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0b, 0x00, 0x0b,
  // copy: 12 bytes, no locals; local.get 0, local.get 1, local.get 2, memory.copy 0 0, end
  0x0c, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, 0x00, 0x00, 0x0b,
]);

/** The module, compiled once per thread (a few microseconds), or null where wasm cannot compile. */
let compiled: WebAssembly.Module | null | undefined;

/**
 * memory.fill and memory.copy over `memory`, or null where WebAssembly cannot compile or the
 * memory cannot be imported (it is not shared): the loops then do the work.
 */
export function makeBulk(memory: WebAssembly.Memory): Bulk | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(MODULE);
    } catch {
      compiled = null; // not for this thread: every heap here uses the loops
    }
  }
  if (compiled === null) return null;
  try {
    const ex = new WebAssembly.Instance(compiled, { s: { m: memory } }).exports;
    return { fill: ex.fill as Bulk["fill"], copy: ex.copy as Bulk["copy"] };
  } catch {
    return null; // this memory only
  }
}
