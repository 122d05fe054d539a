// Fixed-length views of a heap's buffer. A view made without a length tracks a growable
// SharedArrayBuffer, but every access through it is far slower (~20x measured), so the workers take
// fixed-length views and take them again when a pointer lies beyond the end (the buffer grew).
export function fixedView(Ctor, heap) {
  const b = heap.buffer;
  return new Ctor(b, 0, Math.floor(b.byteLength / Ctor.BYTES_PER_ELEMENT));
}

/**
 * `view` (a `Ctor` view of the heap's buffer) when it reaches byte `end` (exclusive), else a new
 * fixed view (the buffer grew). For the timed loops: called at every access, not only when the
 * buffer grew, so that V8 has seen the call, and the call inside it, before it optimizes the loop.
 * A call first made after that (`if (q + size > u8.length) u8 = fixedView(...)`: the heap's first
 * growth in the timed run) deoptimizes the loop, which one long timed call then finishes in
 * slower code (measured: larson's timed call deoptimized so in some workers of a generation, and
 * took 1.2-1.5x as long there).
 */
export function covering(Ctor, heap, view, end) {
  return end <= view.length * Ctor.BYTES_PER_ELEMENT ? view : fixedView(Ctor, heap);
}
