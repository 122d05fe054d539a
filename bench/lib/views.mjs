// Fixed-length views of a heap's buffer. A view made without a length tracks a growable
// SharedArrayBuffer, but every access through it is far slower (~20x measured), so the workers take
// fixed-length views and take them again when a pointer lies beyond the end (the buffer grew).
export function fixedView(Ctor, heap) {
  const b = heap.buffer;
  return new Ctor(b, 0, Math.floor(b.byteLength / Ctor.BYTES_PER_ELEMENT));
}
