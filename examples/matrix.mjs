// A worker pool multiplying Float64 matrices that live in one shared heap.
//
// The main thread allocates A, B and C (192 x 192 doubles each) with heap.malloc, fills A and B,
// and hands the workers nothing but the heap's handle and three pointers. Workers take C's blocks
// from a task counter that also lives in the heap, compute them into C, and use the heap for their
// own scratch memory (a transposed copy of B's block column). The main thread checks C against a
// plain multiplication, frees everything, and the heap ends up empty.
//
//   node examples/matrix.mjs          (after npm run build)
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Heap } from "sabmalloc";

const N = 192; // matrix size
const BS = 32; // block size: C is cut into (N / BS)^2 tasks
const WORKERS = 4;

if (isMainThread) {
  const heap = Heap.create();
  const bytes = N * N * Float64Array.BYTES_PER_ELEMENT;
  const a = heap.malloc(bytes);
  const b = heap.malloc(bytes);
  const c = heap.calloc(N * N, Float64Array.BYTES_PER_ELEMENT);
  const next = heap.calloc(1, 4); // the task counter
  const A = new Float64Array(heap.buffer, a, N * N);
  const B = new Float64Array(heap.buffer, b, N * N);
  for (let i = 0; i < N * N; i++) {
    A[i] = ((i * 7) % 13) - 6;
    B[i] = ((i * 11) % 17) / 4;
  }

  const t0 = performance.now();
  const workers = Array.from({ length: WORKERS }, () =>
    new Worker(new URL(import.meta.url), { workerData: { handle: heap.handle, a, b, c, next } }));
  const done = await Promise.all(workers.map((w) => new Promise((ok, fail) => {
    w.once("message", ok);
    w.once("error", fail);
  })));
  const ms = performance.now() - t0;

  // Check C = A x B.
  const C = new Float64Array(heap.buffer, c, N * N);
  let worst = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < N; k++) s += A[i * N + k] * B[k * N + j];
      worst = Math.max(worst, Math.abs(s - C[i * N + j]));
    }
  }
  if (worst > 1e-9) throw new Error(`C differs from A x B by ${worst}`);
  console.log(`${N}x${N} product by ${WORKERS} workers in ${ms.toFixed(0)} ms; blocks per worker: ${done.map((d) => d.blocks).join(", ")}`);

  for (const p of [a, b, c, next]) heap.free(p);
  heap.flush(); // this thread's cached regions go back too
  heap.check();
  const left = heap.stats().allocated;
  if (left !== 0) throw new Error(`${left} bytes still allocated`);
  console.log("ok: C = A x B, every block freed, heap consistent and empty");
} else {
  const { handle, a, b, c, next } = workerData;
  const heap = Heap.attach(handle);
  const tasks = (N / BS) ** 2;
  const counter = new Int32Array(heap.buffer, next, 1);
  let blocks = 0;
  for (let t = Atomics.add(counter, 0, 1); t < tasks; t = Atomics.add(counter, 0, 1)) {
    const bi = Math.floor(t / (N / BS)) * BS;
    const bj = (t % (N / BS)) * BS;
    // Scratch from the shared heap: B's block column [*, bj .. bj + BS) transposed, for locality.
    const scratch = heap.malloc(BS * N * 8);
    const buf = heap.buffer; // read after malloc: the buffer may have grown
    const A = new Float64Array(buf, a, N * N);
    const B = new Float64Array(buf, b, N * N);
    const C = new Float64Array(buf, c, N * N);
    const BT = new Float64Array(buf, scratch, BS * N);
    for (let k = 0; k < N; k++) for (let j = 0; j < BS; j++) BT[j * N + k] = B[k * N + bj + j];
    for (let i = bi; i < bi + BS; i++) {
      for (let j = 0; j < BS; j++) {
        let s = 0;
        for (let k = 0; k < N; k++) s += A[i * N + k] * BT[j * N + k];
        C[i * N + bj + j] = s;
      }
    }
    heap.free(scratch);
    blocks++;
  }
  heap.detach(); // flush this thread's cache and give up its slot
  parentPort.postMessage({ blocks });
}
