// Heap profiles: sampling (off by default, every thread's samples in one profile, unbiased
// estimates), the marks that send sampled blocks to the slow paths, and the output formats.

import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { gunzipSync } from "node:zlib";
import { Profile } from "pprof-format";
import { formatProfile, Heap, HeapProfile, toDevTools, toPprof } from "../src/index.js";
import type { DevToolsNode } from "../src/index.js";
import { L } from "../src/layout.js";
import { gzipStored } from "../src/pprof.js";
import { mapIdx, addrPage } from "../src/space.js";
import { fillChunk0, internals } from "./helpers.js";
import { firstMessage, results, spawn } from "./threads.util.js";

/** The page info of the first page of block `p`. */
function infoOf(heap: Heap, p: number): number {
  const s = internals(heap);
  return s.i32[mapIdx(s, addrPage(s, p)) + L.MAP_INFO];
}

/** The line of the caller of this function, as its stack says. */
function callerLine(): number {
  const at = /:(\d+):\d+\)?$/.exec(new Error().stack!.split("\n")[2]);
  return Number(at![1]);
}

/** Estimated bytes and objects of the samples with a frame of function `fn`. */
function site(p: HeapProfile, fn: string): { bytes: number; objects: number; count: number } {
  let bytes = 0;
  let objects = 0;
  let count = 0;
  for (const s of p.samples) {
    if (!s.stack.some((f) => f.functionName === fn)) continue;
    bytes += s.bytes;
    objects += s.objects;
    count += s.count;
  }
  return { bytes, objects, count };
}

/**
 * Blocks of one kind in a sampled estimate: `n` of them, each in the estimate with probability
 * `q`, and then counted as `v` (bytes: its size / q; objects: 1 / q).
 */
interface SampledKind { n: number; q: number; v: number }

/**
 * A bound t on the sampling error of an estimate that sums independent blocks of the given kinds:
 * P(|estimate - truth| >= t) <= delta. Chernoff's bound on the exact moment generating function
 * (each block: 1 - q + q e^(theta v)), each tail given delta / 2 - not a multiple of the standard
 * deviation, which assumes a normal tail: an estimate that a few samples of small blocks dominate
 * (an 8-byte block sampled every 32 KiB stands for 4,096 objects) has a far heavier one, and a
 * "5 sigma" check of it failed about one run in 300 with nothing wrong.
 */
function samplingBound(kinds: SampledKind[], delta: number): number {
  const ks = kinds.filter((k) => k.n > 0 && k.q > 0 && k.q < 1);
  if (ks.length === 0) return 0; // every block counted exactly (q = 1): no sampling error
  const vmax = Math.max(...ks.map((k) => k.v));
  const vmin = Math.min(...ks.map((k) => k.v));
  const sd = Math.sqrt(ks.reduce((a, k) => a + k.n * k.q * (1 - k.q) * k.v * k.v, 0));
  // log E[e^(theta (estimate - truth))]; e^(theta v) stays finite for |theta| v <= 700
  const logMgf = (theta: number): number =>
    ks.reduce((a, k) => a + k.n * (Math.log1p(k.q * Math.expm1(theta * k.v)) - theta * k.q * k.v), 0);
  // The least of a convex function of theta in [0, hi]: ternary search.
  const least = (f: (theta: number) => number, hi: number): number => {
    let lo = 0;
    for (let i = 0; i < 200; i++) {
      const a = lo + (hi - lo) / 3;
      const b = hi - (hi - lo) / 3;
      if (f(a) < f(b)) hi = b;
      else lo = a;
    }
    return f((lo + hi) / 2);
  };
  const target = Math.log(delta / 2);
  const tail = (side: 1 | -1, t: number): number => least((theta) => logMgf(side * theta) - theta * t, 700 / (side === 1 ? vmax : vmin));
  const solve = (side: 1 | -1): number => {
    let hi = sd;
    while (tail(side, hi) > target) hi *= 2;
    let lo = 0;
    for (let i = 0; i < 100; i++) {
      const mid = (lo + hi) / 2;
      if (tail(side, mid) > target) lo = mid;
      else hi = mid;
    }
    return hi;
  };
  return Math.max(solve(1), solve(-1));
}

