// A thread stopped at every write of every critical section (the way SQLite tests crash recovery):
// a test-only countdown (journal.ts: crashPoint) makes the k-th crash point from now throw, with
// nothing cleaned up - the thread is "dead", its locks held, its journal open. Another thread then
// reclaims its slot, and the heap must be whole: check() passes, every live block is live with its
// bytes, everything the dead thread cached is reusable, at most the block in flight is lost.
// Each operation is run for k = 1, 2, 3, ... until it completes without reaching the k-th point.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, HeapError, HeapOptions } from "../src/index.js";
import { testHooks, ThreadDeath } from "../src/journal.js";
import { L } from "../src/layout.js";
import { sizeToBin } from "../src/sizeclass.js";
import { TC_CAP, tcCount } from "../src/tcache.js";
import { allocFilled, assertBlocks, Block, fillPattern, freeAllAssertEmpty, internals, MiB, seedOf } from "./helpers.js";

const BIN_32 = sizeToBin(32);

interface World {
  heap: Heap; // the survivor: it reclaims
  victim: Heap; // dies inside op
  live: Block[]; // must come out live, at the same pointer, with the same bytes
  maybe: number[]; // blocks the op was freeing (or resizing): freed by the test afterwards if still live
  inflight: number; // bytes the op was allocating: may be lost
  state: Record<string, number>;
}

interface Scenario {
  name: string;
  options?: HeapOptions;
  /** A heap inside a shared WebAssembly.Memory (Heap.fromMemory) instead of a SharedArrayBuffer. */
  memory?: boolean;
  setup?: (w: World) => void;
  op: (w: World) => void;
}

function world(sc: Scenario): World {
  const heap = sc.memory
    ? Heap.fromMemory(new WebAssembly.Memory({ initial: 1, maximum: 512, shared: true }), { initialBytes: 2 * MiB, arenas: 2, ...sc.options })
    : Heap.create({ initialBytes: 4 * MiB, arenas: 2, ...sc.options });
  const victim = Heap.attach(heap.handle);
  const w: World = { heap, victim, live: [], maybe: [], inflight: 0, state: {} };
  // Blocks of the survivor, small and large, that nothing may touch.
  for (let i = 0; i < 40; i++) w.live.push(allocFilled(heap, 8 + i * 24));
  w.live.push(allocFilled(heap, 30000));
  sc.setup?.(w);
  return w;
}

/** Whatever the dead thread's last call left behind, the survivor can clean up and the heap is whole. */
function verify(w: World, where: string): void {
  const { heap } = w;
  heap.check();
  assertBlocks(heap, w.live);
  // It keeps working: blocks of every kind come and go.
  const more = [allocFilled(heap, 48), allocFilled(heap, 5000), allocFilled(heap, 70000), allocFilled(heap, 2 * MiB)];
  assertBlocks(heap, w.live);
  for (const b of more) heap.free(b.p);
  for (const p of w.maybe) {
    try {
      heap.free(p);
    } catch (e) {
      // Freed before the thread died (or its free was rolled forward): either is right.
      assert.ok(e instanceof HeapError && (e.code === "DOUBLE_FREE" || e.code === "INVALID_POINTER"), `${where}: free(${p}): ${String(e)}`);
    }
  }
  for (const b of w.live) heap.free(b.p);
  heap.flush();
  heap.check();
  // Every block is free: no sample may be left of one (a sample lost with the thread is allowed).
  assert.equal(heap.profile().samples.length, 0, `${where}: samples of freed blocks`);
  const left = heap.stats().allocated - heap.profile().overheadBytes; // a profile's tables live as long as the heap
  assert.ok(left <= w.inflight, `${where}: ${left} bytes still allocated, at most the ${w.inflight} in flight may be lost`);
}

