// check: the heap verifier. Walks every chunk, run, bitmap, tree, thread slot and counter, and
// proves them consistent with each other, or throws HeapError CORRUPTION saying where.
//
// What it proves:
//   - the header is a heap's header, its sizes match its layout; every lock word holds one of its
//     three values;
//   - the chunk table: kinds and arguments in range, huge blocks whole, the pool count right;
//   - each arena chunk's page map tiles the chunk with runs: lengths on first and last pages, small
//     runs of the right length with page indexes 0..n-1, free runs maximal (no two adjacent);
//   - each small run: free count == bitmap population, no bits past its regions, never empty;
//   - the free-run tree holds exactly the free runs of the arena's chunks, in order; each bin's tree
//     and runcur hold exactly its non-full runs;
//   - the counters (regions, runs, pages, bytes) equal what the walk counted;
//   - thread slots and their cache blocks; this thread's cache entries are live regions of their
//     class, marked freed, with no duplicates.
// It runs with every lock taken (arenas in index order, then the global lock), each taken with a
// time limit: a lock that stays held (its holder died) is reported, not waited on forever. Every
// walk is bounded, so garbage metadata makes it throw, never hang or read past the buffer.

import { allLocks, ARENA_WORDS, arenaWord, binWord, infoBin, infoSize, isKeptTable, keptTable, lockAll, unlockAll } from "./arena.js";
import { hasFreeMark } from "./bin.js";
import { bitmapCount, bitmapGet } from "./bitmap.js";
import { chunkArg, chunkEntry, chunkKind, firstDataPage, hugeSpan, zeroRangeOf } from "./chunk.js";
import { corruption } from "./errors.js";
import { L } from "./layout.js";
import { lockWordValid } from "./lock.js";
import { BIN_BITMAP_WORDS, BIN_NREGS, BIN_RUN_PAGES, BIN_SIZE, NBINS, regionIndex } from "./sizeclass.js";
import { addrChunk, addrPage, auxIdx, chunkWord, mapIdx, pageAddr, Space } from "./space.js";
import { largeBinBytes, largeBinPages, TC_CAP, TC_LARGE, TC_PAGES, TC_STACK, tcCount, tcRec } from "./tcache.js";
import { treeWalk } from "./tree.js";

const LOCK_WAIT_MS = 5000;
const STATE_NAMES = ["free", "small", "large", "meta"];

/** What the walk of one arena's chunks counted. */
interface ArenaTally {
  freeHeads: Set<number>;
  nonFull: Set<number>[];
  /** Empty runs: the arena's kept runs (arena.ts), when it has a table of them. */
  kept: Set<number>[];
  /** The arena's table of kept runs (its first page), or 0. */
  table: number;
  curregs: Int32Array;
  curruns: Int32Array;
  activePages: number;
  metaPages: number;
  metaRuns: number[];
  largeBytes: number;
  chunks: number;
}

export function checkHeap(s: Space, ownCache: number): void {
  const m = s.i32;
  if (m[s.hdr + L.H_MAGIC] !== L.HEAP_MAGIC) throw corruption("heap header: magic number is gone");
  checkHeaderLayout(s);
  for (const at of allLocks(s)) {
    if (!lockWordValid(m[at], m[s.hdr + L.H_NSLOTS])) throw corruption(`lock word at byte ${at * 4} holds ${m[at]}`);
  }
  const taken = lockAll(s, LOCK_WAIT_MS, "check()");
  try {
    // With every lock held nothing grows: catch up with growth made before, then walk.
    const nchunks = Atomics.load(m, s.hdr + L.H_NCHUNKS);
    if (!(nchunks >= 1 && nchunks <= m[s.hdr + L.H_MAX_CHUNKS] && s.hb + nchunks * L.CHUNK_SIZE <= s.buffer().byteLength)) {
      throw corruption(`heap header: chunk count ${nchunks} out of range`);
    }
    s.refresh();
    checkLocked(s, nchunks, ownCache);
  } finally {
    unlockAll(s, taken);
  }
}

