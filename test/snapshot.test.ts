// heap.snapshot(), Heap.restore / restoreInto, heap.save / Heap.load, and named roots: a heap kept
// as bytes comes back with every live block at its pointer and with its bytes; bad bytes are refused
// with BAD_SNAPSHOT and change nothing.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Heap, HeapError } from "../src/index.js";
import { xxhash32 } from "../src/hash.js";
import { L } from "../src/layout.js";
import { allocFilled, assertBlocks, assertHeapError, Block, fillChunk0, freeAllAssertEmpty, internals, MiB } from "./helpers.js";

/** Small, large and huge blocks, some freed again (into this thread's cache and back to arenas). */
function populate(heap: Heap, n = 600): Block[] {
  const sizes = [8, 24, 100, 1000, 5000, 14336, 20000, 65536, 300_000, 1_500_000, 3 * MiB];
  const blocks: Block[] = [];
  for (let i = 0; i < n; i++) blocks.push(allocFilled(heap, sizes[i % sizes.length] >> (i % 7 === 6 ? 0 : i % 3)));
  const kept: Block[] = [];
  for (const [i, b] of blocks.entries()) {
    if (i % 4 === 1) heap.free(b.p);
    else kept.push(b);
  }
  return kept;
}

function assertBadSnapshot(fn: () => unknown, what: string, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HeapError, `${what}: expected HeapError BAD_SNAPSHOT, got ${String(e)}`);
    assert.equal(e.code, "BAD_SNAPSHOT", `${what}: ${e.message}`);
    if (pattern) assert.match(e.message, pattern, what);
    return true;
  });
}

test("a restored heap holds every live block at its pointer with its bytes, and passes check()", () => {
  const heap = Heap.create({ maxBytes: 512 * MiB });
  const blocks = populate(heap);
  const before = heap.stats();
  assert.ok(before.cached > 0, "this thread's cache holds freed blocks");
  const bytes = heap.snapshot();
  assert.ok(bytes.length < before.capacity + 64 * 1024, "no more than the chunks in use");
  const r = Heap.restore(bytes);
  assert.equal(r.slot, 0);
  r.check();
  const after = r.stats();
  assert.equal(after.allocated, before.allocated - before.cached, "the cached blocks are free again, the rest allocated");
  assert.equal(after.threads, 1);
  assert.equal(r.handle.base, 0);
  assertBlocks(r, blocks);
  // Each block is a live block of the restored heap: it frees, and the heap ends up empty.
  for (const b of blocks) assert.ok(r.usableSize(b.p) >= b.size);
  freeAllAssertEmpty(r, blocks.map((b) => b.p));
  // The source heap went on as it was.
  heap.check();
  assertBlocks(heap, blocks);
  freeAllAssertEmpty(heap, blocks.map((b) => b.p));
});

test("a snapshot keeps a heap that has grown, and leaves unused chunks out", () => {
  const heap = Heap.create({ initialBytes: MiB, maxBytes: 128 * MiB });
  const big = allocFilled(heap, 40 * MiB);
  const small = Array.from({ length: 2000 }, (_, i) => allocFilled(heap, 16 + (i % 50) * 8));
  heap.free(big.p); // 40 chunks back to the pool: not stored
  const keep = allocFilled(heap, 2 * MiB);
  const st = heap.stats();
  assert.ok(st.chunks > 40 && st.poolChunks >= 38);
  const bytes = heap.snapshot();
  assert.ok(bytes.length <= (st.chunks - st.poolChunks) * MiB + 4096, `${bytes.length} bytes for ${st.chunks - st.poolChunks} chunks in use`);
  const r = Heap.restore(bytes);
  r.check();
  assert.equal(r.stats().chunks, st.chunks);
  assertBlocks(r, [keep, ...small]);
  // It grows on: the unused chunks are reused first, then the buffer grows up to the saved maximum.
  const more = allocFilled(r, 100 * MiB);
  assert.equal(r.malloc(200 * MiB), 0, "not past the saved maxBytes");
  r.check();
  assertBlocks(r, [more, keep, ...small]);
  freeAllAssertEmpty(r, [more.p, keep.p, ...small.map((b) => b.p)]);
  freeAllAssertEmpty(heap, [keep.p, ...small.map((b) => b.p)]);
});