/** Runs `sc.op` with a crash at every point in turn; returns how many points it had. */
function everyCrashPoint(sc: Scenario): number {
  for (let k = 1; ; k++) {
    const w = world(sc);
    const s = internals(w.victim);
    s.crashIn = k;
    let died = false;
    try {
      sc.op(w);
    } catch (e) {
      if (!(e instanceof ThreadDeath)) throw new Error(`${sc.name}, crash point ${k}: ${String(e)}`, { cause: e });
      died = true;
    }
    if (!died) {
      // Ran to the end: no k-th point. The survivor cleans up after a victim that simply vanished.
      s.crashIn = 0;
      w.heap.reclaim(w.victim.slot);
      verify(w, `${sc.name}, after the last point`);
      return k - 1;
    }
    w.heap.reclaim(w.victim.slot);
    assert.equal(w.heap.stats().threads, 1, `${sc.name}, crash point ${k}: the slot is free again`);
    try {
      verify(w, `${sc.name}, crash point ${k}`);
    } catch (e) {
      throw new Error(`${sc.name}, crash point ${k}: ${String(e)}`, { cause: e });
    }
  }
}

/**
 * A filled run of 200 pages of the victim at an empty chunk's first data page (the victim's first
 * chunk also holds its cache block): runs are allocated until one lands there; the others stay
 * live (w.live), the one returned is the caller's.
 */
function runAtChunkStart(w: World): Block {
  const others: Block[] = [];
  let b = allocFilled(w.victim, 200 * 4096);
  for (let i = 1; i < 3 && b.p % MiB !== 5 * 4096; i++) {
    others.push(b);
    b = allocFilled(w.victim, 200 * 4096);
  }
  assert.equal(b.p % MiB, 5 * 4096);
  w.live.push(...others);
  return b;
}

/**
 * The victim reallocs the survivor's block of `from` bytes (in chunk 0 when `inChunk0`) to `to`,
 * which moves it to an empty chunk's first data page (heap.ts: reallocToChunkStart), and frees it.
 */
function movedToChunkStart(name: string, from: number, to: number, inChunk0: boolean): Scenario {
  return {
    name,
    setup: (w) => {
      const p = w.heap.malloc(from); // the survivor's
      if (inChunk0) assert.ok(p < MiB);
      fillPattern(w.heap, p, from, seedOf(p, from));
      w.state.p = p;
    },
    op: (w) => {
      w.maybe.push(w.state.p);
      w.inflight = Math.ceil(to / 4096) * 4096;
      const q = w.victim.realloc(w.state.p, to);
      assert.ok(q >= MiB && q % MiB === 5 * 4096, "at an empty chunk's first data page");
      w.victim.free(q);
    },
  };
}

/** A flush of 300 blocks of 16-80 B, six in seven of them freed: most of their runs empty. */
function flushEmptyingRuns(name: string, options: HeapOptions): Scenario {
  return {
    name,
    options,
    setup: (w) => {
      const mine: Block[] = [];
      for (let i = 0; i < 300; i++) mine.push(allocFilled(w.victim, 16 + (i % 5) * 16));
      for (let i = 0; i < mine.length; i++) if (i % 7 !== 0) w.victim.free(mine[i].p);
      w.live.push(...mine.filter((_, i) => i % 7 === 0));
    },
    op: (w) => w.victim.flush(),
  };
}