/**
 * The header's sizes against the offsets laid out from them when the heap was made (and read by
 * this thread when it attached): arenas and slots are counted before their lock words are trusted.
 */
function checkHeaderLayout(s: Space): void {
  const m = s.i32;
  const h = s.hdr;
  if (s.hw + m[h + L.H_CHUNKTAB] !== s.ct || s.hw + m[h + L.H_ARENAS] !== s.ar || s.hw + m[h + L.H_SLOTS] !== s.sl) {
    throw corruption(`heap header: table offsets ${m[h + L.H_CHUNKTAB]}, ${m[h + L.H_ARENAS]}, ${m[h + L.H_SLOTS]} have changed`);
  }
  const maxChunks = m[h + L.H_MAX_CHUNKS];
  const pad = s.ar - s.ct - maxChunks; // the arena records start at an even word
  if (maxChunks < 1 || maxChunks > L.MAX_CHUNKS || (pad !== 0 && pad !== 1)) {
    throw corruption(`heap header: ${maxChunks} chunks at most does not match its chunk table`);
  }
  const narenas = m[h + L.H_NARENAS];
  if (narenas < 1 || s.ar + narenas * ARENA_WORDS !== s.sl) {
    throw corruption(`heap header: ${narenas} arenas do not match the arena records`);
  }
  const nslots = m[h + L.H_NSLOTS];
  const headerPages = m[h + L.H_HEADER_PAGES];
  if (nslots < 1 || s.hw + m[h + L.H_GJOURNAL] !== s.gj || s.gj !== s.sl + nslots * L.SLOT_WORDS ||
      headerPages !== Math.ceil(((s.gj + L.GJ_WORDS + L.ROOTS_WORDS - s.hdr) * 4) / L.PAGE_SIZE)) {
    throw corruption(`heap header: ${nslots} thread slots do not match its ${headerPages} pages`);
  }
}

function checkLocked(s: Space, nchunks: number, ownCache: number): void {
  const m = s.i32;
  const narenas = m[s.hdr + L.H_NARENAS];
  const tallies: ArenaTally[] = [];
  for (let a = 0; a < narenas; a++) {
    tallies.push({
      freeHeads: new Set(), nonFull: Array.from({ length: NBINS }, () => new Set<number>()),
      kept: Array.from({ length: NBINS }, () => new Set<number>()), table: m[arenaWord(s, a) + L.A_EMPTY],
      curregs: new Int32Array(NBINS), curruns: new Int32Array(NBINS),
      activePages: 0, metaPages: 0, metaRuns: [], largeBytes: 0, chunks: 0,
    });
  }
  // ---- The chunk table, and every arena chunk's pages.
  let pool = 0;
  let hugeBytes = 0;
  for (let c = 0; c < nchunks; c++) {
    const e = chunkEntry(s, c);
    const kind = chunkKind(e);
    if (kind === L.CK_FREE) {
      if (c === 0) throw corruption("chunk 0 (the heap header's) is marked unused");
      pool++;
    } else if (kind === L.CK_ARENA) {
      const a = chunkArg(e);
      if (a >= narenas) throw corruption(`chunk ${c}: arena ${a} does not exist`);
      tallies[a].chunks++;
      checkArenaChunk(s, c, tallies[a]);
    } else if (kind === L.CK_HUGE) {
      const npages = chunkArg(e);
      const n = hugeSpan(e);
      if (npages < 1 || c + n > nchunks) throw corruption(`chunk ${c}: huge block of ${npages} pages overruns the heap`);
      if (c === 0) throw corruption("chunk 0 (the heap header's) is marked a huge block's");
      for (let k = 1; k < n; k++) {
        const b = chunkEntry(s, c + k);
        if (chunkKind(b) !== L.CK_HUGE_BODY || chunkArg(b) !== k) {
          throw corruption(`chunk ${c + k}: expected part ${k} of the huge block at chunk ${c}, found entry ${b}`);
        }
      }
      hugeBytes += npages * L.PAGE_SIZE;
      c += n - 1;
    } else if (kind === L.CK_HUGE_BODY) {
      throw corruption(`chunk ${c}: part of a huge block with no first chunk`);
    }
  }
  if (pool !== m[s.hdr + L.H_POOL_CHUNKS]) throw corruption(`chunk pool: ${pool} unused chunks, header says ${m[s.hdr + L.H_POOL_CHUNKS]}`);
  if (hugeBytes !== s.f64[(s.hdr + L.H_HUGE_ALLOCATED) >>> 1]) {
    throw corruption(`huge: blocks total ${hugeBytes} bytes, counter says ${s.f64[(s.hdr + L.H_HUGE_ALLOCATED) >>> 1]}`);
  }
  // ---- Each arena's trees and counters against the walk.
  const maxNode = nchunks * L.CHUNK_PAGES;
  for (let a = 0; a < narenas; a++) checkArena(s, a, tallies[a], maxNode);
  checkSlots(s, tallies, ownCache);
}

