// heapmap: an SVG picture of a heap, one row per chunk, one cell per page.
//
//   sabmalloc heap: 24 chunks, allocated 14.2 MiB, active 17.9 MiB, ...       <- title, totals
//   [legend: header | thread cache (or table of kept runs) | free | small 8 ... 14336 | large | huge | unused chunk]
//
//   chunk 0  arena 0  |hhhhh|HHH|ss|s|s|ssss|LLLLLLLLL|            free              |  41%
//   chunk 1  arena 1  |hhhhh|sss|LLLL|ss|        free        |s|s|ssssss|s|          |  62%
//   chunk 2  huge     |HUGE HUGE HUGE HUGE HUGE HUGE HUGE HUGE HUGE HUGE HUGE HUGE HUGE| 100%
//   chunks 3-9 unused |//////////////////////////////////////////////////////////////|   0%
//                      ^ 256 cells of 4 px: page 0 .. page 255                          ^ live bytes
//
// A small run (slab) is tinted by its size class (hue: red for 8 bytes through blue for 14336) and
// filled from the bottom in a dark shade as far as its regions are in use, so half-empty runs -
// fragmentation - show as pale cells with low bars. Gaps between cells mark run boundaries.

import { formatBytes } from "./format.js";
import type { Heap } from "./heap.js";
import { pageStates, RunView } from "./inspect.js";
import { L } from "./layout.js";
import { BIN_SIZE, NBINS } from "./sizeclass.js";

const CELL = 4; // px per page
const ROW = 12; // px per chunk row
const GAP = 3; // px between rows
const CHAR = 6.7; // px per character of the 11 px monospace font
const RIGHT = 84; // px of the live-bytes column on the right: a bar and a percentage
const PAD = 12;
const GRID_W = L.CHUNK_PAGES * CELL;

const COLORS = {
  header: "#262626",
  tcache: "#8c8c8c",
  free: "#ffffff",
  large: "hsl(275,45%,42%)",
  huge: "hsl(320,60%,32%)",
  slack: "hsl(320,40%,85%)",
  corrupt: "#ff00ff",
};