const SCENARIOS: Scenario[] = [
  { name: "cache fill (a new run, carved)", op: (w) => { w.inflight = 48; w.victim.malloc(48); } },
  {
    name: "cache fill from a partly used run",
    setup: (w) => {
      const p = w.victim.malloc(48);
      w.live.push(...Array.from({ length: 30 }, () => allocFilled(w.victim, 48)));
      w.victim.free(p);
      w.victim.flush();
    },
    op: (w) => { w.inflight = 48; w.victim.malloc(48); },
  },
  flushEmptyingRuns("flush (runs emptied and kept for their classes)", {}),
  flushEmptyingRuns("flush (runs emptied and given back at once: keepEmptyRuns false, pages merged, a chunk given back)", { keepEmptyRuns: false }),
  {
    name: "cache fill from a kept empty run",
    setup: (w) => {
      const mine = Array.from({ length: 400 }, () => w.victim.malloc(48));
      for (const p of mine) w.victim.free(p);
      w.victim.flush();
      assert.ok(w.victim.stats().kept > 0);
    },
    op: (w) => { w.inflight = 48; w.victim.malloc(48); },
  },
  {
    name: "a large run that first gives back kept runs (one section)",
    setup: (w) => {
      // The victim's arena: kept runs of 64 B, then no free run of 200 pages but a spare's.
      const mine = Array.from({ length: 64 * 40 }, () => w.victim.malloc(64));
      for (const p of mine) w.victim.free(p);
      w.victim.flush();
      w.state.kept = w.victim.stats().kept;
      assert.ok(w.state.kept >= 40 * 4096);
    },
    op: (w) => {
      w.inflight = 240 * 4096;
      const p = w.victim.malloc(240 * 4096);
      if (p !== 0) w.victim.free(p);
    },
  },
  {
    name: "a large run that finds more kept runs than one section gives back (the unlock's sections, then again)",
    setup: (w) => {
      const mine = Array.from({ length: 16 * 300 }, () => w.victim.malloc(256)); // 300 runs
      for (const p of mine) w.victim.free(p);
      w.victim.flush();
    },
    op: (w) => {
      w.inflight = 240 * 4096;
      const p = w.victim.malloc(240 * 4096);
      assert.notEqual(p, 0);
      w.victim.free(p);
    },
  },
  {
    name: "the unlock's sections that give kept runs back after the heap grew",
    setup: (w) => {
      const mine = Array.from({ length: 16 * 300 }, () => w.victim.malloc(256)); // 300 runs: more than one section's journal holds
      for (const p of mine) w.victim.free(p);
      w.victim.flush();
      const huge = w.heap.malloc(8 * MiB); // the survivor grows the heap
      assert.notEqual(huge, 0);
      w.heap.free(huge);
    },
    op: (w) => { w.inflight = 3072; w.victim.malloc(3000); },
  },
  {
    name: "the unlock's sections that give back kept runs nobody needed for keptDecayMs",
    setup: (w) => {
      const mine = Array.from({ length: 16 * 300 }, () => w.victim.malloc(256)); // 300 runs: more than one section's journal holds
      for (const p of mine) w.victim.free(p);
      w.victim.flush();
      // A first look: the low-water marks start from the lists as they are.
      testHooks.keptDecayNow = true;
      w.victim.free(w.victim.malloc(3000));
      w.victim.flush();
      assert.equal(testHooks.keptDecayNow, false);
    },
    op: (w) => {
      testHooks.keptDecayNow = true; // the fill's unlock looks again: all 300 runs are due
      try {
        w.inflight = 3072;
        w.victim.malloc(3000);
        // Not stopped: every one of them went back.
        assert.equal(w.victim.stats().arenas.reduce((n, a) => n + a.bins[sizeToBin(256)].keptRuns, 0), 0);
      } finally {
        testHooks.keptDecayNow = false;
      }
    },
  },
  {
    name: "trim() (kept runs and the table's page given back)",
    setup: (w) => {
      const mine = Array.from({ length: 300 }, (_, i) => w.victim.malloc(16 + (i % 5) * 16));
      for (const p of mine) w.victim.free(p);
      w.victim.flush();
    },
    op: (w) => { w.victim.trim(); },
  },
  {
    name: "free into a full stack (half of it flushed)",
    setup: (w) => {
      const mine = Array.from({ length: TC_CAP[BIN_32] + 100 }, () => w.victim.malloc(32));
      w.state.p = mine.pop() as number;
      // Free until the class's stack is full: the next free flushes half of it first.
      const cache = (w.victim as unknown as { cache: number }).cache;
      const m = internals(w.victim).i32;
      while (tcCount(m, cache, BIN_32) < TC_CAP[BIN_32]) w.victim.free(mine.pop() as number);
      w.live.push(...mine.map((p) => ({ p, size: 0, seed: 0 })));
    },
    op: (w) => { w.maybe.push(w.state.p); w.victim.free(w.state.p); },
  },
  {
    name: "remote stack flush (blocks of another arena)",
    setup: (w) => {
      const theirs = Array.from({ length: 65 }, () => w.heap.malloc(48));
      for (const p of theirs.slice(1)) w.victim.free(p);
      w.state.p = theirs[0];
    },
    op: (w) => { w.maybe.push(w.state.p); w.victim.free(w.state.p); },
  },
  {
    name: "cache GC step (stale blocks flushed)",
    setup: (w) => {
      const mine = Array.from({ length: 120 }, () => w.victim.malloc(32));
      for (const p of mine) w.victim.free(p);
      const v = w.victim as unknown as { gcBin: number; gcStep(): void };
      v.gcBin = 2; // class 32: the visit marks its blocks stale
      v.gcStep();
    },
    op: (w) => {
      const v = w.victim as unknown as { gcBin: number; gcStep(): void };
      v.gcBin = 2;
      v.gcStep();
    },
  },
  { name: "large malloc (a page run split)", op: (w) => { w.inflight = 20480; w.victim.malloc(20000); } },
  {
    name: "large free (pages merged with both neighbours)",
    setup: (w) => {
      const a = w.victim.malloc(100_000);
      const b = allocFilled(w.victim, 100_000);
      const c = w.victim.malloc(100_000);
      w.live.push(allocFilled(w.victim, 100_000));
      w.victim.free(a);
      w.victim.free(c);
      w.state.p = b.p;
    },
    op: (w) => { w.maybe.push(w.state.p); w.victim.free(w.state.p); },
  },
  { name: "aligned large malloc (head and tail trimmed)", op: (w) => { w.inflight = 20480; w.victim.alignedAlloc(65536, 20000); } },
  {
    name: "chunk given back to the pool (the arena's second empty chunk)",
    setup: (w) => {
      const a = w.victim.malloc(240 * 4096);
      w.state.p = w.victim.malloc(240 * 4096);
      w.victim.free(a); // its chunk: the spare
    },
    op: (w) => { w.maybe.push(w.state.p); w.victim.free(w.state.p); },
  },
  {
    name: "huge malloc with growth of the buffer",
    options: { initialBytes: 2 * MiB },
    op: (w) => { w.inflight = 3 * MiB; w.victim.malloc(3 * MiB); },
  },
  {
    name: "huge malloc with growth of a shared WebAssembly.Memory",
    memory: true,
    op: (w) => { w.inflight = 3 * MiB; w.victim.malloc(3 * MiB); },
  },
  {
    name: "huge free",
    setup: (w) => { w.state.p = w.victim.malloc(3 * MiB); },
    op: (w) => { w.maybe.push(w.state.p); w.victim.free(w.state.p); },
  },
  {
    name: "realloc of a large run in place (grow, then shrink)",
    setup: (w) => {
      const b = allocFilled(w.victim, 20000);
      w.live.push(b);
    },
    op: (w) => {
      const p = w.live[w.live.length - 1].p;
      assert.equal(w.victim.realloc(p, 60000), p);
      assert.equal(w.victim.realloc(p, 24000), p);
    },
  },
  {
    name: "realloc of a huge block in place (grow, then shrink)",
    setup: (w) => { w.live.push(allocFilled(w.victim, 2 * MiB)); },
    op: (w) => {
      const p = w.live[w.live.length - 1].p;
      assert.equal(w.victim.realloc(p, 4 * MiB), p);
      assert.equal(w.victim.realloc(p, 2 * MiB + 4096), p);
    },
  },
  {
    name: "realloc of a large run made huge in place (its chunk leaves the arena), then grown as a huge block",
    setup: (w) => { w.live.push(runAtChunkStart(w)); },
    op: (w) => {
      const p = w.live[w.live.length - 1].p;
      assert.equal(w.victim.realloc(p, MiB + 4096), p);
      assert.equal(w.victim.realloc(p, 3 * MiB), p);
    },
  },
  {
    name: "free of a large run made huge in place (its first chunk becomes the arena's spare)",
    setup: (w) => {
      const p = runAtChunkStart(w).p;
      assert.equal(w.victim.realloc(p, 2 * MiB), p); // made huge in place
      w.state.p = p;
    },
    op: (w) => { w.maybe.push(w.state.p); w.victim.free(w.state.p); },
  },
  movedToChunkStart("realloc moving a large run out of chunk 0 (to an empty chunk's start)", 20000, 100000, true),
  movedToChunkStart("realloc of a small block to a large size (to an empty chunk's start)", 8192, 16384, false),
  {
    name: "realloc of a sampled large run in place (profiling on: its mark kept, its sample resized)",
    options: { profile: { sampleBytes: 1 } },
    setup: (w) => {
      // A sampled run of 20,000 bytes with free pages after it: made as 200,000 and shrunk (the
      // profile's tables and stack strings, made by the first samples, lie elsewhere).
      const p = w.victim.malloc(200000);
      assert.equal(w.victim.realloc(p, 20000), p);
      const seed = seedOf(p, 20000);
      fillPattern(w.victim, p, 20000, seed);
      w.live.push({ p, size: 20000, seed });
    },
    op: (w) => {
      const p = w.live[w.live.length - 1].p;
      assert.equal(w.victim.realloc(p, 60000), p);
      assert.equal(w.victim.realloc(p, 24000), p);
    },
  },
  {
    name: "realloc of a sampled huge block in place (profiling on)",
    options: { profile: { sampleBytes: 1 } },
    setup: (w) => { w.live.push(allocFilled(w.victim, 2 * MiB)); },
    op: (w) => {
      const p = w.live[w.live.length - 1].p;
      assert.equal(w.victim.realloc(p, 4 * MiB), p);
      assert.equal(w.victim.realloc(p, 2 * MiB + 4096), p);
    },
  },
  {
    name: "detach (cache flushed, block and slot freed)",
    setup: (w) => {
      const mine = Array.from({ length: 100 }, (_, i) => w.victim.malloc(8 + (i % 9) * 40));
      for (const p of mine) w.victim.free(p);
      w.live.push(allocFilled(w.victim, 64));
    },
    op: (w) => w.victim.detach(),
  },
  {
    name: "no thread cache: malloc and free under the arena lock",
    options: { threadCache: false },
    setup: (w) => { w.live.push(...Array.from({ length: 10 }, () => allocFilled(w.victim, 24))); },
    op: (w) => {
      w.inflight = 32; // the class of 24 bytes
      const p = w.victim.malloc(24);
      w.maybe.push(p);
      w.victim.free(p);
    },
  },
];

