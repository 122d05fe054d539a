// bitmap: region occupancy of a small run, kept outside the run (in its chunk's aux area).
//
//   word 0                              word 1
//   +----+----+-- ... --+----+----+     +----+-- ... --+
//   | b0 | b1 |         |b30 |b31 |     |b32 |         |    bit j of word w = region 32*w + j
//   +----+----+-- ... --+----+----+     +----+-- ... --+
//
// 1 = free, 0 = in use; bits past `nbits` are 0, so they are never handed out. The lowest free
// region is the lowest set bit of the first non-zero word: `x & -x` isolates it and Math.clz32
// turns it into an index, one instruction each, no bit-by-bit scan. At most 16 words (512
// regions), so a second summary level would not pay for itself (jemalloc finds the same).

/** Words needed for `nbits` bits. */
export function bitmapWords(nbits: number): number {
  return (nbits + 31) >>> 5;
}

/**
 * Marks bits [from, nbits) free (1) and the rest of the words in use (0): the bits below `from`
 * and the tail of the last word.
 */
export function bitmapFill(m: Int32Array, at: number, nbits: number, from = 0): void {
  const words = bitmapWords(nbits);
  for (let w = 0; w < words; w++) {
    const lo = w << 5;
    let x = from <= lo ? -1 : from - lo >= 32 ? 0 : -1 << (from - lo);
    if (nbits - lo < 32) x &= (1 << (nbits - lo)) - 1;
    m[at + w] = x;
  }
}

/** Lowest set bit of a non-zero word. */
export function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Clears and returns the lowest set bit, or -1 when all `nwords` words are 0. */
export function bitmapTakeFirst(m: Int32Array, at: number, nwords: number): number {
  for (let w = 0; w < nwords; w++) {
    const x = m[at + w];
    if (x !== 0) {
      m[at + w] = x & (x - 1); // clear the lowest set bit
      return (w << 5) + lowestBit(x);
    }
  }
  return -1;
}

export function bitmapGet(m: Int32Array, at: number, bit: number): boolean {
  return (m[at + (bit >>> 5)] & (1 << (bit & 31))) !== 0;
}

export function bitmapSet(m: Int32Array, at: number, bit: number): void {
  m[at + (bit >>> 5)] |= 1 << (bit & 31);
}

export function bitmapUnset(m: Int32Array, at: number, bit: number): void {
  m[at + (bit >>> 5)] &= ~(1 << (bit & 31));
}

/** Number of set bits in `nwords` words. */
export function bitmapCount(m: Int32Array, at: number, nwords: number): number {
  let n = 0;
  for (let w = 0; w < nwords; w++) n += bitCount(m[at + w]);
  return n;
}

/** Number of set bits in the 32-bit word `x` (a SWAR popcount: no loop over the bits). */
export function bitCount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