/** Walks the page map of arena chunk `c`, run by run. */
function checkArenaChunk(s: Space, c: number, t: ArenaTally): void {
  const m = s.i32;
  const base = c * L.CHUNK_PAGES;
  const first = firstDataPage(s, c);
  const where = (p: number): string => `chunk ${c} page ${p}`;
  const head = m[mapIdx(s, base)];
  if ((head & L.PI_STATE_MASK) !== L.PS_META || (head & L.PI_HEAD) === 0 || infoSize(head) !== first) {
    throw corruption(`${where(0)}: the chunk header run is damaged (info ${head})`);
  }
  // Every page that says ZERO lies in the chunk's ZERO range (which may be wider: layout.ts).
  const zr = m[chunkWord(s, c) + L.CHUNK_ZERO_RANGE];
  const tight = zeroRangeOf(s, c);
  if (tight !== 0 && ((zr & L.ZERO_LO_MASK) > (tight & L.ZERO_LO_MASK) || zr >>> L.ZERO_HI_SHIFT < tight >>> L.ZERO_HI_SHIFT)) {
    throw corruption(`${where(0)}: pages ${tight & L.ZERO_LO_MASK}-${(tight >>> L.ZERO_HI_SHIFT) - 1} say ZERO, outside the chunk's ZERO range (word ${zr})`);
  }
  let prevFree = false;
  for (let p = first; p < L.CHUNK_PAGES;) {
    const g = base + p;
    const info = m[mapIdx(s, g)];
    const state = info & L.PI_STATE_MASK;
    if ((info & L.PI_HEAD) === 0) throw corruption(`${where(p)}: a run starts here but the page is no run head (info ${info})`);
    let len: number;
    if (state === L.PS_SMALL) {
      const bin = infoBin(info);
      if (bin >= NBINS) throw corruption(`${where(p)}: small run of class ${bin}, there are ${NBINS}`);
      if (infoSize(info) !== 0) throw corruption(`${where(p)}: first page of a small run has index ${infoSize(info)}`);
      len = BIN_RUN_PAGES[bin];
      if (p + len > L.CHUNK_PAGES) throw corruption(`${where(p)}: small run overruns its chunk`);
      for (let i = 1; i < len; i++) {
        const pi = m[mapIdx(s, g + i)];
        if ((pi & (L.PI_STATE_MASK | L.PI_HEAD)) !== L.PS_SMALL || infoBin(pi) !== bin || infoSize(pi) !== i) {
          throw corruption(`${where(p + i)}: expected page ${i} of the class ${BIN_SIZE[bin]} run at page ${p} (info ${pi})`);
        }
      }
      checkSmallRun(s, g, bin, t, where(p));
    } else {
      len = infoSize(info);
      if (len < 1 || p + len > L.CHUNK_PAGES) throw corruption(`${where(p)}: ${STATE_NAMES[state]} run of ${len} pages does not fit its chunk`);
      const last = m[mapIdx(s, g + len - 1)];
      if ((last & L.PI_STATE_MASK) !== state || infoSize(last) !== len) {
        throw corruption(`${where(p + len - 1)}: last page of the ${len}-page ${STATE_NAMES[state]} run at page ${p} says ${last}`);
      }
      // Inside a free or large run a page says PS_FREE, or PS_LARGE where a large run wrote it
      // before (arena.ts: markRun writes a large run's first and last page only); inside a large
      // run never ZERO (its pages are the block's). Inside a meta run, its own state.
      for (let i = 1; i < len - 1; i++) {
        const pi = m[mapIdx(s, g + i)];
        const inside = pi & (L.PI_STATE_MASK | L.PI_HEAD);
        const ok = state === L.PS_META ? inside === state
          : (inside === L.PS_FREE || inside === L.PS_LARGE) && (state === L.PS_FREE || (pi & L.PI_ZERO) === 0);
        if (!ok || infoSize(pi) !== 0) {
          throw corruption(`${where(p + i)}: expected the inside of the ${STATE_NAMES[state]} run at page ${p} (info ${pi})`);
        }
      }
      if (state === L.PS_FREE) {
        if (prevFree) throw corruption(`${where(p)}: two free runs side by side were not merged`);
        t.freeHeads.add(g);
      } else if (state === L.PS_LARGE) {
        t.activePages += len;
        t.largeBytes += len * L.PAGE_SIZE;
      } else {
        t.metaPages += len;
        t.metaRuns.push(g);
      }
    }
    prevFree = state === L.PS_FREE;
    p += len;
  }
}