for (const sc of SCENARIOS) {
  test(`a thread stopped at every crash point of: ${sc.name}`, { timeout: 120_000 }, (t) => {
    const points = everyCrashPoint(sc);
    assert.ok(points >= 3, `${sc.name}: only ${points} crash points`);
    t.diagnostic(`${points} crash points, each one stopped at, reclaimed and verified`);
  });
}

test("a thread stopped at every crash point of attach (slot claim, block carve)", { timeout: 60_000 }, () => {
  for (let k = 1; ; k++) {
    const heap = Heap.create({ initialBytes: 4 * MiB, arenas: 2 });
    const live = [allocFilled(heap, 100), allocFilled(heap, 20000)];
    testHooks.crashInAttach = k;
    let died = false;
    try {
      Heap.attach(heap.handle).detach();
    } catch (e) {
      if (!(e instanceof ThreadDeath)) throw e;
      died = true;
    } finally {
      testHooks.crashInAttach = 0;
    }
    const s = internals(heap);
    const others: number[] = [];
    for (let j = 0; j < s.i32[s.hdr + L.H_NSLOTS]; j++) {
      if (j !== heap.slot && (s.i32[s.sl + j * L.SLOT_WORDS + L.S_STATE] & L.SS_MASK) !== L.SS_FREE) others.push(j);
    }
    if (!died) {
      assert.deepEqual(others, []);
      assert.ok(k > 3, `attach had ${k - 1} crash points`);
      return;
    }
    // Past its last crash point inside detach() the slot is free already: nothing to reclaim.
    assert.ok(others.length <= 1, `crash point ${k}: the dead thread holds one slot at most`);
    for (const j of others) heap.reclaim(j);
    heap.check();
    assertBlocks(heap, live);
    for (const b of live) heap.free(b.p);
    heap.flush();
    assert.equal(heap.stats().allocated, 0);
    assert.equal(heap.stats().threads, 1);
    heap.check();
  }
});

