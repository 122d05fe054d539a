// Fixed-length views of a heap's buffer. A view made without a length tracks a growable
// SharedArrayBuffer, but every access through it is far slower (~20x measured), so the workers take
// fixed-length views and take them again when a pointer lies beyond the end (the buffer grew).
export function fixedView(Ctor, heap) {
  const b = heap.buffer;
  return new Ctor(b, 0, Math.floor(b.byteLength / Ctor.BYTES_PER_ELEMENT));
}

/**
 * `view` (a `Ctor` view of the heap's buffer) when it reaches byte `end` (exclusive), else a new
 * fixed view (the buffer grew). For the timed loops: a call at every access, not a branch in the
 * loop, so that the loop's own call site has run before V8 optimizes it. A call first made after
 * that (`if (q + size > u8.length) u8 = fixedView(...)`: the heap's first growth in the timed run)
 * deoptimizes the loop, which one long timed call then finishes in slower code (measured:
 * larson's timed call deoptimized so in some workers of a generation, and took 1.2-1.5x as long
 * there). The call to fixedView inside needs the same: primeViews.
 */
export function covering(Ctor, heap, view, end) {
  return end <= view.length * Ctor.BYTES_PER_ELEMENT ? view : fixedView(Ctor, heap);
}

/**
 * Runs both ways through covering() for each view type, often enough that V8 records them (it
 * gives a function its type feedback only after several calls: one call that takes a path leaves
 * no trace). A worker calls it before its warm-up. Without it, covering()'s call to fixedView()
 * had no feedback until the heap first grew, mid-warm-up: the optimized loop then deoptimized
 * there, and V8 went on running it as on-stack-replaced code, ~2x as slow, call after call, never
 * optimizing it again. Measured (%GetOptimizationStatus at the start of the timed call, the
 * scaling floor's larson loop over sabmalloc, 32 runs each way): 10 of 32 timed runs started so
 * without this, none with it.
 */
export function primeViews(heap) {
  for (const Ctor of [Uint8Array, Uint32Array]) {
    const whole = fixedView(Ctor, heap);
    const short = new Ctor(heap.buffer, 0, 1); // reaches one element: the next byte needs a new view
    for (let k = 0; k < 64; k++) covering(Ctor, heap, k & 1 ? short : whole, k & 1 ? 2 * Ctor.BYTES_PER_ELEMENT : Ctor.BYTES_PER_ELEMENT);
  }
}
