// Run by test/jit.test.ts as `node --allow-natives-syntax test/jit/lock-contended.mjs [--unprimed]`.
// A caller of lockAcquire and lockRelease, optimized by V8 while every lock it took was free, then
// takes a lock that another thread holds (a worker releases it 20 ms later). Prints a JSON line:
// whether the caller was optimized before, whether it still is after, and whether it got the lock.
// Without --unprimed, lockPrime() runs first, as every Heap does when its module first attaches
// (heap.ts: primeFree); --unprimed is the test's control.
import { Worker } from "node:worker_threads";

const unprimed = process.argv.includes("--unprimed");
const { lockAcquire, lockPrime, lockRelease } = await import(new URL("../../dist/lock.js", import.meta.url).href);
// The natives syntax is written inside Function bodies: this file parses without the flag too.
const status = new Function("f", "return %GetOptimizationStatus(f)");
const prepare = new Function("f", "%PrepareFunctionForOptimization(f)");
const optimizeNext = new Function("f", "%OptimizeFunctionOnNextCall(f)");
const OPTIMIZED = 16; // V8's OptimizationStatus::kOptimized

if (!unprimed) lockPrime(1);
const sab = new SharedArrayBuffer(16);
const m = new Int32Array(sab);
/** The caller: takes and releases the lock at word 0 as owner 1 (V8 inlines both here). */
function section(m) {
  lockAcquire(m, 0, 1, true, null);
  const mine = Atomics.load(m, 0) >>> 1 === 1;
  lockRelease(m, 0);
  return mine;
}
prepare(section);
for (let i = 0; i < 32; i++) section(m);
optimizeNext(section);
section(m);
const before = (status(section) & OPTIMIZED) !== 0;
// Owner 2 holds the lock; a worker releases it (with a notify) after 20 ms.
m[0] = 2 << 1;
const releaser = new Worker(
  `const m = new Int32Array(require("node:worker_threads").workerData);
   Atomics.wait(m, 1, 0, 20);
   Atomics.store(m, 0, 0);
   Atomics.notify(m, 0);`,
  { eval: true, workerData: sab },
);
const got = section(m);
const after = (status(section) & OPTIMIZED) !== 0;
await new Promise((resolve) => releaser.once("exit", resolve));
console.log(JSON.stringify({ before, after, got, free: m[0] === 0 }));