/** Every free region of a small run carries a free mark (layout.ts); a lost one was written after free. */
function checkFreeMarks(s: Space, run: number, bin: number, where: string): void {
  const m = s.i32;
  const bm = auxIdx(s, run);
  const base = pageAddr(s, run);
  for (let i = 0; i < BIN_NREGS[bin]; i++) {
    if (!bitmapGet(m, bm, i)) continue;
    const p = base + i * BIN_SIZE[bin];
    if (!hasFreeMark(m, p)) {
      throw corruption(`${where}: free region ${p} (class ${BIN_SIZE[bin]}) lost its free mark: written after free?`);
    }
  }
}

function checkSmallRun(s: Space, run: number, bin: number, t: ArenaTally, where: string): void {
  const m = s.i32;
  const nregs = BIN_NREGS[bin];
  const nfree = m[mapIdx(s, run) + L.MAP_NFREE];
  const bm = auxIdx(s, run);
  const words = BIN_BITMAP_WORDS[bin];
  const counted = bitmapCount(m, bm, words);
  if (nfree !== counted) throw corruption(`${where}: class ${BIN_SIZE[bin]} run says ${nfree} free regions, its bitmap has ${counted}`);
  if (nfree === nregs && t.table === 0) throw corruption(`${where}: class ${BIN_SIZE[bin]} run is empty but was not returned to its arena`);
  if ((nregs & 31) !== 0 && (m[bm + words - 1] >>> (nregs & 31)) !== 0) {
    throw corruption(`${where}: class ${BIN_SIZE[bin]} run has bitmap bits past its ${nregs} regions`);
  }
  checkFreeMarks(s, run, bin, where);
  t.curregs[bin] += nregs - nfree;
  t.curruns[bin]++;
  t.activePages += BIN_RUN_PAGES[bin];
  if (nfree === nregs) t.kept[bin].add(run);
  else if (nfree > 0) t.nonFull[bin].add(run);
}

/**
 * The arena's table of kept runs (arena.ts): a meta run of its own, and each class's list holds
 * exactly the empty runs of the class, each once, as many as its count says. Bounded: a walk stops
 * at the first node that is not an expected run (a cycle meets a node it has seen).
 */