/** Sampled kinds of `blocks` (usable sizes) with mean `mean` between samples: bytes and objects. */
function sampledKinds(sizes: number[], mean: number): { bytes: SampledKind[]; objects: SampledKind[] } {
  const bySize = new Map<number, number>();
  for (const u of sizes) bySize.set(u, (bySize.get(u) ?? 0) + 1);
  const bytes: SampledKind[] = [];
  const objects: SampledKind[] = [];
  for (const [u, n] of bySize) {
    const q = -Math.expm1(-u / mean); // sampled with this probability; it then stands for 1 / q blocks
    bytes.push({ n, q, v: u / q });
    objects.push({ n, q, v: 1 / q });
  }
  return { bytes, objects };
}

test("bad profile options throw TypeError or RangeError", () => {
  assert.throws(() => Heap.create({ profile: "yes" as never }), TypeError);
  assert.throws(() => Heap.create({ profile: null as never }), TypeError);
  assert.throws(() => Heap.create({ profile: { sampleBytes: "8" as never } }), TypeError);
  for (const n of [0, -1, 1.5, NaN, Infinity, 2 ** 31]) {
    assert.throws(() => Heap.create({ profile: { sampleBytes: n } }), RangeError, `sampleBytes ${n}`);
  }
  assert.throws(() => Heap.create({ profile: { maxFrames: "8" as never } }), TypeError);
  for (const n of [0, -1, 1.5, NaN, 129]) {
    assert.throws(() => Heap.create({ profile: { maxFrames: n } }), RangeError, `maxFrames ${n}`);
  }
});

test("maxFrames: a sampled stack keeps that many frames, innermost first, in every thread's Heap", () => {
  // A call 60 frames deep: down(60) -> ... -> down(1) -> alloc -> malloc.
  const deep = (heap: Heap, n: number): number => (n === 0 ? allocHere(heap) : deep(heap, n - 1) + 0);
  const allocHere = (heap: Heap): number => heap.malloc(64);
  for (const [maxFrames, want] of [[undefined, 48], [5, 5], [1, 1], [128, 63]] as const) {
    const heap = Heap.create({ profile: maxFrames === undefined ? { sampleBytes: 1 } : { sampleBytes: 1, maxFrames } });
    const p = deep(heap, 60);
    const frames = heap.profile().samples.find((x) => x.count === 1)!.stack;
    if (maxFrames === 128) {
      // The whole stack: the 61 calls, this test's function and what runs it.
      assert.ok(frames.length > 62 && frames.length <= 128, `${frames.length} frames`);
    } else {
      assert.equal(frames.length, want, `maxFrames ${maxFrames}`);
    }
    assert.equal(frames[0].functionName, "allocHere", "the innermost frame is malloc's caller");
    if (frames.length > 1) assert.equal(frames[1].functionName, "deep");
    // A Heap attached to the same heap (as another thread's would be) keeps as many.
    const other = Heap.attach(heap.handle);
    const q = deep(other, 60);
    const again = other.profile().samples.filter((x) => x.count === 1);
    assert.ok(again.every((x) => maxFrames === 128 ? x.stack.length > 62 : x.stack.length === want));
    other.free(q);
    other.detach();
    heap.free(p);
  }
});

test("profiling is off by default: small blocks stay in small runs and the profile is empty", () => {
  const heap = Heap.create();
  const ps = Array.from({ length: 100 }, () => heap.malloc(32));
  for (const p of ps) assert.equal(infoOf(heap, p) & L.PI_STATE_MASK, L.PS_SMALL);
  assert.deepEqual(heap.profile(), { sampleBytes: 0, samples: [], overheadBytes: 0 });
  assert.equal(heap.malloc, Heap.prototype.malloc, "an unprofiled heap runs malloc itself, not a counting copy");
  assert.ok(!Object.hasOwn(heap, "malloc"));
  assert.notEqual(Heap.create({ profile: true }).malloc, Heap.prototype.malloc);
  assert.match(formatProfile(heap.profile()), /off/);
});

