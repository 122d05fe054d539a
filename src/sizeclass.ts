// sizeclass: the seed's 36 small size classes, generated from one rule.
//
//   8 | 16 32 48 64 | 80 96 112 128 | 160 192 224 256 | ... | 10240 12288 14336
//   tiny  quantum 16  then four classes per doubling, each spaced size/4 apart
//
// A run (slab) of class `size` is the fewest pages that `size` divides exactly and that hold at
// least 4 regions, so a run needs no header inside it: region_size * nregs == pages * 4096.
// This reproduces the seed's table (tested against it line by line).

import { L } from "./layout.js";

export const SMALL_MAX: number = L.SMALL_MAX;
const MIN_REGIONS = 4;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function generateSizes(): number[] {
  const sizes = [8];
  for (let s = 16; s <= 64; s += 16) sizes.push(s);
  for (let group = 64; ; group *= 2) {
    for (let k = 1; k <= 4; k++) {
      const s = group + (k * group) / 4;
      if (s > SMALL_MAX) return sizes;
      sizes.push(s);
    }
  }
}

function runPagesFor(size: number): number {
  const lcmPages = size / gcd(size, L.PAGE_SIZE); // pages after which regions end on a page boundary
  let pages = lcmPages;
  while ((pages * L.PAGE_SIZE) / size < MIN_REGIONS) pages += lcmPages;
  return pages;
}

const sizes = generateSizes();

/** Number of small size classes (36). */
export const NBINS: number = L.NBINS;
if (sizes.length !== L.NBINS) throw new Error(`sabmalloc: ${sizes.length} size classes, layout says ${L.NBINS}`);
/** Region size of each class. */
export const BIN_SIZE = Int32Array.from(sizes);
/** Pages in one run of each class. */
export const BIN_RUN_PAGES = Int32Array.from(sizes, runPagesFor);
/** Regions in one run of each class (at most 512). */
export const BIN_NREGS = Int32Array.from(sizes, (s, i) => (BIN_RUN_PAGES[i] * L.PAGE_SIZE) / s);
/** Words of region bitmap a run of each class needs. */
export const BIN_BITMAP_WORDS = Int32Array.from(BIN_NREGS, (n) => (n + 31) >>> 5);
/**
 * ceil(2^32 / size): region index = floor(offset * magic / 2^32) for every offset inside a run
 * (offset < 2^16, so the error offset * (magic * size - 2^32) < 2^30 never reaches a whole unit).
 * A double multiply is several times cheaper than an integer division by a variable.
 */
export const BIN_MAGIC = Float64Array.from(sizes, (s) => Math.ceil(2 ** 32 / s));
export const TWO_POW_M32 = 2 ** -32;
/**
 * The same ceil(2^32 / size) as int32 words (at most 2^29), for a divisibility test without the
 * quotient: size divides offset exactly when (offset * c) mod 2^32 < c (Lemire, Kaser and Kurz,
 * "Faster remainder by direct computation", 2019: exact for offsets below 2^(32 - log2 size),
 * and a run is at most 14 pages, so offsets stay below 2^16). One imul, where regionIndex needs
 * two double multiplies.
 */
export const BIN_DIV = Int32Array.from(BIN_MAGIC);

/**
 * The size class of a request of `size` bytes (0 <= size <= SMALL_MAX): the smallest class that
 * holds it, computed from the rule above. Both halves are computed and one is kept by a mask, with
 * no branch: a request's size decides nothing the CPU must guess. With sizes that follow no
 * pattern (log-uniform 8 B..1 KiB, as the bench's batches, random replace and larson draw them),
 * the branch `size <= 64` that chose the half was mispredicted about half the time (measured in
 * A/B runs against it: random replace among 1,000 blocks 16.1 -> 12.8 ns a pair, batches of
 * 100,000 mixed sizes 10-12% faster; where sizes repeat a pattern the predictor learns, 1-6%
 * slower; a constant size is folded away where malloc is inlined, as before). A table indexed by
 * (size + 7) >>> 3 did this once; in malloc's fast path its read was a chain of loads (the array,
 * its data pointer and length, then the byte), slower than either. Tested for every size.
 *
 *   size <= 64   0 for 0..8, then (size + 15) >> 4: 1 for 9..16, 2 for 17..32, 3, 4
 *                (the 8 taken off below 9 brings 0..8 to 0)
 *   size > 64    lg = floor(log2(size - 1)): four classes split (2^lg, 2^(lg+1)] in steps of
 *                2^(lg-2), so (size - 1) >> (lg - 2) is 4..7; the group's first class is
 *                4 * (lg - 6) + 5 (80 B: lg = 6, class 5). With z = clz32(size - 1) = 31 - lg:
 *                101 - 4z + ((size - 1) >> (29 - z)); `| 64` keeps lg >= 6 for the small sizes
 *                too, whose result the mask then drops
 */
export function sizeToBin(size: number): number {
  const small = (size - 65) >> 31; // all ones when size <= 64, else 0
  const lo = (size + 15 - (((size - 9) >> 31) & 8)) >>> 4;
  const z = Math.clz32((size - 1) | 64);
  const hi = 101 - (z << 2) + ((size - 1) >>> (29 - z));
  return (lo & small) | (hi & ~small);
}

/** Region index of byte `offset` inside a run of class `bin` (exact division, via BIN_MAGIC). */
export function regionIndex(bin: number, offset: number): number {
  return (offset * BIN_MAGIC[bin] * TWO_POW_M32) | 0;
}

/** Whether byte `offset` of a run of class `bin` is the start of a region (the free fast path's test). */
export function isRegionStart(bin: number, offset: number): boolean {
  // (offset * c) mod 2^32 < c, as int32: c is at most 2^29, so "below c as uint32" is "in [0, c)".
  const q = Math.imul(offset, BIN_DIV[bin]);
  return q >= 0 && q < BIN_DIV[bin];
}
