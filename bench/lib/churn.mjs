// A short private malloc/free loop that compiles an allocator's code before anything is timed:
// 256 slots, a xorshift32 stream, each step frees the slot's block and mallocs a new one of
// size(r) bytes (r: the stream's next unsigned 32-bit value); everything is freed at the end.
// `a` needs malloc and free; `slots` is any indexable holding what malloc returns (0 = empty).
export function churn(a, slots, steps, size) {
  let s = 0x9e3779b9 | 0;
  for (let k = 0; k < steps; k++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const i = k & 255;
    if (slots[i]) a.free(slots[i]);
    slots[i] = a.malloc(size(s >>> 0));
  }
  for (let i = 0; i < 256; i++) if (slots[i]) { a.free(slots[i]); slots[i] = 0; }
}
