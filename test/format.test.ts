// formatStats: a jemalloc-style text report of Heap.stats().
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatBytes, formatStats, Heap } from "../src/index.js";
import type { HeapStats } from "../src/index.js";

function busyHeap(): { heap: Heap; ptrs: number[] } {
  const heap = Heap.create({ arenas: 3, initialBytes: 4 << 20 });
  const ptrs: number[] = [];
  for (let i = 0; i < 301; i++) ptrs.push(heap.malloc(40)); // class 48: the 4th fill leaves some in the cache
  for (let i = 0; i < 10; i++) ptrs.push(heap.malloc(3000)); // class 3072
  ptrs.push(heap.malloc(100000)); // large
  ptrs.push(heap.malloc(3 << 20)); // huge
  return { heap, ptrs };
}

test("the report has the totals, arena 0, the large and huge counters, and a line per used class", () => {
  const { heap } = busyHeap();
  const stats = heap.stats();
  const text = formatStats(stats);
  assert.match(text, /^___ Begin sabmalloc statistics ___\n/);
  assert.match(text, /___ End sabmalloc statistics ___\n$/);
  assert.ok(stats.cached > 0, "the thread cache holds the rest of the fills");
  for (const k of ["allocated", "cached", "active", "metadata", "mapped", "capacity"]) {
    assert.match(text, new RegExp(`^${k}: +${(stats as unknown as Record<string, number>)[k]} +\\(`, "m"), k);
  }
  assert.match(text, /^threads: 1/m);
  assert.match(text, /^huge: +3145728 +1 +0 +1$/m);
  assert.match(text, /^arenas\[0\]:$/m);
  assert.match(text, /^ {2}large: +102400 +1 +0 +1$/m);
  const bins = text.split("\n").filter((l) => /^ +\d+ +\d+ +\d+ +\d+ +\d+ +[\d.-]+ /.test(l));
  assert.deepEqual(bins.map((l) => Number(l.trim().split(/ +/)[0])), [48, 3072], "only the classes that were used");
});

test("bin lines show regions per run, run pages, curregs, curruns, kept runs and utilization = curregs / (curruns * nregs)", () => {
  const { heap } = busyHeap();
  const stats = heap.stats();
  const text = formatStats(stats);
  const line = text.split("\n").find((l) => /^ +48 /.test(l))!;
  const [size, regs, pgs, curregs, curruns, kept, util] = line.trim().split(/ +/);
  assert.deepEqual([size, regs, pgs], ["48", "256", "3"]);
  assert.ok(Number(curregs) >= 300);
  const bin = stats.arenas[0].bins.find((b) => b.size === 48)!;
  assert.deepEqual([Number(curregs), Number(curruns), Number(kept)], [bin.curregs, bin.curruns, bin.keptRuns]);
  assert.equal(util, (Number(curregs) / (Number(curruns) * 256)).toFixed(3));
});

test("kept empty runs show in the totals, in their arena's line and in their class's kept column", () => {
  const heap = Heap.create({ initialBytes: 4 << 20 });
  const ps: number[] = [];
  for (let i = 0; i < 2000; i++) ps.push(heap.malloc(48));
  for (const p of ps) heap.free(p);
  heap.flush();
  const stats = heap.stats();
  const bin = stats.arenas[0].bins.find((b) => b.size === 48)!;
  assert.ok(bin.keptRuns >= 7, `2000 blocks of 48 B fill 8 runs of 256: ${bin.keptRuns} kept`);
  assert.equal(stats.kept, stats.arenas[0].kept);
  assert.equal(stats.kept, bin.keptRuns * 3 * 4096);
  const text = formatStats(stats);
  assert.match(text, new RegExp(`^kept: +${stats.kept} +\\(`, "m"));
  assert.match(text, new RegExp(`kept \\(empty runs\\): ${stats.kept} `));
  const line = text.split("\n").find((l) => /^ +48 /.test(l))!;
  assert.equal(Number(line.trim().split(/ +/)[5]), bin.keptRuns);
  // Old stats (saved before kept runs existed) still print.
  const old = JSON.parse(JSON.stringify(stats));
  delete old.kept;
  for (const a of old.arenas) {
    delete a.kept;
    for (const b of a.bins) delete b.keptRuns;
  }
  assert.doesNotMatch(formatStats(old), /^kept:/m);
});

test("columns line up: every row of a table ends at the same column", () => {
  const { heap } = busyHeap();
  const lines = formatStats(heap.stats()).split("\n");
  const start = lines.findIndex((l) => l.trimStart().startsWith("bins:"));
  const table = [lines[start]];
  for (let i = start + 1; i < lines.length && /^ +\d/.test(lines[i]); i++) table.push(lines[i]);
  assert.ok(table.length >= 3);
  assert.equal(new Set(table.map((l) => l.length)).size, 1, table.join("\n"));
});

test("arenas with no activity are left out, but arena 0 always shows", () => {
  const heap = Heap.create({ arenas: 5, initialBytes: 1 << 20 });
  const text = formatStats(heap.stats());
  assert.match(text, /^arenas\[0\]:$/m);
  assert.doesNotMatch(text, /^arenas\[[1-4]\]:$/m);
  assert.match(text, /\(4 arenas with no activity not shown\)/);
});

test("it formats a stats object that went through JSON (saved stats, or stats posted from a worker)", () => {
  const { heap } = busyHeap();
  const stats = heap.stats();
  const again = JSON.parse(JSON.stringify(stats)) as HeapStats;
  assert.equal(formatStats(again), formatStats(stats));
});

test("formatBytes: binary units, three significant digits", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(812), "812 B");
  assert.equal(formatBytes(1536), "1.50 KiB");
  assert.equal(formatBytes(14.2 * 2 ** 20), "14.2 MiB");
  assert.equal(formatBytes(2 ** 30), "1.00 GiB");
});