function checkKept(s: Space, a: number, t: ArenaTally): void {
  const m = s.i32;
  if (t.table === 0) return;
  if (!isKeptTable(s, a, t.table)) throw corruption(`arena ${a}: its table of kept runs, page ${t.table}, is no meta run of the arena`);
  const at = t.metaRuns.indexOf(t.table);
  if (at >= 0) t.metaRuns.splice(at, 1); // not a thread block (checkSlots)
  const tw = keptTable(s, arenaWord(s, a));
  for (let b = 0; b < NBINS; b++) {
    const expect = t.kept[b];
    const seen = new Set<number>();
    for (let run = m[tw + L.ET_HEAD + b]; run !== 0; run = m[mapIdx(s, run) + L.MAP_LEFT]) {
      if (!expect.has(run) || seen.has(run)) {
        throw corruption(`arena ${a} bin ${BIN_SIZE[b]}: its list of kept runs names page ${run}, ${seen.has(run) ? "twice" : "not an empty run of the bin"}`);
      }
      seen.add(run);
    }
    if (seen.size !== expect.size || m[tw + L.ET_COUNT + b] !== expect.size) {
      throw corruption(`arena ${a} bin ${BIN_SIZE[b]}: ${expect.size} empty runs, its list of kept runs holds ${seen.size} and counts ${m[tw + L.ET_COUNT + b]}`);
    }
    // The decay's marks (keptDecay): the low-water mark never above the count, no run due between sections.
    const low = m[tw + L.ET_LOW + b];
    if (!(low >= 0 && low <= expect.size) || m[tw + L.ET_DUE + b] !== 0) {
      throw corruption(`arena ${a} bin ${BIN_SIZE[b]}: the decay's low-water mark ${low} (of ${expect.size} kept runs), ${m[tw + L.ET_DUE + b]} runs due`);
    }
  }
}

function checkArena(s: Space, a: number, t: ArenaTally, maxNode: number): void {
  const m = s.i32;
  const aw = arenaWord(s, a);
  checkKept(s, a, t);
  const seen = new Set<number>();
  const walked = treeWalk(s, m[aw + L.A_RUNS], t.freeHeads.size, maxNode, (node) => {
    if (!t.freeHeads.has(node)) throw corruption(`arena ${a}: free-run tree holds page ${node}, which heads no free run of this arena`);
    seen.add(node);
  });
  if (walked < 0 || seen.size !== t.freeHeads.size) {
    throw corruption(`arena ${a}: free-run tree is damaged or incomplete (${seen.size} of ${t.freeHeads.size} free runs, walk ${walked})`);
  }
  for (let b = 0; b < NBINS; b++) {
    const bw = binWord(s, a, b);
    const cur = m[bw + L.B_RUNCUR];
    const expect = new Set(t.nonFull[b]);
    if (cur !== 0) {
      const info = cur > 0 && cur < maxNode ? m[mapIdx(s, cur)] : -1;
      if ((info & (L.PI_STATE_MASK | L.PI_HEAD)) !== (L.PS_SMALL | L.PI_HEAD) || infoBin(info) !== b ||
          chunkArg(chunkEntry(s, cur >>> L.CHUNK_PAGE_SHIFT)) !== a || chunkKind(chunkEntry(s, cur >>> L.CHUNK_PAGE_SHIFT)) !== L.CK_ARENA) {
        throw corruption(`arena ${a} bin ${BIN_SIZE[b]}: runcur ${cur} is no run of this bin`);
      }
      if (t.kept[b].has(cur)) throw corruption(`arena ${a} bin ${BIN_SIZE[b]}: runcur ${cur} is an empty run`);
      expect.delete(cur);
    }
    const inTree = new Set<number>();
    const n = treeWalk(s, m[bw + L.B_RUNS], expect.size, maxNode, (node) => {
      if (!expect.has(node)) throw corruption(`arena ${a} bin ${BIN_SIZE[b]}: run tree holds page ${node}, not a non-full run of this bin`);
      inTree.add(node);
    });
    if (n < 0 || inTree.size !== expect.size) {
      throw corruption(`arena ${a} bin ${BIN_SIZE[b]}: run tree is damaged or misses non-full runs (${inTree.size} of ${expect.size})`);
    }
    if (m[bw + L.B_CURREGS] !== t.curregs[b]) throw corruption(`arena ${a} bin ${BIN_SIZE[b]}: curregs ${m[bw + L.B_CURREGS]}, runs hold ${t.curregs[b]}`);
    if (m[bw + L.B_CURRUNS] !== t.curruns[b]) throw corruption(`arena ${a} bin ${BIN_SIZE[b]}: curruns ${m[bw + L.B_CURRUNS]}, found ${t.curruns[b]}`);
  }
  let small = 0;
  for (let b = 0; b < NBINS; b++) small += t.curregs[b] * BIN_SIZE[b];
  const expectCounter = (name: string, have: number, want: number): void => {
    if (have !== want) throw corruption(`arena ${a}: ${name} is ${have}, the walk found ${want}`);
  };
  expectCounter("small.allocated", s.f64[(aw + L.A_SMALL_ALLOCATED) >>> 1], small);
  expectCounter("large.allocated", s.f64[(aw + L.A_LARGE_ALLOCATED) >>> 1], t.largeBytes);
  expectCounter("active pages", m[aw + L.A_ACTIVE_PAGES], t.activePages);
  expectCounter("chunk count", m[aw + L.A_NCHUNKS], t.chunks);
  expectCounter("cache block pages", m[aw + L.A_META_PAGES], t.metaPages); // header runs not walked

  const spare = m[aw + L.A_SPARE] - 1;
  if (spare >= 0 && (chunkKind(chunkEntry(s, spare)) !== L.CK_ARENA || chunkArg(chunkEntry(s, spare)) !== a)) {
    throw corruption(`arena ${a}: spare chunk ${spare} is not its own`);
  }
}

