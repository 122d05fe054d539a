// The bench's floors that keep a free list (bench/adapters/floor.mjs) do what their labels say:
// no-allocator-mark counts a double free and a block written after its free, and
// no-allocator-checked frees every block start it handed out and throws for any other pointer, as
// sabmalloc's free does (its columns would measure less than that work otherwise).
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

interface FloorInstance { malloc(n: number): number; free(p: number): void; bad: number; i32: Int32Array }
interface FloorPeer { id: string; only: RegExp; create(sizing: { bytes?: number }): FloorInstance }

const load = async (): Promise<Record<string, FloorPeer>> =>
  (await import(pathToFileURL(join(root, "bench/adapters/floor.mjs")).href)) as Record<string, FloorPeer>;

test("no-allocator-mark: a double free and a write after free are counted; blocks are reused LIFO", async () => {
  const { noAllocatorMark } = await load();
  const a = noAllocatorMark.create({});
  const p = a.malloc(32);
  const q = a.malloc(32);
  assert.notEqual(p, q);
  a.free(p);
  a.free(q);
  assert.equal(a.bad, 0);
  assert.equal(a.malloc(32), q, "LIFO");
  assert.equal(a.malloc(32), p);
  a.free(q);
  a.i32[q >>> 2] = 0; // written after its free: the mark is gone
  assert.equal(a.malloc(32), q);
  assert.equal(a.bad, 1, "the lost mark seen by malloc");
  // (a floor does nothing about either: its lists are not to be used after one)
  const b = noAllocatorMark.create({});
  const r = b.malloc(16);
  b.free(r);
  b.free(r);
  assert.equal(b.bad, 1, "double free seen by the mark");
});

test("no-allocator-checked: frees every block start of every size, throws for any other pointer", async () => {
  const { noAllocatorChecked } = await load();
  assert.ok(noAllocatorChecked.only.test("malloc-free/16") && noAllocatorChecked.only.test("malloc-free/32"));
  assert.ok(!noAllocatorChecked.only.test("malloc-free/256") && !noAllocatorChecked.only.test("batch/1k/lifo"));
  // The trees too, up to depth 16 (2^20 nodes would not fit its area of 16-byte blocks).
  assert.ok(noAllocatorChecked.only.test("tree/16") && !noAllocatorChecked.only.test("tree/20"));
  const a = noAllocatorChecked.create({});
  const sizes = [1, 8, 16, 24, 40, 100, 200, 504, 1000, 1024];
  const blocks: number[] = [];
  for (const n of sizes) for (let i = 0; i < 700; i++) blocks.push(a.malloc(n)); // past a page of each size
  for (const p of blocks) a.free(p);
  assert.equal(a.bad, 0);
  a.free(0); // a no-op, as free(0) is
  // Inside a block (every size, at several offsets), in area 0 (no heap), past the end, not a uint32.
  const inside = sizes.filter((n) => n > 8).flatMap((n) => [8, ((n + 7) & ~7) - 8].map((d, k) => blocks[sizes.indexOf(n) * 700 + 300 + k] + d));
  for (const p of [...inside, 8, 4096, 2 ** 32 + 64, -64, 1.5, blocks[0] + 4]) {
    assert.throws(() => a.free(p), /no block's start/, `free(${p})`);
  }
  assert.equal(a.bad, 0, "nothing was freed by the bad pointers");
  // The blocks come back from the lists, and each can be freed again.
  const again = sizes.map((n) => a.malloc(n));
  for (const p of again) assert.ok(blocks.includes(p));
  for (const p of again) a.free(p);
  assert.equal(a.bad, 0);
});
