// Kept empty runs (arena.ts, bin.ts): a small run that empties stays with its class, for the next
// blocks of that class, and goes back to the arena's free pages when the arena needs pages, when
// the heap has grown, when its class has not needed it for keptDecayMs, and on trim(). The blocks it serves again are checked as any others; the
// lists are checked by check(); a heap that keeps no runs (keepEmptyRuns: false) behaves as before.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapError } from "../src/index.js";
import { testHooks } from "../src/journal.js";
import { L } from "../src/layout.js";
import { sizeToBin } from "../src/sizeclass.js";
import { mapIdx } from "../src/space.js";
import { allocFilled, assertBlocks, assertHeapError, Block, internals, MiB } from "./helpers.js";

const PAGE = 4096;

/** `n` sizes, log-uniform from 8 to 1024 bytes (xorshift, fixed seed). */
function mixedSizes(n: number, seed = 7): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.push(Math.floor(8 * 2 ** (((x >>> 0) / 2 ** 32) * 7)));
  }
  return out;
}

/** Mallocs until the heap is full (malloc returns 0): the blocks. */
function fillUp(heap: Heap, size: number): number[] {
  const out: number[] = [];
  for (let p = heap.malloc(size); p !== 0; p = heap.malloc(size)) out.push(p);
  return out;
}

function keptRuns(heap: Heap, arena?: number): number {
  const st = heap.stats();
  return st.arenas.filter((_, a) => arena === undefined || a === arena).reduce((n, a) => n + a.bins.reduce((k, b) => k + b.keptRuns, 0), 0);
}

/** Word index of arena `a`'s table of kept runs (0: none). */
function table(heap: Heap, a = 0): number {
  const s = internals(heap);
  const page = s.i32[s.ar + L.A_EMPTY];
  return page === 0 ? 0 : (s.hb + page * PAGE) >>> 2;
}

test("runs that empty are kept for their class: the same blocks again take the same pages, the heap grows no more", () => {
  const heap = Heap.create({ initialBytes: 2 * MiB, arenas: 1 });
  const sizes = mixedSizes(20000);
  const first = sizes.map((n) => heap.malloc(n));
  for (const p of first) heap.free(p);
  heap.flush();
  heap.check();
  const st = heap.stats();
  assert.equal(st.allocated, 0);
  assert.ok(keptRuns(heap) > 500, `${keptRuns(heap)} runs kept`);
  assert.equal(st.kept, st.active, "every active page is a kept run's");
  assert.equal(st.kept, st.arenas[0].bins.reduce((n, b) => n + b.keptRuns * b.runPages * PAGE, 0));
  // Again, filled and checked: the same runs serve them (every kept run used, none made), in no new chunk.
  const again: Block[] = sizes.map((n) => allocFilled(heap, n));
  const st2 = heap.stats();
  assert.deepEqual(st2.arenas[0].bins.map((b) => b.curruns), st.arenas[0].bins.map((b) => b.curruns), "runs per class");
  assert.equal(st2.kept, 0, "every kept run used again");
  assert.equal(st2.capacity, st.capacity);
  assert.equal(st2.mapped, st.mapped);
  heap.check();
  assertBlocks(heap, again);
  for (const b of again) heap.free(b.p);
  heap.flush();
  heap.check();
});

test("keepEmptyRuns: false keeps none: every run that empties goes back at once, and no table is made", () => {
  const heap = Heap.create({ initialBytes: 2 * MiB, arenas: 1, keepEmptyRuns: false });
  const ps = mixedSizes(5000).map((n) => heap.malloc(n));
  for (const p of ps) heap.free(p);
  heap.flush();
  heap.check();
  const st = heap.stats();
  assert.equal(st.kept, 0);
  assert.equal(st.active, 0);
  assert.equal(table(heap), 0);
  assert.equal(heap.trim(), 0);
});

