// The seed's size-class table, line by line, and the request -> class mapping at every size.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap } from "../src/index.js";
import {
  BIN_NREGS, BIN_RUN_PAGES, BIN_SIZE, isRegionStart, NBINS, regionIndex, sizeToBin, SMALL_MAX,
} from "../src/sizeclass.js";

// region_size, page_num, region_num, as in seed/allocator.md
const SEED = [
  [8, 1, 512], [16, 1, 256], [32, 1, 128], [48, 3, 256], [64, 1, 64], [80, 5, 256], [96, 3, 128],
  [112, 7, 256], [128, 1, 32], [160, 5, 128], [192, 3, 64], [224, 7, 128], [256, 1, 16], [320, 5, 64],
  [384, 3, 32], [448, 7, 64], [512, 1, 8], [640, 5, 32], [768, 3, 16], [896, 7, 32], [1024, 1, 4],
  [1280, 5, 16], [1536, 3, 8], [1792, 7, 16], [2048, 2, 4], [2560, 5, 8], [3072, 3, 4], [3584, 7, 8],
  [4096, 4, 4], [5120, 5, 4], [6144, 6, 4], [7168, 7, 4], [8192, 8, 4], [10240, 10, 4], [12288, 12, 4],
  [14336, 14, 4],
];

test("the generated classes are the seed's table exactly", () => {
  assert.equal(NBINS, SEED.length);
  for (let b = 0; b < NBINS; b++) {
    assert.deepEqual([BIN_SIZE[b], BIN_RUN_PAGES[b], BIN_NREGS[b]], SEED[b], `class ${b}`);
    assert.equal(BIN_SIZE[b] * BIN_NREGS[b], BIN_RUN_PAGES[b] * 4096, "a run has no header and no tail");
  }
  assert.equal(SMALL_MAX, 14336);
});

test("sizeToBin is the smallest class that holds n, for every n from 0 to 14336", () => {
  let b = 0;
  for (let n = 0; n <= SMALL_MAX; n++) {
    while (BIN_SIZE[b] < n) b++;
    assert.equal(sizeToBin(n), b, `n = ${n}`);
  }
});

test("usableSize(malloc(n)) is the smallest class >= n for every n from 0 to 14337", () => {
  const heap = Heap.create({ initialBytes: 1 << 20 });
  let b = 0;
  for (let n = 0; n <= SMALL_MAX + 1; n++) {
    while (b < NBINS && BIN_SIZE[b] < Math.max(n, 8)) b++;
    const expected = n <= SMALL_MAX ? BIN_SIZE[b] : 16384;
    const p = heap.malloc(n);
    assert.notEqual(p, 0);
    assert.equal(heap.usableSize(p), expected, `n = ${n}`);
    heap.free(p);
  }
  heap.check();
});

test("regionIndex divides exactly at every byte offset of a run of every class", () => {
  for (let b = 0; b < NBINS; b++) {
    const size = BIN_SIZE[b];
    for (let off = 0; off < BIN_RUN_PAGES[b] * 4096; off++) {
      const idx = regionIndex(b, off);
      if (idx !== Math.floor(off / size)) assert.fail(`class ${size}, offset ${off}: ${idx}, expected ${Math.floor(off / size)}`);
    }
  }
});

test("isRegionStart is true exactly at region boundaries, at every byte offset of a run of every class", () => {
  let starts = 0;
  for (let b = 0; b < NBINS; b++) {
    const size = BIN_SIZE[b];
    for (let off = 0; off < BIN_RUN_PAGES[b] * 4096; off++) {
      const want = off % size === 0;
      if (isRegionStart(b, off) !== want) assert.fail(`class ${size}, offset ${off}: ${!want}, expected ${want}`);
      if (want) starts++;
    }
  }
  assert.equal(starts, BIN_NREGS.reduce((a, n) => a + n, 0));
});