test("a sampled small block is a marked large run that keeps its class's usable size", () => {
  const heap = Heap.create({ profile: { sampleBytes: 1 } });
  const p = heap.malloc(20); // class 32
  const info = infoOf(heap, p);
  assert.equal(info & L.PI_STATE_MASK, L.PS_LARGE);
  assert.notEqual(info & L.PI_SAMPLED, 0);
  assert.equal(heap.usableSize(p), 32);
  const big = heap.malloc(100_000);
  assert.notEqual(infoOf(heap, big) & L.PI_SAMPLED, 0);
  assert.equal(heap.usableSize(big), 25 * 4096);
  const huge = heap.malloc(3 << 20);
  const s = internals(heap);
  assert.notEqual(s.i32[s.ct + ((huge - s.hb) >>> L.CHUNK_SHIFT)] & L.CK_SAMPLED, 0);
  heap.check(); // sampled blocks live
  assert.equal(heap.profile().samples.reduce((a, x) => a + x.count, 0), 3);
  heap.free(p);
  heap.free(big);
  heap.free(huge);
  assert.equal(heap.profile().samples.length, 0, "freed samples leave the profile");
  assert.throws(() => heap.free(p), { name: "HeapError" });
  heap.check();
});

test("sampleBytes 1 samples every allocation: the profile is exact, by call site, through realloc and frees", () => {
  const heap = Heap.create({ profile: { sampleBytes: 1 } });
  let lineA = 0;
  let lineB = 0;
  const siteA = (n: number): number => {
    const p = heap.malloc(n);
    lineA = callerLine() - 1;
    return p;
  };
  const siteB = (n: number): number => {
    const p = heap.calloc(1, n);
    lineB = callerLine() - 1;
    return p;
  };
  const live = new Map<number, [string, number]>();
  const sizes = [0, 8, 100, 5000, 14336, 20000, 300_000, 2_000_000];
  for (let r = 0; r < 5; r++) {
    for (const n of sizes) {
      const a = siteA(n);
      live.set(a, ["siteA", heap.usableSize(a)]);
      const b = siteB(n);
      live.set(b, ["siteB", heap.usableSize(b)]);
    }
  }
  let k = 0;
  for (const p of [...live.keys()]) if (k++ % 3 === 0) { heap.free(p); live.delete(p); }
  // A realloc within its class keeps the sample; one that moves takes a new one, from its caller.
  const [first] = live.keys();
  const moved = heap.realloc(first, 64 * 1024);
  live.delete(first);
  live.set(moved, ["test", heap.usableSize(moved)]);
  heap.check();
  const p = heap.profile();
  assert.equal(p.sampleBytes, 1);
  for (const fn of ["siteA", "siteB"]) {
    const want = [...live.values()].filter(([f]) => f === fn);
    const got = site(p, fn);
    assert.equal(got.bytes, want.reduce((a, [, u]) => a + u, 0), `${fn} bytes`);
    assert.equal(got.objects, want.length, `${fn} objects`);
  }
  const a = p.samples.find((s) => s.stack[0].functionName === "siteA")!;
  assert.equal(a.stack[0].line, lineA);
  assert.match(a.stack[0].url, /profile\.test\.js$/);
  assert.ok(a.stack[0].column > 0);
  assert.equal(p.samples.find((s) => s.stack[0].functionName === "siteB")!.stack[0].line, lineB);
  assert.ok(!p.samples.some((s) => s.stack.some((f) => /\/src\/(heap|profile)\.js$/.test(f.url))), "sabmalloc's own frames are dropped");
  for (const q of live.keys()) heap.free(q);
  const after = heap.profile();
  assert.equal(after.samples.length, 0);
  heap.flush();
  heap.check();
  assert.equal(heap.stats().allocated, after.overheadBytes, "all that is left is the profile's own tables");
});