test("a kept run's regions are read back as they are handed out again: one written after its free is not handed out (CORRUPTION)", () => {
  for (const threadCache of [true, false]) {
    const heap = Heap.create({ initialBytes: 2 * MiB, arenas: 1, threadCache });
    const ps = Array.from({ length: 256 }, () => heap.malloc(64)); // 4 runs of 64 regions
    for (const p of ps) heap.free(p);
    heap.flush();
    assert.ok(keptRuns(heap) >= 4);
    const victim = ps[100];
    heap.i32[victim >>> 2] = 0x12345678; // a use after free: its free mark is gone
    const got: number[] = [];
    let errors = 0;
    for (let i = 0; i < 300; i++) {
      try {
        const p = heap.malloc(64);
        assert.notEqual(p, 0);
        got.push(p);
      } catch (e) {
        assert.ok(e instanceof HeapError && e.code === "CORRUPTION", String(e));
        assert.match(e.message, /written after free/);
        errors++;
      }
    }
    assert.equal(errors, 1, `threadCache ${threadCache}: the written region is reported once`);
    assert.ok(!got.includes(victim), "and never handed out");
    assert.equal(new Set(got).size, got.length, "no block handed out twice");
    heap.check(); // it stays allocated (leaked), as the heap's counts say
    for (const p of got) heap.free(p);
    heap.flush();
    heap.check();
  }
});

test("kept runs go back when their arena needs pages: at maxBytes, as many large blocks fit as when no run was kept", () => {
  const counts: number[] = [];
  for (const keepEmptyRuns of [false, true]) {
    const heap = Heap.create({ initialBytes: 1 * MiB, maxBytes: 12 * MiB, arenas: 1, keepEmptyRuns });
    const small = fillUp(heap, 256);
    assert.ok(small.length > 30000);
    for (const p of small) heap.free(p);
    heap.flush();
    if (keepEmptyRuns) assert.ok(keptRuns(heap) > 2000, `${keptRuns(heap)} runs kept`);
    const large = fillUp(heap, 60 * 1024); // 15 pages each
    assert.ok(heap.buffer.byteLength <= 12 * MiB);
    heap.check();
    assert.equal(heap.stats().kept, 0, "every kept run went back");
    counts.push(large.length);
    for (const p of large) heap.free(p);
    heap.flush();
    heap.check();
  }
  // The table of kept runs takes a page of its own, at a chunk's end.
  assert.ok(counts[1] >= counts[0] - 1, `${counts[1]} large blocks fit after kept runs, ${counts[0]} after none`);
});

test("at maxBytes, one arena's kept runs make room for a huge block and for another arena's blocks", () => {
  const heap = Heap.create({ initialBytes: 1 * MiB, maxBytes: 16 * MiB, arenas: 2 });
  const other = Heap.attach(heap.handle);
  assert.deepEqual(heap.stats().arenas.map((a) => a.threads), [1, 1], "one thread in each arena");
  const mine = fillUp(heap, 256);
  for (const p of mine) heap.free(p);
  heap.flush();
  assert.ok(keptRuns(heap) > 2000);
  const arenaOfMine = heap.stats().arenas.findIndex((a) => a.kept > 0);
  // A huge block needs whole chunks from the pool: the kept runs go back, their chunks to the pool.
  const huge = other.malloc(4 * MiB);
  assert.notEqual(huge, 0, "the kept runs gave their chunks back for a huge block");
  assert.equal(heap.stats().arenas[arenaOfMine].kept, 0);
  other.free(huge);
  // The other arena fills the heap with its own class.
  const theirs = fillUp(other, 1024);
  assert.ok(theirs.length * 1024 > 12 * MiB, `${theirs.length} blocks of 1 KiB`);
  heap.check();
  for (const p of theirs) other.free(p);
  other.flush();
  heap.check();
  other.detach();
});