test("Heap.restore's maxBytes caps growth; one too small for the saved chunks is a RangeError", () => {
  const heap = Heap.create({ maxBytes: 512 * MiB });
  const b = allocFilled(heap, 6 * MiB);
  const bytes = heap.snapshot();
  assert.throws(() => Heap.restore(bytes, { maxBytes: 2 * MiB }), RangeError);
  const r = Heap.restore(bytes, { maxBytes: 16 * MiB });
  assert.ok(r.buffer.maxByteLength <= 16 * MiB);
  assert.equal(r.malloc(12 * MiB), 0);
  assertBlocks(r, [b]);
  r.check();
  freeAllAssertEmpty(r, [b.p]);
  freeAllAssertEmpty(heap, [b.p]);
});

test("a heap of one thread slot (maxThreads: 1), in use by its thread, restores too", () => {
  const heap = Heap.create({ maxThreads: 1, maxBytes: 96 * MiB });
  const blocks = populate(heap, 100);
  heap.setRoot("first", blocks[0].p);
  const r = Heap.restore(heap.snapshot());
  assert.equal(r.slot, 0);
  r.check();
  assert.equal(r.stats().threads, 1);
  assert.equal(r.getRoot("first"), blocks[0].p);
  assertBlocks(r, blocks);
  freeAllAssertEmpty(r, blocks.map((b) => b.p));
});

test("a debug heap and a heap without thread caches restore with their flags", () => {
  for (const options of [{ debug: true }, { threadCache: false }]) {
    const heap = Heap.create({ ...options, maxBytes: 128 * MiB });
    const blocks = populate(heap, 120);
    const r = Heap.restore(heap.snapshot());
    r.check();
    assertBlocks(r, blocks);
    const p = r.malloc(64);
    r.free(p);
    assertHeapError(() => r.free(p), "DOUBLE_FREE");
    freeAllAssertEmpty(r, blocks.map((b) => b.p));
    freeAllAssertEmpty(heap, blocks.map((b) => b.p));
  }
});

test("roots: named pointers in the header survive a snapshot; bad names, pointers and a full table are refused", () => {
  const heap = Heap.create({ maxBytes: 32 * MiB });
  const a = heap.malloc(100);
  const b = heap.malloc(50_000);
  assert.equal(heap.getRoot("list"), 0);
  heap.setRoot("list", a);
  heap.setRoot("äöü-named", b); // 12 bytes of UTF-8
  assert.equal(heap.getRoot("list"), a);
  heap.setRoot("list", b);
  assert.equal(heap.getRoot("list"), b);
  assert.throws(() => heap.setRoot("thirteen-byte", a), /1 to 12 bytes/);
  assert.throws(() => heap.setRoot("", a), RangeError);
  assert.throws(() => heap.setRoot("a\0b", a), RangeError);
  assert.throws(() => heap.getRoot(7 as unknown as string), TypeError);
  assertHeapError(() => heap.setRoot("x", a + 8), "INVALID_POINTER", "a pointer inside a block");
  assertHeapError(() => heap.setRoot("x", 4096 * 1000), "INVALID_POINTER", "a pointer in free space");
  assert.equal(heap.getRoot("x"), 0, "a refused root is not set");
  for (let i = 2; i < L.ROOTS; i++) heap.setRoot(`r${i}`, a);
  assert.throws(() => heap.setRoot("one-more", a), /all 16 roots are in use/);
  heap.setRoot("r5", 0); // removes it: room for one more
  heap.setRoot("one-more", a);
  const r = Heap.restore(heap.snapshot());
  assert.equal(r.getRoot("list"), b);
  assert.equal(r.getRoot("äöü-named"), b);
  assert.equal(r.getRoot("r5"), 0);
  assert.equal(r.getRoot("one-more"), a);
  // Another thread's view: a Heap attached to the same heap sees the roots.
  const other = Heap.attach(r.handle);
  assert.equal(other.getRoot("list"), b);
  other.detach();
  r.check();
  heap.check();
});

