// Run by test/jit.test.ts as `node --allow-natives-syntax test/jit/free-slow-path.mjs [--unprimed]`.
// A caller of free, optimized by V8 while every free took the fast path (a block into the thread
// cache), then frees a 64 KiB block, which free's fast path does not take (freeSlow). Prints a JSON
// line: whether the caller was optimized before, and whether it still is after. --unprimed undoes
// Heap's priming of free (the test's control: it shows the caller would deoptimize without it).
const unprimed = process.argv.includes("--unprimed");
const { Heap } = await import(new URL("../../dist/index.js", import.meta.url).href);
// The natives syntax is written inside Function bodies: this file parses without the flag too.
const status = new Function("f", "return %GetOptimizationStatus(f)");
const prepare = new Function("f", "%PrepareFunctionForOptimization(f)");
const optimizeNext = new Function("f", "%OptimizeFunctionOnNextCall(f)");
const OPTIMIZED = 16; // V8's OptimizationStatus::kOptimized

const heap = Heap.create(); // primes Heap.prototype.free (heap.ts: primeFree)
// --unprimed: a copy of free, with no type feedback yet, replaces the primed one.
if (unprimed) {
  const source = Heap.prototype.free.toString();
  Heap.prototype.free = new Function(`return function ${source.replace(/^free/, "")}`)();
}
const small = [];
for (let i = 0; i < 64; i++) small.push(heap.malloc(16));
/** The caller: frees `p` (V8 inlines free here). */
function release(h, p) {
  h.free(p);
}
prepare(release);
for (let i = 0; i < 32; i++) release(heap, small[i]); // fast paths only: the stack has room
optimizeNext(release);
release(heap, small[32]);
const before = (status(release) & OPTIMIZED) !== 0;
const big = heap.malloc(65536);
release(heap, big); // freeSlow: a large run
const after = (status(release) & OPTIMIZED) !== 0;
for (let i = 33; i < 64; i++) heap.free(small[i]);
heap.flush();
console.log(JSON.stringify({ before, after, allocated: heap.stats().allocated }));