test("when the heap grows, an arena gives its kept runs back at the next section that changes it", () => {
  const heap = Heap.create({ initialBytes: 2 * MiB, arenas: 2 });
  const other = Heap.attach(heap.handle);
  const ps = Array.from({ length: 20000 }, () => heap.malloc(256)); // 5 MB: chunks beyond a spare
  const huge = other.malloc(2 * MiB); // at the end of the buffer, before the runs are kept
  assert.notEqual(huge, 0);
  for (const p of ps) heap.free(p);
  heap.flush();
  const a = heap.stats().arenas.findIndex((x) => x.kept > 0);
  assert.ok(a >= 0);
  const kept = heap.stats().arenas[a].kept;
  assert.ok(kept > 1000 * PAGE);
  const capacity = heap.stats().capacity;
  // The huge block grows in place at the buffer's end: the buffer grows (no other block could use
  // the kept pages), and every arena is told.
  assert.equal(other.realloc(huge, 8 * MiB), huge);
  assert.ok(heap.stats().capacity > capacity);
  assert.equal(heap.stats().arenas[a].kept, kept, "a section that changes nothing keeps them");
  const pool = heap.stats().poolChunks;
  heap.free(heap.malloc(3000)); // a fill of another class: the section ends by giving them back
  const st = heap.stats();
  assert.equal(st.arenas[a].kept, 0);
  assert.ok(st.poolChunks >= pool + 3, `their chunks went to the pool (${pool} -> ${st.poolChunks})`);
  heap.check();
  other.free(huge);
  other.detach();
});

test("trim() gives every kept run back (in as many sections as their journal entries need) and the table's page", () => {
  const heap = Heap.create({ initialBytes: 2 * MiB, arenas: 1 });
  const ps = mixedSizes(60000, 3).map((n) => heap.malloc(n));
  for (const p of ps) heap.free(p);
  heap.flush();
  const before = heap.stats();
  assert.ok(keptRuns(heap) > 1000, `${keptRuns(heap)} runs: more than one section's journal holds`);
  assert.notEqual(table(heap), 0);
  assert.equal(heap.trim(), before.kept + L.ET_PAGES * PAGE);
  const after = heap.stats();
  assert.equal(after.kept, 0);
  assert.equal(after.active, 0);
  assert.ok(after.poolChunks > before.poolChunks + 5, "empty chunks went to the pool");
  assert.equal(table(heap), 0, "the table's page went back too");
  assert.equal(heap.trim(), 0, "nothing more to give back");
  heap.check();
  // And it works on: a new table when a bin next needs a new run.
  const b = allocFilled(heap, 100);
  assert.notEqual(table(heap), 0);
  assertBlocks(heap, [b]);
  heap.free(b.p);
  heap.check();
});

test("check() finds damage to the lists of kept runs: a count, a cycle, a run that is not empty, the decay's marks", () => {
  const make = () => {
    const heap = Heap.create({ initialBytes: 2 * MiB, arenas: 1 });
    const ps = Array.from({ length: 600 }, () => heap.malloc(64)); // 10 runs of class 64
    const live = heap.malloc(64);
    for (const p of ps) heap.free(p);
    heap.flush();
    heap.check();
    const s = internals(heap);
    const t = table(heap);
    const bin = sizeToBin(64);
    assert.ok(s.i32[t + L.ET_COUNT + bin] >= 9, "class 64 keeps its emptied runs");
    return { heap, s, t, bin, live };
  };
  {
    const { heap, s, t, bin } = make();
    s.i32[t + L.ET_COUNT + bin]++;
    assertHeapError(() => heap.check(), "CORRUPTION", "a count one too many");
  }
  {
    const { heap, s, t, bin } = make();
    const head = s.i32[t + L.ET_HEAD + bin];
    const second = s.i32[mapIdx(s, head) + L.MAP_LEFT];
    assert.notEqual(second, 0);
    s.i32[mapIdx(s, second) + L.MAP_LEFT] = head; // a cycle
    assertHeapError(() => heap.check(), "CORRUPTION", "a cycle");
  }
  {
    const { heap, s, t, bin, live } = make();
    // The run of a live block, put at the head of the list.
    const run = Math.floor((live - s.hb) / PAGE);
    s.i32[mapIdx(s, run) + L.MAP_LEFT] = s.i32[t + L.ET_HEAD + bin];
    s.i32[t + L.ET_HEAD + bin] = run;
    s.i32[t + L.ET_COUNT + bin]++;
    assertHeapError(() => heap.check(), "CORRUPTION", "a run that holds a live block");
  }
  {
    const { heap, s, t, bin } = make();
    s.i32[t + L.ET_LOW + bin] = s.i32[t + L.ET_COUNT + bin] + 1;
    assertHeapError(() => heap.check(), "CORRUPTION", "a low-water mark above the count");
  }
  {
    const { heap, s, t, bin } = make();
    s.i32[t + L.ET_DUE + bin] = 1;
    assertHeapError(() => heap.check(), "CORRUPTION", "a run due outside a decay's sections");
  }
});