test("toPprof: gzip'd profile.proto with the sample types, function names, files and lines", () => {
  const heap = Heap.create({ profile: { sampleBytes: 1 } });
  let line = 0;
  function pprofSite(): number {
    const p = heap.malloc(1000);
    line = callerLine() - 1;
    return p;
  }
  for (let i = 0; i < 10; i++) pprofSite();
  const bytes = toPprof(heap.profile());
  assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b]);
  const d = Profile.decode(gunzipSync(bytes));
  const str = (i: number | bigint): string => d.stringTable.strings[Number(i)];
  assert.deepEqual(d.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`), ["inuse_objects/count", "inuse_space/bytes"]);
  assert.equal(`${str(d.periodType!.type)}/${str(d.periodType!.unit)}`, "space/bytes");
  assert.equal(d.sample.length, 1);
  assert.deepEqual(d.sample[0].value.map(Number), [10, 10 * 1024]);
  const leaf = d.location.find((l) => l.id === d.sample[0].locationId[0])!;
  const fn = d.function.find((f) => f.id === leaf.line[0].functionId)!;
  assert.equal(str(fn.name), "pprofSite");
  assert.match(str(fn.filename), /profile\.test\.js$/);
  assert.equal(Number(leaf.line[0].line), line);
  // The browsers' fallback writes valid gzip too.
  const raw = new Uint8Array(200_000).map((_, i) => i * 7);
  assert.deepEqual(new Uint8Array(gunzipSync(gzipStored(raw))), raw);
  assert.deepEqual(new Uint8Array(gunzipSync(gzipStored(new Uint8Array(0)))), new Uint8Array(0));
});

test("toDevTools: Chrome's .heapprofile tree, 0-based lines, self sizes summing to the profile", () => {
  const heap = Heap.create({ profile: { sampleBytes: 1 } });
  let line = 0;
  function devtoolsSite(n: number): number {
    const p = heap.malloc(n);
    line = callerLine() - 1;
    return p;
  }
  for (let i = 0; i < 4; i++) devtoolsSite(100);
  heap.malloc(5000);
  const prof = heap.profile();
  const dt = JSON.parse(JSON.stringify(toDevTools(prof))) as { head: DevToolsNode; samples: { size: number; nodeId: number; ordinal: number }[] };
  assert.equal(dt.head.callFrame.functionName, "(root)");
  const ids = new Set<number>();
  let total = 0;
  let found: DevToolsNode | undefined;
  const walk = (n: DevToolsNode): void => {
    assert.equal(typeof n.id, "number");
    assert.ok(!ids.has(n.id), "node ids are unique");
    ids.add(n.id);
    for (const k of ["functionName", "scriptId", "url"] as const) assert.equal(typeof n.callFrame[k], "string");
    assert.equal(typeof n.callFrame.lineNumber, "number");
    assert.equal(typeof n.callFrame.columnNumber, "number");
    assert.ok(Array.isArray(n.children));
    total += n.selfSize;
    if (n.callFrame.functionName === "devtoolsSite") found = n;
    n.children.forEach(walk);
  };
  walk(dt.head);
  assert.equal(total, prof.samples.reduce((a, s) => a + s.bytes, 0));
  assert.ok(found !== undefined);
  assert.equal(found.selfSize, 4 * 112);
  assert.equal(found.callFrame.lineNumber, line - 1, "0-based");
  assert.equal(found.children.length, 0);
  for (const s of dt.samples) assert.ok(ids.has(s.nodeId));
  assert.match(formatProfile(prof), /devtoolsSite profile\.test\.js:\d+/);
});

/**
 * Two call sites in one worker allocate 3:1 in bytes (small, large and huge blocks), another worker
 * frees every third block; the main thread's profile must match what is live.
 */
async function twoSites(t: TestContext, sampleBytes: number, rounds: number) {
  const heap = Heap.create({ profile: { sampleBytes }, maxBytes: 1 << 30 });
  const blocks = (await results<Array<[number, number, number]>>([spawn(t, "profile", { handle: heap.handle, role: "alloc", rounds })]))[0];
  const freer = spawn(t, "profile", { handle: heap.handle, role: "free", rounds });
  // Every third block of each site and size goes.
  const seen = new Map<string, number>();
  const freed = blocks.map(([, k, u]) => {
    const n = seen.get(`${k}:${u}`) ?? 0;
    seen.set(`${k}:${u}`, n + 1);
    return n % 3 === 1;
  });
  const gone = blocks.filter((_, i) => freed[i]);
  freer.postMessage(gone.map(([p]) => p));
  assert.equal(await firstMessage(freer), gone.length);
  const live = blocks.filter((_, i) => !freed[i]);
  heap.check();
  return { heap, profile: heap.profile(), live };
}

test("sampleBytes 1 across threads: exact per site, and blocks freed by another worker leave the profile", async (t) => {
  const { profile, live } = await twoSites(t, 1, 60);
  for (const [fn, k] of [["allocX", 0], ["allocY", 1]] as const) {
    const want = live.filter(([, s]) => s === k);
    const got = site(profile, fn);
    assert.equal(got.bytes, want.reduce((a, [, , u]) => a + u, 0), fn);
    assert.equal(got.objects, want.length, fn);
  }
});

test("estimates by call site match the live bytes within a one-in-a-million bound of sampling error (3:1, all size kinds, remote frees)", async (t) => {
  const mean = 32 * 1024;
  const { profile, live } = await twoSites(t, mean, 400);
  const delta = 1e-6;
  const truth = [0, 0];
  for (const [, k, u] of live) truth[k] += u;
  assert.ok(Math.abs(truth[0] / truth[1] - 3) < 0.3, `the sites hold about 3:1 (${truth[0] / truth[1]})`);
  for (const [fn, k] of [["allocX", 0], ["allocY", 1]] as const) {
    const mine = live.filter(([, s]) => s === k);
    const kinds = sampledKinds(mine.map(([, , u]) => u), mean);
    const got = site(profile, fn);
    const bound = samplingBound(kinds.bytes, delta);
    if (process.env.PROFILE_TEST_VERBOSE) console.log(fn, got.bytes, truth[k], bound, got.count, got.objects, mine.length);
    assert.ok(Math.abs(got.bytes - truth[k]) <= bound,
      `${fn}: estimated ${got.bytes.toFixed(0)} bytes, live ${truth[k]} (bound ${bound.toFixed(0)}, ${got.count} samples)`);
    assert.ok(bound < 0.2 * truth[k], `the bound is tight enough to mean something (${bound} of ${truth[k]})`);
    // A sample of an 8-byte block stands for 4,096 blocks here, so the object count's bound is
    // several times the count: it catches only gross errors (the next test checks it closely).
    const objBound = samplingBound(kinds.objects, delta);
    assert.ok(Math.abs(got.objects - mine.length) <= objBound,
      `${fn}: estimated ${got.objects.toFixed(0)} blocks, live ${mine.length} (bound ${objBound.toFixed(0)})`);
  }
  const sx = site(profile, "allocX").bytes;
  const sy = site(profile, "allocY").bytes;
  assert.ok(sx / sy > 2 && sx / sy < 4.5, `ratio ${sx / sy}`);
});

test("estimated object counts match the live blocks within a one-in-a-million bound (blocks of 1 to 20 KB)", () => {
  const mean = 4096;
  const heap = Heap.create({ profile: { sampleBytes: mean }, maxBytes: 1 << 30 });
  const sizes = [1000, 2000, 3000, 5000, 8000, 14000, 20000];
  function countSite(n: number): number {
    return heap.malloc(n);
  }
  const blocks: number[] = [];
  for (let i = 0; i < 1500; i++) for (const n of sizes) blocks.push(countSite(n));
  // Every third one goes: its sample (if any) leaves the profile.
  const live = blocks.filter((p, i) => {
    if (i % 3 !== 1) return true;
    heap.free(p);
    return false;
  });
  const kinds = sampledKinds(live.map((p) => heap.usableSize(p)), mean);
  const got = site(heap.profile(), "countSite");
  const objBound = samplingBound(kinds.objects, 1e-6);
  const bound = samplingBound(kinds.bytes, 1e-6);
  const truth = live.reduce((a, p) => a + heap.usableSize(p), 0);
  assert.ok(objBound < 0.1 * live.length, `the bound is tight enough to mean something (${objBound} of ${live.length})`);
  assert.ok(Math.abs(got.objects - live.length) <= objBound, `estimated ${got.objects.toFixed(0)} blocks, live ${live.length} (bound ${objBound.toFixed(0)})`);
  assert.ok(Math.abs(got.bytes - truth) <= bound, `estimated ${got.bytes.toFixed(0)} bytes, live ${truth} (bound ${bound.toFixed(0)})`);
  for (const p of live) heap.free(p);
  assert.equal(heap.profile().samples.length, 0);
  heap.check();
});

test("estimates stay unbiased when blocks are recycled through the thread cache (random replace, one-in-a-million bound)", () => {
  const mean = 4096;
  const heap = Heap.create({ profile: { sampleBytes: mean } });
  const sizes = [16, 32, 48, 100, 200, 500, 1000, 3000, 20000];
  const live = new Array<number>(4000).fill(0);
  let x = 0x2545f491;
  const rnd = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  function churnSite(n: number): number {
    return heap.malloc(n);
  }
  for (let i = 0; i < 100_000; i++) {
    const k = Math.floor(rnd() * live.length);
    if (live[k] !== 0) heap.free(live[k]);
    live[k] = churnSite(sizes[Math.floor(rnd() * sizes.length)]);
  }
  const usable = live.map((p) => heap.usableSize(p));
  const truth = usable.reduce((a, u) => a + u, 0);
  const bound = samplingBound(sampledKinds(usable, mean).bytes, 1e-6);
  const got = site(heap.profile(), "churnSite").bytes;
  assert.ok(bound < 0.25 * truth, `bound ${bound} of ${truth}`);
  assert.ok(Math.abs(got - truth) <= bound, `estimated ${got.toFixed(0)}, live ${truth}, bound ${bound.toFixed(0)}`);
  heap.check();
});

test("dist/index.js imports nothing a browser cannot load: only relative static imports", async () => {
  const { readFileSync } = await import("node:fs");
  const seen = new Set<string>();
  const visit = (url: URL): void => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    const text = readFileSync(url, "utf8");
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"|^import\s+"([^"]+)"/gm)) {
      const spec = m[1] ?? m[2];
      assert.ok(spec.startsWith("./") || spec.startsWith("../"), `${url.pathname} imports "${spec}" statically`);
      visit(new URL(spec, url));
    }
  };
  visit(new URL("../../dist/index.js", import.meta.url));
  assert.ok([...seen].some((u) => u.endsWith("/pprof.js")) && [...seen].some((u) => u.endsWith("/profile.js")));
});

test("reclaim() of a thread that died holding the profile lock releases it; the profile still reads", () => {
  const heap = Heap.create({ profile: { sampleBytes: 1 } });
  const victim = Heap.attach(heap.handle);
  const kept = victim.malloc(5000);
  const s = internals(heap);
  // The victim "dies" inside recordSample: the lock word names it as the holder.
  s.i32[s.hdr + L.H_PROF_LOCK] = (victim.slot + 1) << 1;
  heap.reclaim(victim.slot);
  assert.equal(s.i32[s.hdr + L.H_PROF_LOCK], 0);
  const p = heap.profile();
  assert.equal(p.samples.reduce((a, x) => a + x.count, 0), 1);
  heap.free(kept); // its block is still live, and freed by another thread its sample goes
  assert.equal(heap.profile().samples.length, 0);
  heap.check();
});

test("a block that realloc grows in place is counted by its growth, and may be sampled there", () => {
  const heap = Heap.create({ profile: { sampleBytes: 1 << 20 } });
  const countdown = heap as unknown as { profLeft: number };
  function growSite(p: number, n: number): number {
    return heap.realloc(p, n);
  }
  countdown.profLeft = 2 ** 30; // the first block is not sampled
  const fillers = fillChunk0(heap); // p grows in place where it is (outside chunk 0: helpers.ts)
  const p = growSite(0, 20_000);
  assert.equal(heap.profile().samples.length, 0);
  countdown.profLeft = 2 ** 30;
  assert.equal(growSite(p, 60_000), p, "grown in place");
  assert.equal(2 ** 30 - countdown.profLeft, heap.usableSize(p) - 5 * 4096, "counted: the pages it grew by, not its new size");
  assert.equal(heap.profile().samples.length, 0);
  countdown.profLeft = 0; // the next growth is sampled
  assert.equal(growSite(p, 100_000), p, "grown in place");
  assert.notEqual(infoOf(heap, p) & L.PI_SAMPLED, 0);
  const prof = heap.profile();
  assert.equal(site(prof, "growSite").count, 1);
  const u = heap.usableSize(p);
  assert.ok(Math.abs(prof.samples[0].bytes / (u / -Math.expm1(-u / (1 << 20))) - 1) < 1e-12, "scaled at its new size");
  heap.free(p);
  for (const f of fillers) heap.free(f);
  assert.equal(heap.profile().samples.length, 0);
  heap.check();
});

test("a large run made huge in place may be sampled by its growth; a sampled large run moves instead", () => {
  const heap = Heap.create({ profile: { sampleBytes: 1 << 20 }, initialBytes: 8 << 20 });
  const countdown = heap as unknown as { profLeft: number };
  countdown.profLeft = 2 ** 30; // no sample before the one below
  const fillers = fillChunk0(heap);
  const p = heap.malloc(200 * 4096);
  assert.equal(p % (1 << 20), 5 * 4096, "at an empty chunk's first data page");
  countdown.profLeft = 0; // the growth is sampled
  assert.equal(heap.realloc(p, 2 << 20), p, "made huge in place");
  const ofP = () => heap.profile().samples.filter((x) => x.bytes > 1 << 20);
  assert.equal(ofP().length, 1);
  assert.ok(Math.abs(ofP()[0].bytes / ((2 << 20) / -Math.expm1(-2))  - 1) < 1e-12, "scaled at its new size");
  heap.check();
  heap.free(p);
  assert.equal(ofP().length, 0);
  // A sampled run keeps its mark in its page info, which a huge block has not: it moves.
  countdown.profLeft = 0;
  const q = heap.malloc(200 * 4096);
  assert.equal(q % (1 << 20), 5 * 4096);
  assert.notEqual(infoOf(heap, q) & L.PI_SAMPLED, 0);
  const r = heap.realloc(q, 2 << 20);
  assert.notEqual(r, q);
  assert.equal(r % (1 << 20), 0);
  heap.free(r);
  for (const f of fillers) heap.free(f);
  heap.flush();
  heap.check();
  assert.equal(heap.stats().allocated - heap.profile().overheadBytes, 0);
});

test("a sampled large run or huge block grows and shrinks in place, keeping its mark and its sample at the new size", () => {
  const heap = Heap.create({ profile: { sampleBytes: 1 }, initialBytes: 16 << 20 });
  // The first sample makes the profile's tables: the block below then lies after them, with the
  // rest of its chunk free behind it.
  const first = heap.malloc(8);
  let p = heap.malloc(20_000);
  assert.notEqual(infoOf(heap, p) & L.PI_SAMPLED, 0);
  // Grown by small steps up to 400 KB: every step in place, the sample following the size.
  for (let n = 20_000; n <= 400_000; n += 1000) {
    assert.equal(heap.realloc(p, n), p, `realloc to ${n} in place`);
    assert.notEqual(infoOf(heap, p) & L.PI_SAMPLED, 0, `still sampled at ${n}`);
  }
  const ofP = () => heap.profile().samples.filter((x) => x.bytes !== 8);
  assert.equal(ofP().length, 1);
  assert.equal(ofP()[0].bytes, heap.usableSize(p));
  assert.equal(heap.realloc(p, 100_000), p, "shrunk in place");
  assert.equal(ofP()[0].bytes, heap.usableSize(p));
  heap.check();
  heap.free(p);
  assert.equal(ofP().length, 0);
  // A huge block, grown into the free chunks after it.
  p = heap.malloc(2 << 20);
  assert.equal(heap.realloc(p, 5 << 20), p, "huge, grown in place");
  assert.equal(ofP().length, 1);
  assert.equal(ofP()[0].bytes, heap.usableSize(p));
  heap.check();
  heap.free(p);
  assert.equal(ofP().length, 0);
  heap.free(first);
  assert.equal(heap.stats().allocated - heap.profile().overheadBytes, 0);
  heap.check();
});

test("blocks grown by realloc in small steps are estimated without bias (counted by their growth)", () => {
  const mean = 128 * 1024;
  const heap = Heap.create({ profile: { sampleBytes: mean }, initialBytes: 64 << 20 });
  function grower(p: number, n: number): number {
    return heap.realloc(p, n);
  }
  const blocks: number[] = [];
  const n = 120;
  for (let i = 0; i < n; i++) {
    let p = grower(0, 16 * 1024);
    for (let size = 16 * 1024 + 4096; size <= 128 * 1024; size += 4096) p = grower(p, size);
    blocks.push(p);
  }
  const truth = blocks.reduce((a, p) => a + heap.usableSize(p), 0);
  const u = truth / n; // every block ends at the same size (128 KiB, with what growth takes ahead)
  const q = -Math.expm1(-u / mean); // each block sampled with this probability over its life
  const est = site(heap.profile(), "grower").bytes;
  // Samples are binomial(n, q) and the estimate is samples x u / q: its standard deviation is
  // u / q x sqrt(n q (1 - q)). Counted at its whole size at every step, nearly every block would
  // be sampled (31 steps of up to 128 KiB each) at the same scale 1/q: an estimate of ~1.6x truth.
  const sd = (u / q) * Math.sqrt(n * q * (1 - q));
  const bound = samplingBound([{ n, q, v: u / q }], 1e-6); // ~5 sd here
  assert.ok(bound < 0.45 * truth, `the bound tells the +60% above from no bias (${bound} of ${truth})`);
  assert.ok(Math.abs(est - truth) <= bound, `estimate ${est}, true ${truth}, sd ${sd.toFixed(0)}, bound ${bound.toFixed(0)}`);
  for (const p of blocks) heap.free(p);
  heap.check();
});
