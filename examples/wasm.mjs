// WebAssembly and JavaScript sharing one heap inside a shared WebAssembly.Memory.
//
// JavaScript allocates with sabmalloc (Heap.fromMemory puts the heap above `base`; the module's own
// data, if it had any, would live below it), WebAssembly code reads and writes the blocks through
// their pointers - plain i32 addresses - and worker threads run the same module on the same memory.
// The module is assembled right here, byte by byte, from this text:
//
//   (module
//     (import "env" "memory" (memory 1 65536 shared))
//     (func (export "sum_f64") (param $p i32) (param $n i32) (result f64)   ;; sum of n doubles at p
//       (local $acc f64) (local $end i32)
//       (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 3))))
//       (block (loop
//         (br_if 1 (i32.ge_u (local.get $p) (local.get $end)))
//         (local.set $acc (f64.add (local.get $acc) (f64.load (local.get $p))))
//         (local.set $p (i32.add (local.get $p) (i32.const 8)))
//         (br 0)))
//       (local.get $acc))
//     (func (export "fill") (param $p i32) (param $len i32) (param $byte i32)  ;; memset
//       (memory.fill (local.get $p) (local.get $byte) (local.get $len)))
//     (func (export "atomic_add") (param $p i32) (param $d i32) (result i32)   ;; fetch-and-add
//       (i32.atomic.rmw.add (local.get $p) (local.get $d))))
//
//   node examples/wasm.mjs          (after npm run build)
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Heap } from "sabmalloc";

// ---- A tiny assembler: just what the module above needs -------------------------------------------

const uleb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const vec = (items) => [...uleb(items.length), ...items.flat()];
const name = (s) => vec([...new TextEncoder().encode(s)]);
const section = (id, body) => [id, ...uleb(body.length), ...body];
const I32 = 0x7f, F64 = 0x7c;
const OP = {
  end: 0x0b, block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, void: 0x40,
  localGet: 0x20, localSet: 0x21, i32Const: 0x41, i32Add: 0x6a, i32Shl: 0x74, i32GeU: 0x4f,
  f64Load: 0x2b, f64Add: 0xa0,
};
const memoryFill = [0xfc, 0x0b, 0x00]; // bulk memory: memory.fill, memory 0
const i32AtomicRmwAdd = [0xfe, 0x1e, 0x02, 0x00]; // threads: i32.atomic.rmw.add align=4 offset=0

function assemble() {
  const types = [
    [0x60, ...vec([I32, I32]), ...vec([F64])], // 0: (i32, i32) -> f64
    [0x60, ...vec([I32, I32, I32]), ...vec([])], // 1: (i32, i32, i32) -> ()
    [0x60, ...vec([I32, I32]), ...vec([I32])], // 2: (i32, i32) -> i32
  ];
  const memoryImport = [...name("env"), ...name("memory"), 0x02, 0x03, ...uleb(1), ...uleb(65536)]; // shared, min, max
  const { localGet: get, localSet: set } = OP;
  const sum = [
    ...vec([[1, F64], [1, I32]]), // locals: 2 = acc, 3 = end
    get, 0, get, 1, OP.i32Const, 3, OP.i32Shl, OP.i32Add, set, 3,
    OP.block, OP.void, OP.loop, OP.void,
    get, 0, get, 3, OP.i32GeU, OP.brIf, 1,
    get, 2, get, 0, OP.f64Load, 3, 0, OP.f64Add, set, 2,
    get, 0, OP.i32Const, 8, OP.i32Add, set, 0,
    OP.br, 0,
    OP.end, OP.end,
    get, 2, OP.end,
  ];
  const fill = [...vec([]), get, 0, get, 2, get, 1, ...memoryFill, OP.end];
  const add = [...vec([]), get, 0, get, 1, ...i32AtomicRmwAdd, OP.end];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vec(types)),
    ...section(2, vec([memoryImport])),
    ...section(3, vec([[0], [1], [2]])),
    ...section(7, vec([[...name("sum_f64"), 0x00, 0], [...name("fill"), 0x00, 1], [...name("atomic_add"), 0x00, 2]])),
    ...section(10, vec([sum, fill, add].map((body) => [...uleb(body.length), ...body]))),
  ];
  return new Uint8Array(bytes);
}

// ---- The program -----------------------------------------------------------------------------------

const WORKERS = 2;
const ROUNDS = 500;

if (isMainThread) {
  const module = new WebAssembly.Module(assemble());
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16384, shared: true }); // up to 1 GiB
  const { exports: wasm } = new WebAssembly.Instance(module, { env: { memory } });
  const heap = Heap.fromMemory(memory, { base: 65536 }); // the heap starts at 64 KiB

  // JS allocates and fills, wasm reads: a sum over a Float64 array at a pointer.
  const n = 100000;
  const xs = heap.malloc(n * 8); // a large run (~782 KiB)
  const view = new Float64Array(heap.buffer, xs, n);
  for (let i = 0; i < n; i++) view[i] = i * 0.5;
  const sum = wasm.sum_f64(xs, n);
  if (sum !== (0.5 * n * (n - 1)) / 2) throw new Error(`sum_f64 gave ${sum}`);
  console.log(`wasm sum_f64 over ${n} doubles at ${xs}: ${sum}`);

  // wasm writes, JS reads: fill a block.
  const block = heap.malloc(5000);
  wasm.fill(block, 5000, 0xab);
  if (!new Uint8Array(heap.buffer, block, 5000).every((b) => b === 0xab)) throw new Error("fill missed bytes");
  console.log(`wasm fill of 5000 bytes at ${block}: every byte 0xab`);

  // Threads: workers instantiate the same module on the same memory and attach to the heap.
  const counter = heap.calloc(1, 4);
  const workers = Array.from({ length: WORKERS }, (_, id) =>
    new Worker(new URL(import.meta.url), { workerData: { module, memory, handle: heap.handle, counter, id } }));
  await Promise.all(workers.map((w) => new Promise((ok, fail) => {
    w.once("message", ok);
    w.once("error", fail);
  })));
  const total = new Int32Array(heap.buffer, counter, 1)[0];
  if (total !== WORKERS * ROUNDS) throw new Error(`counter ${total}, expected ${WORKERS * ROUNDS}`);
  console.log(`${WORKERS} workers: ${ROUNDS} malloc/wasm-fill/check/free rounds each, atomic counter = ${total}`);

  for (const p of [xs, block, counter]) heap.free(p);
  heap.flush();
  heap.check();
  if (heap.stats().allocated !== 0) throw new Error("leak");
  console.log(`ok: wasm and JS agree on every block; memory is ${memory.buffer.byteLength / 2 ** 20} MiB, heap empty`);
} else {
  const { module, memory, handle, counter, id } = workerData;
  const { exports: wasm } = new WebAssembly.Instance(module, { env: { memory } });
  const heap = Heap.attach(handle);
  for (let r = 0; r < ROUNDS; r++) {
    const size = 1 + ((r * 2654435761 + id) >>> 0) % 20000;
    const p = heap.malloc(size);
    const byte = (r + id) & 0xff;
    wasm.fill(p, size, byte);
    const bytes = new Uint8Array(heap.buffer, p, size);
    for (let i = 0; i < size; i++) if (bytes[i] !== byte) throw new Error(`worker ${id}: byte ${i} of ${p}`);
    wasm.atomic_add(counter, 1);
    heap.free(p);
  }
  heap.detach();
  parentPort.postMessage("done");
}