test("a reclaimer stopped at every crash point of its reclaim is reclaimed, and the first reclaim finishes", { timeout: 120_000 }, () => {
  const flushScenario = SCENARIOS[2];
  for (let k = 1; ; k++) {
    const w = world(flushScenario);
    const vs = internals(w.victim);
    vs.crashIn = 12; // the victim dies inside its flush (25 points), locks held
    assert.throws(() => flushScenario.op(w), ThreadDeath);
    const rescuer = Heap.attach(w.heap.handle);
    internals(rescuer).crashIn = k;
    let died = false;
    try {
      rescuer.reclaim(w.victim.slot);
    } catch (e) {
      if (!(e instanceof ThreadDeath)) throw new Error(`reclaimer crash point ${k}: ${String(e)}`, { cause: e });
      died = true;
    }
    internals(rescuer).crashIn = 0;
    if (died) w.heap.reclaim(rescuer.slot); // finishes the victim's reclaim too
    else rescuer.detach();
    assert.equal(w.heap.stats().threads, 1, `reclaimer crash point ${k}: both slots are free`);
    verify(w, `reclaimer crash point ${k}`);
    if (!died) {
      assert.ok(k > 10, `reclaim had ${k - 1} crash points`);
      return;
    }
  }
});

test("an error inside a critical section undoes it and releases its lock: later calls error or work, never hang", () => {
  const heap = Heap.create({ initialBytes: 4 * MiB, arenas: 1, threadCache: false });
  // 256 regions of 48 bytes: one whole run (3 pages), handed out to its last region.
  const live = Array.from({ length: 256 }, () => allocFilled(heap, 48));
  const s = internals(heap);
  const gpage = (live[0].p - s.hb) >>> 12;
  const nfree = s.hw + (gpage >>> 8) * (MiB / 4) + (gpage & 255) * L.MAP_ENTRY_WORDS + L.MAP_NFREE;
  assert.equal(s.i32[nfree], 0, "the run is full");
  s.i32[nfree] = 5; // damage: the run claims free regions that its bitmap does not have
  assert.throws(() => heap.malloc(48), (e: unknown) => e instanceof HeapError && e.code === "CORRUPTION" && /bitmap is empty/.test(e.message));
  assert.equal(s.i32[s.ar + L.A_LOCK], 0, "the arena lock is free");
  assert.equal(s.i32[s.hdr + L.H_LOCK], 0, "the global lock is free");
  assert.equal(s.i32[s.jw + L.J_STATE], 0, "the journal is closed");
  assert.equal(s.i32[nfree], 0, "the free count, derived state, was rebuilt from the bitmap");
  heap.check();
  // The call was undone, and the next one works.
  const more = allocFilled(heap, 48);
  heap.check();
  assertBlocks(heap, [...live, more]);
  freeAllAssertEmpty(heap, [...live, more].map((b) => b.p));
});
