// Snapshots of a heap that many threads use: blocks in other threads' caches, a hash map built by
// workers, snapshots taken while workers keep working, and a heap restored in another process.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Worker } from "node:worker_threads";
import { Heap, HeapError } from "../src/index.js";
import { SharedTable } from "../src/demo/table.js";
import type { Counters } from "../src/demo/workload.js";
import { MiB } from "./helpers.js";
import { assertEmptyAfter, firstMessage, Remote, results, spawn } from "./threads.util.js";
import { verify, Views } from "./workers/shared.js";

const run = promisify(execFile);
const KEYS = 1500;

function tableWorkers(t: TestContext, heap: Heap, table: SharedTable, n: number, ops: number, stay: boolean, seed = 1): Worker[] {
  return Array.from({ length: n }, (_, id) =>
    spawn(t, "table", { handle: heap.handle, table: table.ptr, keys: KEYS, seed: (seed + id) * 0x9e3779b9, ops, stay }));
}

async function detachAll(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => {
    const done = firstMessage(w);
    w.postMessage({ type: "detach" });
    return done;
  }));
}

test("blocks in another thread's cache at snapshot time are free again after restore; its live blocks are kept", async (t) => {
  const heap = Heap.create({ maxBytes: 128 * MiB });
  const w = new Remote(spawn(t, "rpc", { handle: heap.handle }));
  await w.ready;
  const sizes = [16, 48, 200, 1024, 3000, 20000, 40000];
  const live: Array<[number, number]> = [];
  const cached: Array<[number, number]> = [];
  for (let i = 0; i < 140; i++) {
    const n = sizes[i % sizes.length];
    const p = await w.call<number>("make", n);
    (i % 2 === 0 ? live : cached).push([p, n]);
  }
  for (const [p, n] of cached) assert.equal(await w.call("verifyFree", p, n), -1);
  const before = heap.stats();
  assert.ok(before.cached > 0, "the worker's cache holds what it freed");
  assert.equal(before.threads, 2);
  const bytes = heap.snapshot(); // the worker is alive, attached, its cache full
  const r = Heap.restore(bytes);
  r.check();
  const after = r.stats();
  assert.equal(after.threads, 1);
  assert.equal(after.cached, 0);
  assert.equal(after.allocated, before.allocated - before.cached);
  const v = new Views(r);
  for (const [p, n] of live) assert.equal(verify(v, p, n), -1, `live block ${p} kept its bytes`);
  for (const [p] of cached) {
    assert.throws(() => r.usableSize(p), (e: unknown) => e instanceof HeapError && e.code === "INVALID_POINTER", `cached block ${p} is free`);
  }
  // The freed blocks are reused by the restored heap; the live ones free without complaint.
  for (const [p] of live) r.free(p);
  r.flush();
  r.check();
  assert.equal(r.stats().allocated, 0);
  // The source heap and its worker go on.
  for (const [p, n] of live) assert.equal(await w.call("verifyFree", p, n), -1);
  await w.call("detach");
  assertEmptyAfter(heap, []);
});

test("a hash map built by workers comes back whole, and the restored heap goes on with many threads", { timeout: 120000 }, async (t) => {
  const heap = Heap.create({ maxBytes: 512 * MiB });
  const table = SharedTable.create(heap, 2 * KEYS);
  heap.setRoot("table", table.ptr);
  const builders = tableWorkers(t, heap, table, 3, 3000, true);
  const built = await Promise.all(builders.map((w) => firstMessage<{ counters: Counters }>(w)));
  assert.ok(built.every((b) => b.counters.inserts > 0));
  const live = table.verifyAll();
  assert.ok(live.records > 100);
  const before = heap.stats();
  const bytes = heap.snapshot(); // the three builders are attached, their caches as they left them

  const r = Heap.restore(bytes);
  r.check();
  assert.equal(r.stats().allocated, before.allocated - before.cached);
  const rt = SharedTable.open(r, r.getRoot("table"));
  assert.deepEqual(rt.verifyAll(), live, "every record, every byte");
  // Four new workers on the restored heap, then the restorer checks and empties it.
  const goOn = await results<{ counters: Counters }>(tableWorkers(t, r, rt, 4, 3000, false, 7));
  assert.ok(goOn.every((g) => g.counters.ops === 3000));
  rt.verifyAll();
  r.check();
  rt.destroy();
  assertEmptyAfter(r, []);
  // The source heap is as the builders left it.
  assert.deepEqual(table.verifyAll(), live);
  await detachAll(builders);
  table.destroy();
  assertEmptyAfter(heap, []);
});

test("snapshots taken while workers keep working restore to consistent heaps", { timeout: 120000 }, async (t) => {
  const heap = Heap.create({ maxBytes: 512 * MiB });
  const table = SharedTable.create(heap, 2 * KEYS);
  heap.setRoot("table", table.ptr);
  const workers = tableWorkers(t, heap, table, 2, 40000, false, 3);
  const done = results<{ counters: Counters }>(workers);
  let finished = false;
  void done.then(() => (finished = true), () => (finished = true));
  let taken = 0;
  let busy = 0;
  while (!finished || taken < 2) {
    if (!finished) busy++;
    const r = Heap.restore(heap.snapshot());
    r.check(); // the allocator's metadata is consistent at any moment a snapshot is taken
    assert.equal(r.stats().threads, 1);
    r.detach();
    taken++;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await done;
  assert.ok(busy >= 1, `${busy} of ${taken} snapshots were taken while the workers ran`);
  table.verifyAll();
  table.destroy();
  assertEmptyAfter(heap, []);
});

test("a heap saved to a file is restored by another process: the table found through its root, verified, worked on", { timeout: 120000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sabmalloc-snap-"));
  try {
    const heap = Heap.create({ maxBytes: 512 * MiB });
    const table = SharedTable.create(heap, 2 * KEYS);
    heap.setRoot("table", table.ptr);
    const builders = tableWorkers(t, heap, table, 2, 2000, true, 11);
    await Promise.all(builders.map((w) => firstMessage(w)));
    const live = table.verifyAll();
    const before = heap.stats();
    const file = join(dir, "heap.bin");
    await heap.save(file);
    const script = fileURLToPath(new URL("./workers/restore-process.js", import.meta.url));
    const { stdout } = await run(process.execPath, [script, file, String(KEYS)], { timeout: 100000 });
    const got = JSON.parse(stdout) as { pid: number; slot: number; allocated: number; threads: number; found: unknown; empty: number };
    assert.notEqual(got.pid, process.pid);
    assert.equal(got.slot, 0);
    assert.equal(got.threads, 1);
    assert.equal(got.allocated, before.allocated - before.cached);
    assert.deepEqual(got.found, live);
    assert.equal(got.empty, 0);
    await detachAll(builders);
    table.destroy();
    assertEmptyAfter(heap, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