/** Hue of small size class `bin`: 0 (red) for the smallest through 225 (blue) for the largest. */
function hue(bin: number): number {
  return Math.round((225 * bin) / (NBINS - 1));
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** Live bytes in a chunk's runs: regions in use in small runs, large and huge pages. */
function liveBytes(runs: RunView[]): number {
  let live = 0;
  for (const r of runs) {
    if (r.kind === "small") live += (r.nregs! - r.nfree!) * r.size!;
    else if (r.kind === "large" || r.kind === "huge") live += r.pages * L.PAGE_SIZE;
  }
  return live;
}

/** The <rect>s of one run at row top `y`, the grid starting at `gx`. */
function runSvg(r: RunView, gx: number, y: number): string {
  const x = gx + r.page * CELL;
  const w = r.pages * CELL - 1; // 1 px gap: run boundaries stay visible
  switch (r.kind) {
    case "small": {
      const used = r.nregs! - r.nfree!;
      const h = used === 0 ? 0 : Math.max(1, Math.round((ROW * used) / r.nregs!));
      const kept = used === 0 ? " (an empty run its arena keeps for the class)" : "";
      const title = `<title>${r.size} B class: ${used}/${r.nregs} regions in use, ${r.pages} page${r.pages === 1 ? "" : "s"}${kept}</title>`;
      const fg = h > 0 ? `<rect x="${x}" y="${y + ROW - h}" width="${w}" height="${h}" class="S${r.bin}"/>` : "";
      return `<g><rect x="${x}" y="${y}" width="${w}" height="${ROW}" class="s${r.bin}"/>${fg}${title}</g>`;
    }
    case "unused":
      return `<rect x="${x}" y="${y}" width="${w}" height="${ROW}" fill="url(#hatch)"/>`;
    case "large":
    case "huge":
      return `<rect x="${x}" y="${y}" width="${w}" height="${ROW}" class="${r.kind}"><title>${r.kind}: ${r.pages} pages (${formatBytes(r.pages * L.PAGE_SIZE)})</title></rect>`;
    default:
      return `<rect x="${x}" y="${y}" width="${w}" height="${ROW}" class="${r.kind}"/>`;
  }
}

/**
 * An SVG picture of `heap`: one row per 1 MiB chunk, one cell per 4 KiB page, coloured by what the
 * page holds - chunk header and other allocator metadata, free pages, small runs (hue by size class,
 * the dark part showing how many of the run's regions are in use), large runs, huge allocations,
 * and unused chunks in the pool - with a legend, a title line of totals, and the live bytes of each
 * chunk on the right. Runs of three or more unused chunks are drawn as one row.
 *
 * The snapshot is taken with all of the heap's locks held (a few milliseconds on a big heap).
 * Small regions held in thread caches count as in use.
 */
export function heapMap(heap: Heap): string {
  const stats = heap.stats();
  const snap = pageStates(heap);

  // Rows: chunks, with runs of >= 3 unused chunks merged.
  interface Row { label: string; runs: RunView[]; live: number; count: number }
  const rows: Row[] = [];
  const chunks = snap.chunks;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    if (c.kind === "unused") {
      let j = i;
      while (j + 1 < chunks.length && chunks[j + 1].kind === "unused") j++;
      if (j - i >= 2) {
        rows.push({ label: `chunks ${c.index}-${chunks[j].index} unused`, runs: c.runs, live: 0, count: j - i + 1 });
        i = j;
        continue;
      }
    }
    const what = c.kind === "arena" ? `arena ${c.arena}` : c.kind === "huge" ? (c.hugeStart === c.index ? "huge" : `huge (from ${c.hugeStart})`) : "unused";
    rows.push({ label: `chunk ${c.index}  ${what}`, runs: c.runs, live: liveBytes(c.runs), count: 1 });
  }

  const LABEL = Math.max(150, Math.ceil(Math.max(...rows.map((r) => r.label.length)) * CHAR) + 12);
  const GX = PAD + LABEL; // the grid's left edge
  const WIDTH = Math.max(GX + GRID_W + RIGHT + PAD, 1240);
  const titleY = PAD + 14;
  const subY = titleY + 18;
  const legendY = subY + 14;
  const gridY = legendY + 62;
  const height = gridY + rows.length * (ROW + GAP) + PAD;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11">`);
  const css: string[] = [
    `text{fill:#222}`, `.t{font-size:14px;font-weight:bold}`, `.m{fill:#555}`,
    `.header{fill:${COLORS.header}}`, `.tcache{fill:${COLORS.tcache}}`, `.free{fill:${COLORS.free}}`,
    `.large{fill:${COLORS.large}}`, `.huge{fill:${COLORS.huge}}`, `.slack{fill:${COLORS.slack}}`,
    `.corrupt{fill:${COLORS.corrupt}}`,
  ];
  for (let b = 0; b < NBINS; b++) {
    css.push(`.s${b}{fill:hsl(${hue(b)},70%,87%)}`, `.S${b}{fill:hsl(${hue(b)},75%,40%)}`);
  }
  out.push(`<style>${css.join("")}</style>`);
  out.push(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e4e4e4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c4c4c4" stroke-width="3"/></pattern></defs>`);
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#fafafa"/>`);

  // Title and totals.
  const frag = stats.active > 0 ? (100 * (1 - stats.allocated / stats.active)).toFixed(1) : "0.0";
  out.push(`<text x="${PAD}" y="${titleY}" class="t">${esc(
    `sabmalloc heap: ${plural(snap.chunks.length, "chunk")} of 1 MiB, ` +
    `allocated ${formatBytes(stats.allocated)}, active ${formatBytes(stats.active)}, ` +
    `metadata ${formatBytes(stats.metadata)}, mapped ${formatBytes(stats.mapped)}`)}</text>`);
  out.push(`<text x="${PAD}" y="${subY}" class="m">${esc(
    `capacity ${formatBytes(stats.capacity)}, ${plural(stats.threads, "thread")}, ` +
    `${plural(stats.arenas.length, "arena")}; ${frag}% of active bytes hold no live data (fragmentation)`)}</text>`);

  // Legend.
  const items: [string, string][] = [
    ["header", "chunk header / heap header"], ["tcache", "thread cache / table of kept runs"], ["free", "free page"],
    ["large", "large run"], ["huge", "huge block"], ["slack", "huge: unused rest of its chunks"], ["unused", "unused chunk (pool)"],
  ];
  let lx = PAD;
  for (const [cls, text] of items) {
    const fill = cls === "unused" ? ` fill="url(#hatch)"` : ` class="${cls}"`;
    out.push(`<rect x="${lx}" y="${legendY}" width="12" height="12"${fill} stroke="#999" stroke-width="0.5"/>`);
    out.push(`<text x="${lx + 16}" y="${legendY + 10}">${esc(text)}</text>`);
    lx += 16 + text.length * 6.7 + 14;
  }
  // Small classes: one swatch per class, half pale (the run) and half dark (regions in use).
  const sy = legendY + 22;
  out.push(`<text x="${PAD}" y="${sy + 10}">small run, by size class:</text>`);
  const sx = PAD + 180;
  for (let b = 0; b < NBINS; b++) {
    const x = sx + b * 14;
    out.push(`<rect x="${x}" y="${sy}" width="13" height="12" class="s${b}"/><rect x="${x}" y="${sy + 6}" width="13" height="6" class="S${b}"/>`);
  }
  for (const b of [0, 8, 12, 16, 20, 24, 28, 35]) {
    const label = BIN_SIZE[b] >= 1024 ? `${BIN_SIZE[b] / 1024}K` : String(BIN_SIZE[b]);
    out.push(`<text x="${sx + b * 14 + 6.5}" y="${sy + 24}" text-anchor="middle" font-size="9">${label}</text>`);
  }
  const nx = sx + NBINS * 14 + 14;
  out.push(`<text x="${nx}" y="${sy + 10}" class="m">pale: the run's pages; dark, from the bottom: share of its regions in use</text>`);

  // Column headings.
  const hy = gridY - 6;
  out.push(`<text x="${GX}" y="${hy}" class="m" font-size="9">page 0</text>`);
  out.push(`<text x="${GX + GRID_W}" y="${hy}" class="m" font-size="9" text-anchor="end">page 255</text>`);
  out.push(`<text x="${WIDTH - PAD}" y="${hy}" class="m" font-size="9" text-anchor="end">live bytes</text>`);

  // Rows.
  rows.forEach((r, i) => {
    const y = gridY + i * (ROW + GAP);
    out.push(`<text x="${PAD}" y="${y + ROW - 2}">${esc(r.label)}</text>`);
    out.push(`<rect x="${GX - 1}" y="${y - 1}" width="${GRID_W + 1}" height="${ROW + 2}" fill="#d0d0d0"/>`);
    for (const run of r.runs) out.push(runSvg(run, GX, y));
    const share = r.live / (L.CHUNK_SIZE * r.count);
    const bx = GX + GRID_W + 10;
    out.push(`<rect x="${bx}" y="${y + 2}" width="40" height="${ROW - 4}" fill="#e0e0e0"/>`);
    if (share > 0) out.push(`<rect x="${bx}" y="${y + 2}" width="${(40 * share).toFixed(1)}" height="${ROW - 4}" fill="#555"/>`);
    out.push(`<text x="${WIDTH - PAD}" y="${y + ROW - 2}" text-anchor="end">${Math.round(100 * share)}%</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