test("a thread attaching while its arena's pages are all in kept runs gets its thread block, more threads too", () => {
  // One arena, so every thread carves its block (journal, cache) there, in the global journal: a
  // section that can give back only a few kept runs.
  const heap = Heap.create({ initialBytes: 1 * MiB, maxBytes: 64 * MiB, arenas: 1 });
  const ps = Array.from({ length: 40000 }, () => heap.malloc(256)); // ~10 MB in 1-page runs
  for (const p of ps) heap.free(p);
  heap.flush();
  assert.ok(keptRuns(heap) > 2000);
  const others = Array.from({ length: 6 }, () => Heap.attach(heap.handle));
  for (const o of others) {
    const b = allocFilled(o, 5000);
    assertBlocks(o, [b]);
    o.free(b.p);
  }
  heap.check();
  for (const o of others) o.detach();
  heap.check();
});

test("the buffer does not grow while arenas keep runs whose pages could serve: another arena's blocks take them first", () => {
  for (const keepEmptyRuns of [true, false]) {
    const heap = Heap.create({ initialBytes: 1 * MiB, maxBytes: 256 * MiB, arenas: 2 });
    const other = Heap.attach(heap.handle);
    assert.deepEqual(heap.stats().arenas.map((a) => a.threads), [1, 1]);
    const mine = Array.from({ length: 40000 }, () => heap.malloc(256)); // ~10 MB in one arena
    for (const p of mine) heap.free(p);
    heap.flush();
    const before = heap.stats().capacity;
    if (keepEmptyRuns) assert.ok(heap.stats().kept > 8 * MiB);
    // The other arena: ~5 MB of another class, a huge block, and a large run.
    const theirs = Array.from({ length: 5000 }, () => other.malloc(1000));
    const huge = other.malloc(2 * MiB);
    const large = other.malloc(100000);
    assert.ok(theirs.every((p) => p !== 0) && huge !== 0 && large !== 0);
    assert.equal(heap.stats().capacity, before, `keepEmptyRuns ${keepEmptyRuns}: no growth`);
    heap.check();
    for (const p of [...theirs, huge, large]) other.free(p);
    other.detach();
    heap.check();
  }
});

/** Sleeps `ms` (Atomics.wait: Node's main thread may block). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Rounds of 3,000 blocks of 8 bytes made and freed: fills and flushes of one class (sections), 100 of them at least. */
function churn8(heap: Heap): void {
  for (let r = 0; r < 15; r++) {
    const ps = Array.from({ length: 3000 }, () => heap.malloc(8));
    for (const p of ps) heap.free(p);
  }
}