test("bad snapshot bytes are refused with BAD_SNAPSHOT, and the source heap stays as it was", () => {
  const heap = Heap.create({ maxBytes: 128 * MiB });
  const blocks = populate(heap, 200);
  const good = heap.snapshot();
  const stats = JSON.stringify(heap.stats());
  const headerLen = 64 + Math.ceil((new Int32Array(good.buffer, 0, 16)[6] * 4) / 16) * 16;
  const damaged = (at: number): Uint8Array => {
    const b = good.slice();
    b[at] ^= 0x10;
    return b;
  };
  assertBadSnapshot(() => Heap.restore(good.subarray(0, 40)), "shorter than a header", /truncated/);
  assertBadSnapshot(() => Heap.restore(good.subarray(0, good.length - 1)), "one byte short", /truncated/);
  assertBadSnapshot(() => Heap.restore(good.subarray(0, headerLen + MiB)), "cut after a chunk", /truncated/);
  const longer = new Uint8Array(good.length + 16);
  longer.set(good);
  assertBadSnapshot(() => Heap.restore(longer), "bytes past the end", /past the snapshot's end/);
  assertBadSnapshot(() => Heap.restore(damaged(0)), "magic", /magic/);
  assertBadSnapshot(() => Heap.restore(damaged(8)), "format version", /format/);
  assertBadSnapshot(() => Heap.restore(damaged(40)), "checksum word", /checksum/);
  assertBadSnapshot(() => Heap.restore(damaged(44)), "reserved word", /checksum/);
  assertBadSnapshot(() => Heap.restore(damaged(64)), "chunk list", /chunk list|header chunk/);
  for (const at of [headerLen + 5 * 4096 + 4 * 2, headerLen + 100, headerLen + MiB - 1, good.length - 3, good.length >> 1]) {
    assertBadSnapshot(() => Heap.restore(damaged(at)), `a flipped bit at byte ${at} of ${good.length}`, /checksum/);
  }
  // Another heap layout version, with a checksum that matches: refused by the version.
  const other = good.slice();
  const w = new Int32Array(other.buffer);
  w[3] = L.HEAP_VERSION + 1;
  w[10] = 0;
  w[10] = xxhash32(other);
  assertBadSnapshot(() => Heap.restore(other), "layout version", new RegExp(`layout version ${L.HEAP_VERSION + 1}`));
  w[3] = L.HEAP_VERSION_READ_MIN - 1;
  w[10] = 0;
  w[10] = xxhash32(other);
  assertBadSnapshot(() => Heap.restore(other), "older layout version", new RegExp(`layout version ${L.HEAP_VERSION_READ_MIN - 1}`));
  // The heap header inside chunk 0 is checked as well (also with a matching checksum).
  const noHeap = good.slice();
  new Int32Array(noHeap.buffer)[(headerLen >> 2) + L.HEADER_WORD + L.H_MAGIC] = 0;
  const nw = new Int32Array(noHeap.buffer);
  nw[10] = 0;
  nw[10] = xxhash32(noHeap);
  assertBadSnapshot(() => Heap.restore(noHeap), "no heap header", /no heap header/);
  assert.throws(() => Heap.restore([1, 2, 3] as unknown as Uint8Array), TypeError);
  // Nothing changed in the source heap; the good bytes still restore.
  assert.equal(JSON.stringify(heap.stats()), stats);
  heap.check();
  assertBlocks(heap, blocks);
  const r = Heap.restore(good);
  r.check();
  assertBlocks(r, blocks);
});

test("restoreInto: a heap in a shared WebAssembly.Memory comes back at its base; a memory it cannot fit refuses", () => {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 4096, shared: true });
  new Uint8Array(memory.buffer).fill(0x77, 0, 65536); // the module's own data below the heap
  const heap = Heap.fromMemory(memory, { base: 65536, maxBytes: 128 * MiB });
  const blocks = populate(heap, 150);
  heap.setRoot("data", blocks[3].p);
  const bytes = heap.snapshot();
  const stats = heap.stats();

  const target = new WebAssembly.Memory({ initial: 1, maximum: 4096, shared: true });
  new Uint8Array(target.buffer).fill(0x33, 0, 65536);
  const r = Heap.restoreInto(target, bytes);
  assert.equal(r.handle.base, 65536);
  assert.equal(r.slot, 0);
  r.check();
  assert.equal(r.getRoot("data"), blocks[3].p);
  assertBlocks(r, blocks);
  assert.equal(r.stats().allocated, stats.allocated - stats.cached);
  assert.ok(new Uint8Array(target.buffer, 0, 65536).every((x) => x === 0x33), "the bytes below base are the module's");
  const more = allocFilled(r, 5 * MiB); // grows the memory
  r.check();
  freeAllAssertEmpty(r, [more.p, ...blocks.map((b) => b.p)]);

  // A memory whose maximum cannot reach base + the heap's chunks.
  const small = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
  assertBadSnapshot(() => Heap.restoreInto(small, bytes), "memory too small", /base 65536/);
  assert.throws(() => Heap.restoreInto(new WebAssembly.Memory({ initial: 1 }), bytes), TypeError);
  // Damaged bytes leave the memory untouched.
  const target2 = new WebAssembly.Memory({ initial: 40, maximum: 1024, shared: true });
  const bad = bytes.slice();
  bad[bad.length - 100] ^= 1;
  assertBadSnapshot(() => Heap.restoreInto(target2, bad), "damaged");
  assert.ok(new Uint8Array(target2.buffer).every((x) => x === 0), "nothing was written");
  // A snapshot of a SharedArrayBuffer heap (base 0) restores into a memory at 0 as well.
  const h0 = Heap.create({ maxBytes: 16 * MiB });
  const b0 = allocFilled(h0, 3000);
  const m0 = new WebAssembly.Memory({ initial: 1, maximum: 512, shared: true });
  const r0 = Heap.restoreInto(m0, h0.snapshot());
  assertBlocks(r0, [b0]);
  r0.check();
  // And a memory heap's snapshot restores on a plain SharedArrayBuffer, at the same base.
  const r1 = Heap.restore(bytes);
  assert.equal(r1.handle.base, 65536);
  assertBlocks(r1, blocks);
  r1.check();
  heap.check();
});

