// inspect: a snapshot of what every page of a heap is doing, for pictures (heapmap.ts) and tools.
//
// Internal: exported from the package for tools, but not part of the contract; its shape may change.
//
// It reads the same metadata that the allocator uses (layout.ts): the chunk table in the heap
// header, and the page map at the start of each arena chunk.
//
//   chunk table (1 word a chunk)         arena chunk's page map (16 bytes a page)
//   +-------+-------+-------+-----+      +------+------+-------+-------+
//   | ARENA | HUGE  | BODY  | FREE|      | info | left | right | nfree |  page 0, 1, ... 255
//   +-------+-------+-------+-----+      +------+------+-------+-------+
//
// and turns them into runs: [first page, length, what]. Everything is read with all the locks taken
// (every arena in index order, then the global lock, as check() does), so the snapshot is
// consistent; walks are bounded, so a corrupted page map gives "corrupt" pages, never a hang.

import { lockAll, unlockAll } from "./arena.js";
import { chunkArg, chunkEntry, chunkKind, firstDataPage, hugeLead } from "./chunk.js";
import { HeapError } from "./errors.js";
import type { Heap } from "./heap.js";
import { L } from "./layout.js";
import { BIN_NREGS, BIN_RUN_PAGES, BIN_SIZE, NBINS } from "./sizeclass.js";
import { chunkWord, Space } from "./space.js";

/** What a run of pages is used for. @internal */
export type RunKind =
  | "header" // the chunk header (page map, bitmaps) and, in chunk 0, the heap header
  | "tcache" // a thread's cache block (allocator metadata)
  | "free" // free pages of an arena chunk
  | "small" // a run (slab) of small regions of one size class
  | "large" // one large allocation
  | "huge" // pages of a huge allocation
  | "slack" // a huge allocation's chunks' pages it does not use: the rest of its last chunk, an inset block's header pages
  | "unused" // a chunk in the global pool
  | "corrupt"; // metadata that makes no sense (check() says what)

/** A run of pages inside one chunk. @internal */
export interface RunView {
  /** First page of the run inside its chunk (0 .. 255). */
  page: number;
  /** Pages in the run (within this chunk). */
  pages: number;
  kind: RunKind;
  /** small: size class index, region size, regions in the run, regions free now. */
  bin?: number;
  size?: number;
  nregs?: number;
  nfree?: number;
}

/** One chunk of the heap and its runs. @internal */
export interface ChunkView {
  /** Chunk index: the chunk starts at base + index * CHUNK_SIZE. */
  index: number;
  kind: "arena" | "huge" | "unused";
  /** arena: its owner. */
  arena?: number;
  /** huge: the chunk where the allocation starts (== index on its first chunk). */
  hugeStart?: number;
  /** The chunk's pages, as runs in address order, covering all 256 pages. */
  runs: RunView[];
}

/** What pageStates() saw. @internal */
export interface HeapSnapshot {
  /** Byte offset of the heap in its buffer. */
  base: number;
  chunks: ChunkView[];
}

const LOCK_WAIT_MS = 5000;

/** The Space behind a Heap (its private field `s`): inspect is a friend of Heap. @internal */
export function spaceOf(heap: Heap): Space {
  const h = heap as unknown as { s: Space; detached: boolean };
  if (h.detached) throw new HeapError("DETACHED", "this Heap was detached from its heap");
  return h.s;
}

/** A consistent picture of every page of the heap, taken under all of its locks. @internal */
export function pageStates(heap: Heap): HeapSnapshot {
  const s = spaceOf(heap);
  const taken = lockAll(s, LOCK_WAIT_MS, "heap map");
  try {
    s.refresh();
    return snapshotLocked(s);
  } finally {
    unlockAll(s, taken);
  }
}

function snapshotLocked(s: Space): HeapSnapshot {
  const n = Math.min(s.nchunks, Math.floor((s.bytes - s.hb) / L.CHUNK_SIZE));
  const chunks: ChunkView[] = [];
  for (let c = 0; c < n; c++) {
    const e = chunkEntry(s, c);
    switch (chunkKind(e)) {
      case L.CK_FREE:
        chunks.push({ index: c, kind: "unused", runs: [{ page: 0, pages: L.CHUNK_PAGES, kind: "unused" }] });
        break;
      case L.CK_ARENA:
        chunks.push({ index: c, kind: "arena", arena: chunkArg(e), runs: arenaChunkRuns(s, c) });
        break;
      case L.CK_HUGE:
        chunks.push(hugeChunk(c, c, e));
        break;
      default: {
        // A later chunk of a huge block: its length is on the block's first chunk.
        const first = c - chunkArg(e);
        const head = first >= 0 ? chunkEntry(s, first) : 0;
        if (first < 0 || chunkKind(head) !== L.CK_HUGE) {
          chunks.push({ index: c, kind: "huge", runs: [{ page: 0, pages: L.CHUNK_PAGES, kind: "corrupt" }] });
        } else {
          chunks.push(hugeChunk(c, first, head));
        }
      }
    }
  }
  return { base: s.hb, chunks };
}

/**
 * Chunk `c` of the huge block whose first chunk is `first`, with entry `head`: its pages, and the
 * slack around them (an inset block's unused header pages, the rest of the last chunk).
 */
function hugeChunk(c: number, first: number, head: number): ChunkView {
  const from = hugeLead(head) - (c - first) * L.CHUNK_PAGES; // the block's pages, in this chunk's page numbers
  const start = Math.max(0, Math.min(L.CHUNK_PAGES, from));
  const end = Math.max(start, Math.min(L.CHUNK_PAGES, from + chunkArg(head)));
  const runs: RunView[] = [];
  if (start > 0) runs.push({ page: 0, pages: start, kind: "slack" });
  if (end > start) runs.push({ page: start, pages: end - start, kind: "huge" });
  if (end < L.CHUNK_PAGES) runs.push({ page: end, pages: L.CHUNK_PAGES - end, kind: "slack" });
  return { index: c, kind: "huge", hugeStart: first, runs };
}

/** The runs of arena chunk `c`, read from its page map. */
function arenaChunkRuns(s: Space, c: number): RunView[] {
  const m = s.i32;
  const map = chunkWord(s, c);
  const runs: RunView[] = [];
  const first = firstDataPage(s, c);
  runs.push({ page: 0, pages: first, kind: "header" });
  let p = first;
  while (p < L.CHUNK_PAGES) {
    const at = map + p * L.MAP_ENTRY_WORDS;
    const info = m[at + L.MAP_INFO];
    const state = info & L.PI_STATE_MASK;
    let len = (info >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK;
    const bin = (info >>> L.PI_BIN_SHIFT) & L.PI_BIN_MASK;
    if (state === L.PS_SMALL) len = bin < NBINS ? BIN_RUN_PAGES[bin] : 0;
    if ((info & L.PI_HEAD) === 0 || len < 1 || p + len > L.CHUNK_PAGES) {
      runs.push({ page: p, pages: 1, kind: "corrupt" });
      p++;
      continue;
    }
    if (state === L.PS_SMALL) {
      runs.push({ page: p, pages: len, kind: "small", bin, size: BIN_SIZE[bin], nregs: BIN_NREGS[bin], nfree: m[at + L.MAP_NFREE] });
    } else {
      runs.push({ page: p, pages: len, kind: state === L.PS_FREE ? "free" : state === L.PS_LARGE ? "large" : "tcache" });
    }
    p += len;
  }
  return runs;
}