function checkSlots(s: Space, tallies: ArenaTally[], ownCache: number): void {
  const m = s.i32;
  const nslots = m[s.hdr + L.H_NSLOTS];
  const caches = new Set<number>();
  for (let k = 0; k < nslots; k++) {
    const sw = s.sl + k * L.SLOT_WORDS;
    const word = m[sw + L.S_STATE];
    const state = word & L.SS_MASK;
    if (state === L.SS_MASK || (state === L.SS_FREE && word !== 0)) throw corruption(`thread slot ${k}: state ${word}`);
    if (state === L.SS_FREE) {
      if (m[sw + L.S_BLOCK] !== 0 || m[sw + L.S_TCACHE] !== 0 || m[sw + L.S_ARENA] !== -1) throw corruption(`thread slot ${k} is free but names a thread block`);
      continue; // a slot being reclaimed still owns its thread block
    }
    const block = m[sw + L.S_BLOCK] >>> 0;
    if (block === 0) continue; // claimed this instant (or by a thread that died then), no block yet
    if (m[sw + L.S_ARENA] < 0 || m[sw + L.S_ARENA] >= tallies.length) throw corruption(`thread slot ${k}: arena ${m[sw + L.S_ARENA]}`);
    if ((block - s.hb) % L.PAGE_SIZE !== 0 || block + L.J_WORDS * 4 > s.bytes) throw corruption(`thread slot ${k}: thread block at ${block} is out of place`);
    caches.add((block - s.hb) / L.PAGE_SIZE);
    // Every lock is held by this thread now: no other thread is inside a section.
    if (m[(block >>> 2) + L.J_STATE] !== 0) throw corruption(`thread slot ${k}: its undo journal is open while no lock is held`);
    const tcb = m[sw + L.S_TCACHE] >>> 0;
    if (tcb === 0) {
      if ((m[s.hdr + L.H_FLAGS] & L.HF_THREAD_CACHE) !== 0) throw corruption(`thread slot ${k}: its thread block has no cache`);
      continue;
    }
    if (tcb !== block + L.J_WORDS * 4 || tcb + TC_PAGES * L.PAGE_SIZE > s.bytes) throw corruption(`thread slot ${k}: cache block at ${tcb} is out of place`);
    const tw = tcb >>> 2;
    let large = 0;
    for (let b = 0; b < L.TC_NBINS; b++) {
      // The fast paths trust the record's capacity and stack address: a wrong one would make
      // them write anywhere.
      const r = tcRec(tw, b);
      const n = tcCount(m, tw, b);
      if (m[r + L.TCR_LIMIT] !== tw + TC_STACK[b] + TC_CAP[b] - 1) throw corruption(`thread slot ${k}: cache bin ${b}'s stack limit is wrong`);
      if (n < 0 || n > TC_CAP[b]) throw corruption(`thread slot ${k}: cache bin ${b} holds ${n} blocks, capacity ${TC_CAP[b]}`);
      if (m[tw + TC_STACK[b] - 1] !== 0) throw corruption(`thread slot ${k}: the word below cache bin ${b}'s stack is not 0`);
      large += n * largeBinBytes(b);
    }
    // Other threads' caches change without a lock while this runs: their budget is only bounded.
    const counted = m[tw + TC_LARGE];
    if (tw === ownCache ? counted !== large : counted < 0 || counted > L.TC_LARGE_TOTAL) {
      throw corruption(`thread slot ${k}: its cache counts ${counted} bytes of large runs, it holds ${large}`);
    }
    if (tw === ownCache) checkOwnCache(s, tw, k);
  }
  let metaRuns = 0;
  for (const t of tallies) {
    for (const g of t.metaRuns) {
      if (!caches.has(g)) throw corruption(`page ${g}: a thread block that no live thread slot owns`);
      metaRuns++;
    }
  }
  if (metaRuns !== caches.size) throw corruption(`thread blocks: ${caches.size} slots own thread blocks, ${metaRuns} blocks exist`);
  if (m[s.gj + L.J_STATE] !== 0) throw corruption("the global lock's undo journal is open while this thread holds the lock");
}

