// Region bitmaps, exhaustively for every bit count a run can have (1 .. 512).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bitmapCount, bitmapFill, bitmapGet, bitmapSet, bitmapTakeFirst, bitmapUnset, bitmapWords, lowestBit,
} from "../src/bitmap.js";

const MAX_BITS = 512;
const AT = 3; // bitmaps live at an offset inside a larger array: never touch the words around them
const GUARD = 0x13579bdf;

function makeMap(): Int32Array {
  return new Int32Array(AT + bitmapWords(MAX_BITS) + 3).fill(GUARD);
}

function assertGuards(m: Int32Array, nbits: number): void {
  for (let i = 0; i < AT; i++) assert.equal(m[i], GUARD, `word ${i} before the bitmap was written`);
  for (let i = AT + bitmapWords(nbits); i < m.length; i++) assert.equal(m[i], GUARD, `word ${i} after the bitmap was written`);
}

test("bitmapWords is the number of 32-bit words that hold n bits", () => {
  for (let n = 1; n <= MAX_BITS; n++) assert.equal(bitmapWords(n), Math.ceil(n / 32));
});

test("lowestBit finds the lowest set bit of every single-bit and two-bit word", () => {
  for (let i = 0; i < 32; i++) {
    assert.equal(lowestBit(1 << i), i);
    for (let j = i + 1; j < 32; j++) assert.equal(lowestBit((1 << i) | (1 << j)), i);
    assert.equal(lowestBit(-1 << i), i); // all bits from i up, the sign bit included
  }
});

test("for every bit count 1..512, a filled bitmap hands out 0..n-1 in order, then -1", () => {
  for (let n = 1; n <= MAX_BITS; n++) {
    const m = makeMap();
    const words = bitmapWords(n);
    bitmapFill(m, AT, n);
    assert.equal(bitmapCount(m, AT, words), n, `n = ${n}: a full bitmap counts n`);
    for (let j = 0; j < n; j++) assert.equal(bitmapGet(m, AT, j), true, `n = ${n}: bit ${j} free after fill`);
    for (let j = 0; j < n; j++) {
      assert.equal(bitmapTakeFirst(m, AT, words), j, `n = ${n}: take number ${j}`);
      assert.equal(bitmapGet(m, AT, j), false);
    }
    assert.equal(bitmapTakeFirst(m, AT, words), -1, `n = ${n}: nothing past bit n-1 is handed out`);
    assert.equal(bitmapCount(m, AT, words), 0, `n = ${n}: an emptied bitmap counts 0`);
    for (let w = 0; w < words; w++) assert.equal(m[AT + w], 0);
    assertGuards(m, n);
  }
});

test("bitmapFill from a bit: bits below it and past nbits in use, the rest free", () => {
  for (const n of [1, 31, 32, 33, 64, 100, 256, 511, 512]) {
    const words = bitmapWords(n);
    for (const from of [0, 1, 5, 31, 32, 33, 63, 64, 65, n - 1, n].filter((f) => f >= 0 && f <= n)) {
      const m = makeMap();
      bitmapFill(m, AT, n, from);
      for (let j = 0; j < 32 * words; j++) {
        assert.equal(bitmapGet(m, AT, j), j >= from && j < n, `n = ${n}, from = ${from}: bit ${j}`);
      }
      assert.equal(bitmapCount(m, AT, words), n - from, `n = ${n}, from = ${from}: count`);
      if (from < n) assert.equal(bitmapTakeFirst(m, AT, words), from, `n = ${n}, from = ${from}: the first free bit`);
      assertGuards(m, n);
    }
  }
});

test("for every bit count 1..512, setting bit j makes it the next handed out", () => {
  for (let n = 1; n <= MAX_BITS; n++) {
    const m = makeMap();
    const words = bitmapWords(n);
    bitmapFill(m, AT, n);
    while (bitmapTakeFirst(m, AT, words) >= 0);
    for (let j = 0; j < n; j++) {
      bitmapSet(m, AT, j); // region j freed
      assert.equal(bitmapCount(m, AT, words), 1);
      assert.equal(bitmapTakeFirst(m, AT, words), j, `n = ${n}: freed bit ${j} comes back`);
      assert.equal(bitmapTakeFirst(m, AT, words), -1);
    }
    // With several free, the lowest comes first: free every third bit from the top down.
    for (let j = n - 1; j >= 0; j -= 3) bitmapSet(m, AT, j);
    const expected: number[] = [];
    for (let j = n - 1; j >= 0; j -= 3) expected.unshift(j);
    assert.equal(bitmapCount(m, AT, words), expected.length);
    for (const j of expected) assert.equal(bitmapTakeFirst(m, AT, words), j, `n = ${n}`);
    assert.equal(bitmapTakeFirst(m, AT, words), -1);
    assertGuards(m, n);
  }
});

test("for every bit count 1..512, unsetting bit j of a full bitmap skips exactly j", () => {
  for (let n = 1; n <= MAX_BITS; n++) {
    const words = bitmapWords(n);
    for (const j of new Set([0, n >>> 1, n - 1, Math.min(31, n - 1), Math.min(32, n - 1)])) {
      const m = makeMap();
      bitmapFill(m, AT, n);
      bitmapUnset(m, AT, j);
      assert.equal(bitmapGet(m, AT, j), false);
      assert.equal(bitmapCount(m, AT, words), n - 1);
      const got: number[] = [];
      for (let b; (b = bitmapTakeFirst(m, AT, words)) >= 0;) got.push(b);
      assert.deepEqual(got, Array.from({ length: n }, (_, i) => i).filter((i) => i !== j), `n = ${n}, j = ${j}`);
      assertGuards(m, n);
    }
  }
});

test("bitmapCount round-trips full and empty bitmaps and counts any pattern exactly", () => {
  let x = 0x9e3779b9;
  const rand = (): number => (x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0) >>> 0;
  for (let n = 1; n <= MAX_BITS; n++) {
    const m = makeMap();
    const words = bitmapWords(n);
    bitmapFill(m, AT, n);
    assert.equal(bitmapCount(m, AT, words), n);
    for (let j = 0; j < n; j++) bitmapUnset(m, AT, j);
    assert.equal(bitmapCount(m, AT, words), 0);
    for (let j = 0; j < n; j++) bitmapSet(m, AT, j);
    assert.equal(bitmapCount(m, AT, words), n);
    // A random pattern: count equals the bits set one by one.
    let set = 0;
    for (let j = 0; j < n; j++) {
      if (rand() & 1) {
        bitmapSet(m, AT, j);
      } else {
        bitmapUnset(m, AT, j);
      }
      if (bitmapGet(m, AT, j)) set++;
    }
    assert.equal(bitmapCount(m, AT, words), set, `n = ${n}`);
    assertGuards(m, n);
  }
});

test("bitmapFill leaves the bits past n clear, so they are never handed out", () => {
  for (let n = 1; n <= MAX_BITS; n++) {
    const m = makeMap();
    m.fill(-1, AT, AT + bitmapWords(n)); // garbage where the bitmap goes
    bitmapFill(m, AT, n);
    for (let b = n; b < bitmapWords(n) * 32; b++) assert.equal(bitmapGet(m, AT, b), false, `n = ${n}, bit ${b}`);
  }
});
