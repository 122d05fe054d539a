// format: a text report of a heap's statistics, laid out like jemalloc's malloc_stats_print.
//
//   ___ Begin sabmalloc statistics ___
//   totals: allocated, cached (in thread caches), active, kept (empty runs), metadata, mapped, capacity,
//           threads, chunks
//   huge:   allocated / nmalloc / nfree
//   arenas[i]:              (arena 0 always; others only when they have seen activity)
//     assigned threads, chunks, active
//     small / large / total: allocated / nmalloc / nfree
//     bins: one line per size class that has seen activity
//   ___ End sabmalloc statistics ___
//
// Pure formatting: it reads only the HeapStats object it is given (from Heap.stats(), or from
// JSON.parse of one), so it works on any thread and on saved stats.

import type { ArenaStats, BinStats, ClassCounts, HeapStats } from "./stats.js";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** `bytes` in binary units with three significant digits: 0 B, 812 B, 14.2 MiB, 1.00 GiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const sign = bytes < 0 ? "-" : "";
  if (u === 0) return `${sign}${v} B`;
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${sign}${v.toFixed(digits)} ${UNITS[u]}`;
}

/**
 * A table with right-aligned columns (the first column left-aligned), as lines of text; no header
 * line when `header` is null.
 */
function table(header: string[] | null, rows: (string | number)[][], indent = ""): string[] {
  const cells = [...(header ? [header] : []), ...rows.map((r) => r.map(String))];
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  return cells.map((r) =>
    indent + r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  ").trimEnd(),
  );
}

function countsRow(name: string, c: ClassCounts): (string | number)[] {
  return [name, c.allocated, c.nmalloc, c.nfree, c.nmalloc - c.nfree];
}

function activeArena(a: ArenaStats, index: number): boolean {
  return index === 0 || a.threads > 0 || a.small.nmalloc > 0 || a.large.nmalloc > 0 || a.small.allocated > 0 ||
    a.large.allocated > 0;
}

function activeBin(b: BinStats): boolean {
  return b.nmalloc > 0 || b.curregs > 0 || b.curruns > 0;
}

/** Regions in use over regions in the class's runs: how well its runs are packed. */
function utilization(b: BinStats): string {
  if (b.curruns === 0) return "-";
  const u = b.curregs / (b.curruns * b.nregs); // kept empty runs count: they hold pages
  return u >= 1 ? "1" : u.toFixed(3);
}

function binLines(bins: BinStats[]): string[] {
  const rows = bins.filter(activeBin).map((b) => [
    "", b.size, b.nregs, b.runPages, b.curregs, b.curruns, b.keptRuns ?? "-", utilization(b), b.nmalloc, b.nfree, b.nfills, b.nflushes,
  ]);
  if (rows.length === 0) return ["  bins: none used"];
  return table(
    ["bins:", "size", "regs", "pgs", "curregs", "curruns", "kept", "util", "nmalloc", "nfree", "nfills", "nflushes"],
    rows,
    "  ",
  );
}

/**
 * A text report of `stats` (from Heap.stats()), like jemalloc's malloc_stats_print: the totals, then
 * for each arena (arena 0 always, others when they have seen activity) its threads, the small and
 * large counters, and a table of the size classes that have seen activity: region size, regions per
 * run, pages per run, regions and runs now, empty runs kept, utilization (curregs / (curruns * regs)), and the
 * nmalloc / nfree / fill / flush counters.
 */
export function formatStats(stats: HeapStats): string {
  const out: string[] = [];
  out.push("___ Begin sabmalloc statistics ___");
  const totals: [string, number][] = [
    ["allocated", stats.allocated],
    ["cached", stats.cached],
    ["active", stats.active],
    ...(typeof stats.kept === "number" ? [["kept", stats.kept] as [string, number]] : []),
    ["metadata", stats.metadata],
    ["mapped", stats.mapped],
    ["capacity", stats.capacity],
  ];
  const rows: (string | number)[][] = totals.map(([k, v]) => [k + ":", v, `(${formatBytes(v)})`]);
  out.push(...table(null, rows));
  let line = `threads: ${stats.threads}`;
  if (typeof stats.chunks === "number") {
    line += `, chunks: ${stats.chunks}`;
    if (typeof stats.poolChunks === "number") line += ` (${stats.poolChunks} unused, in the pool)`;
  }
  if (typeof stats.lateDoubleFrees === "number" && stats.lateDoubleFrees > 0) {
    line += `, double frees found late: ${stats.lateDoubleFrees}`;
  }
  out.push(line);
  if (stats.active > 0) {
    out.push(`fragmentation: ${(100 * (1 - stats.allocated / stats.active)).toFixed(1)}% of active bytes hold no live allocation`);
  }
  out.push("");
  out.push(...table(["", "allocated", "nmalloc", "nfree", "live"], [countsRow("huge:", stats.huge)]));
  stats.arenas.forEach((a, i) => {
    if (!activeArena(a, i)) return;
    out.push("");
    out.push(`arenas[${i}]:`);
    let head = `  assigned threads: ${a.threads}`;
    if (typeof a.chunks === "number") head += `, chunks: ${a.chunks}`;
    if (typeof a.active === "number") head += `, active: ${a.active} (${formatBytes(a.active)})`;
    if (typeof a.kept === "number" && a.kept > 0) head += `, kept (empty runs): ${a.kept} (${formatBytes(a.kept)})`;
    out.push(head);
    const total: ClassCounts = {
      allocated: a.small.allocated + a.large.allocated,
      nmalloc: a.small.nmalloc + a.large.nmalloc,
      nfree: a.small.nfree + a.large.nfree,
    };
    out.push(...table(["", "allocated", "nmalloc", "nfree", "live"],
      [countsRow("small:", a.small), countsRow("large:", a.large), countsRow("total:", total)], "  "));
    out.push(...binLines(a.bins));
  });
  const skipped = stats.arenas.filter((a, i) => !activeArena(a, i)).length;
  if (skipped > 0) {
    out.push("");
    out.push(`(${skipped} arena${skipped === 1 ? "" : "s"} with no activity not shown)`);
  }
  out.push("___ End sabmalloc statistics ___");
  return out.join("\n") + "\n";
}
