// heapMap draws the heap's pages as SVG; pageStates is the snapshot it draws from.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Heap, heapMap, pageStates } from "../src/index.js";
import { BIN_SIZE, NBINS } from "../src/sizeclass.js";
import { fillChunk0 } from "./helpers.js";

function busyHeap(): Heap {
  const heap = Heap.create({ arenas: 2, initialBytes: 8 << 20 });
  const ptrs: number[] = [];
  for (let i = 0; i < 5000; i++) ptrs.push(heap.malloc(8 + ((i * 7919) % 3000)));
  for (let i = 0; i < ptrs.length; i += 3) heap.free(ptrs[i]);
  heap.malloc(200000); // large
  heap.malloc(1500000); // huge: 2 chunks, the second partly slack
  return heap;
}

test("pageStates: every chunk of the buffer, its runs covering its 256 pages in order", () => {
  const heap = busyHeap();
  const snap = pageStates(heap);
  assert.equal(snap.chunks.length, heap.stats().chunks);
  for (const c of snap.chunks) {
    let page = 0;
    for (const r of c.runs) {
      assert.equal(r.page, page, `chunk ${c.index}`);
      assert.ok(r.pages >= 1);
      assert.notEqual(r.kind, "corrupt");
      page += r.pages;
    }
    assert.equal(page, 256, `chunk ${c.index}`);
  }
  const kinds = new Set(snap.chunks.flatMap((c) => c.runs.map((r) => r.kind)));
  for (const k of ["header", "tcache", "free", "small", "large", "huge", "slack", "unused"]) assert.ok(kinds.has(k as never), k);
});

test("pageStates agrees with stats(): regions in use per class, active and huge pages", () => {
  const heap = busyHeap();
  const stats = heap.stats();
  const snap = pageStates(heap);
  const inUse = new Array(NBINS).fill(0);
  let activePages = 0;
  let hugePages = 0;
  for (const c of snap.chunks) {
    for (const r of c.runs) {
      if (r.kind === "small") {
        assert.equal(r.size, BIN_SIZE[r.bin!]);
        inUse[r.bin!] += r.nregs! - r.nfree!;
      }
      if (r.kind === "small" || r.kind === "large") activePages += r.pages;
      if (r.kind === "huge") hugePages += r.pages;
    }
  }
  for (let b = 0; b < NBINS; b++) {
    assert.equal(inUse[b], stats.arenas.reduce((n, a) => n + a.bins[b].curregs, 0), `class ${BIN_SIZE[b]}`);
  }
  assert.equal(activePages * 4096 + hugePages * 4096, stats.active);
  assert.equal(hugePages * 4096, stats.huge.allocated);
});

test("heapMap: an SVG with a title of totals, a legend, and one row per chunk", () => {
  const heap = busyHeap();
  const svg = heapMap(heap);
  const stats = heap.stats();
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.match(svg, new RegExp(`sabmalloc heap: ${stats.chunks} chunks of 1 MiB`));
  for (const label of ["chunk header", "thread cache", "free page", "large run", "huge block", "unused chunk", "small run, by size class"]) {
    assert.ok(svg.includes(label), label);
  }
  const rows = svg.match(/>chunks? \d+/g) ?? [];
  assert.ok(rows.length >= 1 && rows.length <= stats.chunks);
  assert.ok(svg.includes(">chunk 0  arena 0<"));
  // Well-formed enough: every element that opens closes.
  const opens = (svg.match(/<(g|text|title|style|defs|pattern)[ >]/g) ?? []).length;
  const closes = (svg.match(/<\/(g|text|title|style|defs|pattern)>/g) ?? []).length;
  assert.equal(opens, closes);
});

test("runs of three or more unused chunks are one row", () => {
  const heap = Heap.create({ arenas: 1, initialBytes: 16 << 20 });
  const svg = heapMap(heap);
  assert.match(svg, />chunks 1-15 unused</);
});

test("a detached heap cannot be drawn", () => {
  const heap = Heap.create({ initialBytes: 1 << 20 });
  heap.detach();
  assert.throws(() => heapMap(heap), { code: "DETACHED" });
});

test("pageStates: a large run made huge in place shows its chunk's unused header pages as slack", () => {
  const heap = Heap.create({ arenas: 1, initialBytes: 4 << 20 });
  const fillers = fillChunk0(heap);
  const p = heap.malloc(200 * 4096);
  assert.equal(heap.realloc(p, 1_200_000), p, "made huge in place");
  const c = Math.floor(p / (1 << 20));
  const snap = pageStates(heap);
  const first = snap.chunks.find((x) => x.index === c)!;
  const second = snap.chunks.find((x) => x.index === c + 1)!;
  assert.deepEqual(first.runs.map((r) => [r.page, r.pages, r.kind]), [[0, 5, "slack"], [5, 251, "huge"]]);
  const rest = 1_200_000 / 4096 - 251;
  assert.deepEqual(second.runs.map((r) => [r.page, r.pages, r.kind]), [[0, Math.ceil(rest), "huge"], [Math.ceil(rest), 256 - Math.ceil(rest), "slack"]]);
  assert.equal(first.hugeStart, c);
  assert.equal(second.hugeStart, c);
  assert.match(heapMap(heap), /<svg/);
  heap.free(p);
  for (const f of fillers) heap.free(f);
  heap.check();
});

test("heapMap: a run its arena keeps empty says so in its title; pageStates shows it as a small run with every region free", () => {
  const heap = Heap.create({ initialBytes: 2 << 20, arenas: 1 });
  const ps = Array.from({ length: 640 }, () => heap.malloc(64)); // 10 runs of 64 regions
  for (const p of ps) heap.free(p);
  heap.flush();
  const keptRuns = heap.stats().arenas[0].bins.find((b) => b.size === 64)!.keptRuns;
  assert.ok(keptRuns >= 9);
  const empty = pageStates(heap).chunks.flatMap((c) => c.runs).filter((r) => r.kind === "small" && r.size === 64 && r.nfree === r.nregs);
  assert.equal(empty.length, keptRuns);
  const svg = heapMap(heap);
  assert.equal((svg.match(/64 B class: 0\/64 regions in use, 1 page \(an empty run its arena keeps for the class\)/g) ?? []).length, keptRuns);
});