test("keptDecayMs: runs a class did not need for that long go back; those it keeps using stay", () => {
  const heap = Heap.create({ initialBytes: 8 * MiB, arenas: 1, keptDecayMs: 40 });
  const ps = mixedSizes(20000).map((n) => heap.malloc(n));
  for (const p of ps) heap.free(p);
  heap.flush();
  const kept0 = heap.stats().arenas[0].bins.map((b) => b.keptRuns);
  assert.ok(kept0.reduce((a, b) => a + b, 0) > 500);
  // Within the decay time, nothing goes back, however many sections end.
  churn8(heap);
  const kept1 = heap.stats().arenas[0].bins.map((b) => b.keptRuns);
  assert.deepEqual(kept1.slice(1), kept0.slice(1), "other classes keep all within the decay time");
  // The first look after it only starts counting (the low-water marks were new); the second gives
  // back what no class needed since: every class but the 8-byte one, which the rounds keep using.
  for (let look = 0; look < 2; look++) {
    sleep(60);
    churn8(heap);
  }
  heap.check();
  const st = heap.stats();
  const kept2 = st.arenas[0].bins.map((b) => b.keptRuns);
  assert.deepEqual(kept2.slice(1), kept2.slice(1).map(() => 0), "classes nobody used gave their runs back");
  assert.ok(st.kept <= 3000 * 8 + 2 * 4096, `the 8-byte class keeps at most what a round uses: ${st.kept} bytes`);
  assert.ok(st.active < kept0.reduce((a, n, b) => a + n * st.arenas[0].bins[b].runPages * 4096, 0) / 4, "active pages went back");
  // The runs that went back serve again: the same blocks fit without growth.
  const cap = st.capacity;
  const again = mixedSizes(20000, 9).map((n) => allocFilled(heap, n));
  assert.equal(heap.stats().capacity, cap);
  assertBlocks(heap, again);
  for (const b of again) heap.free(b.p);
  heap.check();
});

test("keptDecayMs: Infinity (SABMALLOC_CONF kept_decay_ms:-1) keeps runs however long they wait; the default keeps them 10 s", () => {
  for (const keptDecayMs of [Infinity, undefined]) {
    const heap = Heap.create({ initialBytes: 8 * MiB, arenas: 1, keptDecayMs });
    const ps = mixedSizes(20000).map((n) => heap.malloc(n));
    for (const p of ps) heap.free(p);
    heap.flush();
    const kept0 = heap.stats().arenas[0].bins.map((b) => b.keptRuns);
    for (let look = 0; look < 2; look++) {
      sleep(60);
      churn8(heap);
    }
    assert.deepEqual(heap.stats().arenas[0].bins.map((b) => b.keptRuns).slice(1), kept0.slice(1), `keptDecayMs ${keptDecayMs}`);
    heap.check();
    assert.ok(heap.trim() > 0);
    heap.check();
  }
});

test("a decay that gives back more runs than one section's journal holds: all of them, in sections of their own", () => {
  const heap = Heap.create({ initialBytes: 4 * MiB, arenas: 1 });
  const ps = Array.from({ length: 16 * 1500 }, () => heap.malloc(256)); // 1,500 one-page runs
  for (const p of ps) heap.free(p);
  heap.flush();
  assert.equal(keptRuns(heap), 1500);
  const look = () => {
    testHooks.keptDecayNow = true;
    const q = Array.from({ length: 400 }, () => heap.malloc(24)); // fills: sections that change something
    for (const p of q) heap.free(p);
    heap.flush(); // and the next look's fills
    assert.equal(testHooks.keptDecayNow, false, "the decay looked");
  };
  const keptOf = (size: number) => heap.stats().arenas[0].bins[sizeToBin(size)].keptRuns;
  look(); // starts counting
  assert.equal(keptOf(256), 1500);
  const kept32 = keptOf(32);
  assert.ok(kept32 > 0, "the flush emptied runs of the 32-byte class, kept");
  look(); // none of the 256-byte runs was needed since; the 32-byte ones were (the fills took them)
  assert.equal(keptOf(256), 0);
  assert.equal(keptOf(32), kept32);
  heap.check();
});