test("save and load: a file written a chunk at a time, read straight into the new heap", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sabmalloc-snap-"));
  try {
    const heap = Heap.create({ maxBytes: 512 * MiB });
    const blocks = populate(heap);
    heap.setRoot("blocks", blocks[0].p);
    const file = join(dir, "heap.bin");
    await heap.save(file);
    const snap = heap.snapshot();
    assert.deepEqual(readFileSync(file), Buffer.from(snap.buffer, snap.byteOffset, snap.length), "save() writes what snapshot() returns");
    const r = await Heap.load(file);
    r.check();
    assert.equal(r.getRoot("blocks"), blocks[0].p);
    assertBlocks(r, blocks);
    // Restore from the file's bytes too (an unaligned copy of them).
    const unaligned = new Uint8Array(statSync(file).size + 1).subarray(1);
    unaligned.set(readFileSync(file));
    assertBlocks(Heap.restore(unaligned), blocks);
    // Bad files.
    const bytes = readFileSync(file);
    writeFileSync(join(dir, "short.bin"), bytes.subarray(0, bytes.length - 4096));
    await assert.rejects(Heap.load(join(dir, "short.bin")), (e: HeapError) => e.code === "BAD_SNAPSHOT" && /truncated/.test(e.message));
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 5000] ^= 4;
    writeFileSync(join(dir, "flipped.bin"), flipped);
    await assert.rejects(Heap.load(join(dir, "flipped.bin")), (e: HeapError) => e.code === "BAD_SNAPSHOT" && /checksum/.test(e.message));
    writeFileSync(join(dir, "tiny.bin"), bytes.subarray(0, 10));
    await assert.rejects(Heap.load(join(dir, "tiny.bin")), (e: HeapError) => e.code === "BAD_SNAPSHOT");
    heap.check();
    assertBlocks(heap, blocks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("snapshot() after detach() throws DETACHED; a restored heap's threads start from slot 0", () => {
  const heap = Heap.create({ maxBytes: 16 * MiB });
  const w = Heap.attach(heap.handle);
  const p = w.malloc(40);
  const r = Heap.restore(heap.snapshot());
  assert.equal(r.stats().threads, 1, "the two slots of the snapshot were reclaimed");
  const again = Heap.attach(r.handle);
  assert.equal(again.slot, 1);
  assert.ok(r.usableSize(p) >= 40);
  again.detach();
  heap.detach();
  assertHeapError(() => heap.snapshot(), "DETACHED");
  assert.equal(internals(r).hb, 0);
});

for (const version of [4, 5]) {
  test(`a snapshot of heap layout version ${version} (before ${version === 4 ? "inset huge blocks" : "kept empty runs"}) restores, as a heap of this version`, () => {
    // A heap that made no table of kept runs, as heaps of versions 4 and 5 had none.
    const heap = Heap.create({ maxBytes: 128 * MiB, keepEmptyRuns: false });
    const blocks = populate(heap, 200);
    const bytes = heap.snapshot();
    // Made as that version made it: the layout word of the snapshot and of the heap header in
    // chunk 0, and no flag that it keeps no empty runs (no such flag then).
    const w = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
    const headerLen = 64 + Math.ceil((w[6] * 4) / 16) * 16;
    const hdr = (headerLen >> 2) + L.HEADER_WORD;
    w[3] = version;
    w[hdr + L.H_VERSION] = version;
    w[hdr + L.H_FLAGS] &= ~L.HF_NO_KEEP;
    w[10] = 0;
    w[10] = xxhash32(bytes);
    const r = Heap.restore(bytes);
    r.check();
    assertBlocks(r, blocks);
    assert.equal(internals(r).i32[internals(r).hdr + L.H_VERSION], L.HEAP_VERSION, "the restored heap is of this version");
    const other = Heap.attach(r.handle); // threads of this version attach to it
    other.free(blocks[0].p);
    other.detach();
    freeAllAssertEmpty(r, blocks.slice(1).map((b) => b.p));
    // It keeps empty runs from now on: its arenas make their tables as their bins need new runs.
    const more = Array.from({ length: 3000 }, () => r.malloc(48));
    for (const p of more) r.free(p);
    r.flush();
    r.check();
    assert.ok(r.stats().kept > 0, "runs that empty are kept");
  });
}

test("a large run made huge in place (its chunk's header pages unused) is restored at its pointer, and grows on", () => {
  const heap = Heap.create({ arenas: 1, maxBytes: 64 * MiB });
  const fillers = fillChunk0(heap);
  const b = allocFilled(heap, 200 * 4096);
  assert.equal(heap.realloc(b.p, 2 * MiB), b.p, "made huge in place");
  const r = Heap.restore(heap.snapshot());
  r.check();
  assertBlocks(r, [b]);
  assert.equal(r.usableSize(b.p), 2 * MiB);
  assert.equal(r.stats().huge.allocated, 2 * MiB);
  assert.equal(r.realloc(b.p, 4 * MiB), b.p, "a huge block of the restored heap, grown in place");
  assertBlocks(r, [b]);
  freeAllAssertEmpty(r, [b.p, ...fillers]);
  freeAllAssertEmpty(heap, [b.p, ...fillers]);
});