/** This thread's cache: every entry a distinct, in-use region of its class, marked freed. */
function checkOwnCache(s: Space, tw: number, slot: number): void {
  const m = s.i32;
  const seen = new Set<number>();
  for (let b = 0; b < L.TC_NBINS; b++) {
    const n = tcCount(m, tw, b);
    for (let i = 0; i < n; i++) {
      const p = m[tw + TC_STACK[b] + i] >>> 0;
      const small = b < NBINS || b === L.TC_REMOTE;
      const what = b < NBINS ? `region ${p} (class ${BIN_SIZE[b]})` : b === L.TC_REMOTE ? `remote region ${p}`
        : `large run ${p} (${largeBinPages(b)} pages)`;
      const where = `thread slot ${slot}: cached ${what}`;
      if (seen.has(p)) throw corruption(`${where} is in the cache twice`);
      seen.add(p);
      const c = addrChunk(s, p);
      if (p < s.hb || c >= s.nchunks || chunkKind(chunkEntry(s, c)) !== L.CK_ARENA) throw corruption(`${where} is not in an arena chunk`);
      const g = addrPage(s, p);
      const info = m[mapIdx(s, g)];
      if (small) {
        if ((info & L.PI_STATE_MASK) !== L.PS_SMALL || (b !== L.TC_REMOTE && infoBin(info) !== b)) {
          throw corruption(`${where} is not in a run of its class`);
        }
        const cls = infoBin(info);
        const run = g - infoSize(info);
        const off = p - pageAddr(s, run);
        const idx = regionIndex(cls, off);
        if (idx * BIN_SIZE[cls] !== off) throw corruption(`${where} is not a region boundary`);
        if (bitmapGet(m, auxIdx(s, run), idx)) throw corruption(`${where} is also free in its run`);
      } else if ((info & (L.PI_STATE_MASK | L.PI_HEAD)) !== (L.PS_LARGE | L.PI_HEAD) || infoSize(info) !== largeBinPages(b) ||
                 (p - s.hb) % L.PAGE_SIZE !== 0) {
        throw corruption(`${where} is not the start of a large run of that length (info ${info})`);
      }
      const mark = small ? hasFreeMark(m, p) : ((m[p >>> 2] ^ p) | L.MARK_USED_BIT) === L.FREE_MARK;
      if (!mark) throw corruption(`${where} lost its free mark: written after free?`);
    }
  }
}

