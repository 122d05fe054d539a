// layout: every offset, size and bit field of sabmalloc's memory, in one place.
//
// All allocator state lives inside the shared buffer, so any thread that attaches sees it. This
// module names each piece; every other module reads and writes memory only through these names.
// Word indexes are offsets in 32-bit words (Int32Array indexes); "f64" fields sit at even word
// offsets and are read through a Float64Array at index (word >>> 1).
//
// The buffer, from the heap base (0 for Heap.create, `base` for Heap.fromMemory):
//
//   chunk 0                    chunk 1                   chunk 2 ...
//   +--------+------+---------+--------+-----------------+-----------------------------+
//   | chunk  | heap | data    | chunk  | data pages      | huge block: whole chunks,   |
//   | header |header| pages   | header |                 | no header inside            |
//   +--------+------+---------+--------+-----------------+-----------------------------+
//   |<-------- 1 MiB -------->|<------ 1 MiB ----------->|
//
// Chunks are CHUNK_SIZE bytes, aligned to CHUNK_SIZE from the heap base, so a pointer's chunk is
// (ptr - base) >>> CHUNK_SHIFT. Arena chunks start with a CHUNK_HEADER_PAGES-page header; huge
// chunks hold only user data (their metadata is the heap header's chunk table).

// The constants form one `const enum`, so that the compiler writes their values into the code that
// uses them: in V8 a read of an imported binding costs a memory load and a check on every use, and
// the hot paths use dozens of them.

export const enum L {
  // ---- Size classes (sizeclass.ts generates the table and checks these against it) ------------

  SMALL_MAX = 14336, // the largest small size class
  NBINS = 36, // small size classes
  // Thread caches also keep freed large runs of TC_LARGE_MIN .. TC_LARGE_MAX pages, one stack per
  // length after the 36 small classes (jemalloc caches large sizes up to its tcache_max likewise).
  TC_LARGE_MIN = 4, // the smallest large run: 16 KiB
  TC_LARGE_MAX = 16, // 64 KiB
  // And one more stack, the last: small regions of other arenas that this thread freed (remote
  // frees). This thread never reuses them; they go back to their arenas in batches.
  TC_REMOTE = NBINS + TC_LARGE_MAX - TC_LARGE_MIN + 1,
  TC_REMOTE_CAP = 64,
  TC_NBINS = TC_REMOTE + 1,
  TC_LARGE_BYTES = 32 * 1024, // bytes of runs cached per length (at least one run)
  TC_LARGE_TOTAL = 128 * 1024, // bytes of runs cached over all lengths (tcache.ts: cacheTakesLarge)
  // A cache bin's record at the start of the thread's cache block (tcache.ts draws it): what both
  // fast paths read sits in one place, in the buffer view they hold already.
  TCR_HEAD = 0, // word index of the top block; of the 0 word below the stack when it is empty
  TCR_LIMIT = 1, // word index of the stack's last slot: the stack is full when head is there
  TCR_DRY = 2, // 1 when the stack ran dry since the GC's last visit (tcache.ts: cacheGc)
  TCR_WORDS = 4, // (word 3 unused: four records to a 64-byte cache line)
  // Heap profiles (profile.ts), small classes only: the allocations of this class left before
  // the next sampled one (read by mallocProfiled only; 0 and unused while profiling is off).
  TCR_SAMPLE = 3,

  // ---- Pages and chunks ----------------------------------------------------------------------

  PAGE_SHIFT = 12,
  PAGE_SIZE = 1 << PAGE_SHIFT, // 4096, the seed's page
  CHUNK_SHIFT = 20,
  CHUNK_SIZE = 1 << CHUNK_SHIFT, // 1 MiB: a heap of `initialBytes: 1 << 20` is one chunk
  CHUNK_PAGES = CHUNK_SIZE / PAGE_SIZE, // 256
  CHUNK_PAGE_SHIFT = CHUNK_SHIFT - PAGE_SHIFT, // global page >>> this = its chunk
  CHUNK_WORDS = CHUNK_SIZE / 4,
  MAX_BUFFER_BYTES = 4294967296, // pointers are unsigned 32-bit numbers
  MAX_CHUNKS = MAX_BUFFER_BYTES / CHUNK_SIZE, // 4096

  // ---- Arena chunk header ----------------------------------------------------------------------
  //
  //   page 0: the page map, one 16-byte entry per page of the chunk (header pages included)
  //   +--------+--------+--------+--------+
  //   | info   | left   | right  | nfree  |   entry p at byte 16 * p
  //   +--------+--------+--------+--------+
  //   pages 1-4: the aux area, one 64-byte slot per page: the region bitmap of a small run whose
  //   first page is that page (at most 512 regions = 16 words).
  //
  // `left`/`right` link the first page of a run into a tree (see tree.ts): free page runs into their
  // arena's free-run tree, non-full small runs into their bin's run tree. `nfree` is the free-region
  // count of a small run (first page only). Page 0's entry heads the chunk's header run, which is in
  // no tree and has no regions: its `nfree` word bounds the chunk's pages whose info says ZERO
  // (CHUNK_ZERO_RANGE: every such page p has lo <= p < hi; derived state, arena.ts: markRun reads
  // no page inside a new large run that lies outside it).
  //
  //   bit  31        16 15         0
  //       +------------+------------+
  //       |     hi     |     lo     |   lo >= hi: no page says ZERO
  //       +------------+------------+

  MAP_ENTRY_WORDS = 4,
  MAP_INFO = 0,
  MAP_LEFT = 1,
  MAP_RIGHT = 2,
  MAP_NFREE = 3,
  CHUNK_ZERO_RANGE = MAP_NFREE, // word of the chunk (in page 0's entry): where its ZERO pages lie
  ZERO_HI_SHIFT = 16,
  ZERO_LO_MASK = 0xffff,
  AUX_OFFSET_WORDS = PAGE_SIZE / 4, // the aux area starts at page 1
  AUX_SLOT_WORDS = 16, // bitmap words available per run = 512 bits
  CHUNK_HEADER_PAGES = 5, // 4 KiB map + 16 KiB aux
  FIRST_DATA_PAGE = CHUNK_HEADER_PAGES,
  DATA_PAGES = CHUNK_PAGES - CHUNK_HEADER_PAGES, // 251: the largest "large" run
  // realloc moves a large run of chunk 0 that grows past this many pages to an empty chunk's start,
  // from where it can become huge in place (heap.ts: reallocToChunkStart; a small block turning
  // large goes there at once)
  GROW_OUT_PAGES = 16,

  // ---- Page info word (MAP_INFO) ----------------------------------------------------------------
  //
  //   bit  31       20 19       10 9       4  3    2    1 0
  //       +-----------+-----------+--------+----+----+-----+
  //       |  unused   |   size    | binind |ZERO|HEAD|state|
  //       +-----------+-----------+--------+----+----+-----+
  //
  //   state  PS_FREE   page in a free page run
  //          PS_SMALL  page of a small run (a slab of regions of class `binind`)
  //          PS_LARGE  page of a large allocation
  //          PS_META   page the allocator uses for itself (headers, thread caches)
  //   HEAD   first page of its run
  //   ZERO   the page is known to hold only zero bytes (fresh from the buffer's growth)
  //   size   FREE/LARGE/META: run length in pages, on the first and the last page of the run
  //          (interior pages: 0); SMALL: this page's index inside its run (0 on the first page)

  PI_STATE_MASK = 3,
  PS_FREE = 0,
  PS_SMALL = 1,
  PS_LARGE = 2,
  PS_META = 3,
  PI_HEAD = 1 << 2,
  PI_ZERO = 1 << 3,
  PI_BIN_SHIFT = 4,
  PI_BIN_MASK = 63,
  PI_SIZE_SHIFT = 10,
  PI_SIZE_MASK = 1023,
  // Heap profiles (profile.ts), first page of a large run only: a sampled block. Its class + 1
  // when it serves a small request (a sampled small block is its own large run, so that free()'s
  // fast path, which takes only small pages, sends it to freeSlow); 0 for a sampled large request.
  //   bit 31   27 26      21  20
  //      +------+----------+-------+
  //      |unused| class+1  |SAMPLED|
  PI_SAMPLED = 1 << 20,
  PI_SCLASS_SHIFT = 21,
  PI_SCLASS_MASK = 63,

  // ---- Heap header ------------------------------------------------------------------------------
  //
  // Starts right after chunk 0's chunk header, at word HEADER_WORD (relative to the heap base):
  //
  //   +--------------+---------------+----------------+----------------+-----------------+
  //   | fixed fields | chunk table   | arena records  | thread slots   | global journal  |
  //   | (H_* below)  | 1 word a chunk| ARENA_WORDS    | SLOT_WORDS each| GJ_WORDS        |
  //   +--------------+---------------+----------------+----------------+-----------------+

  HEADER_WORD = (CHUNK_HEADER_PAGES * PAGE_SIZE) / 4,
  HEAP_MAGIC = 0x5ab3a11c | 0,
  // 5: huge blocks may be inset (CK_INSET). A version-4 heap is a version-5 heap without inset
  // blocks, so snapshots of version 4 restore (snapshot.ts); nothing older does.
  // 6: arenas may keep empty small runs (A_EMPTY). A version-4 or 5 heap is a version-6 heap that
  // keeps none (its A_EMPTY word is 0), so their snapshots restore too.
  HEAP_VERSION = 6,
  HEAP_VERSION_READ_MIN = 4,

  H_MAGIC = 0,
  H_VERSION = 1,
  H_FLAGS = 2, // HF_* bits
  H_MAX_CHUNKS = 3, // the heap never grows past this many chunks
  H_NCHUNKS = 4, // chunks in the buffer now (Atomics: read by every thread)
  H_LOCK = 5, // the global lock: chunk pool, growth, huge allocations
  H_LOCK_NAP = 6, // check() naps here (lock.ts)
  H_NARENAS = 7,
  H_NSLOTS = 8,
  H_HEADER_PAGES = 9, // pages of chunk 0 after its chunk header taken by this header
  H_CHUNKTAB = 10, // word offset (from the heap base) of the chunk table
  H_ARENAS = 11, // word offset of the first arena record
  H_SLOTS = 12, // word offset of the first thread slot
  H_POOL_CHUNKS = 13, // chunks in the global pool (free, not owned by an arena)
  H_DOUBLE_FREES = 14, // double frees found late, while flushing a cache
  // f64 counters (even word offsets)
  H_HUGE_ALLOCATED = 16,
  H_HUGE_NMALLOC = 18,
  H_HUGE_NFREE = 20,
  H_NEXT_TAG = 24, // the last thread tag handed out by watch() (Atomics; slots.ts)
  H_LOCK_TIMEOUT = 25, // ms a thread waits for a lock before LOCK_TIMEOUT (0: for ever)
  H_GJOURNAL = 26, // word offset of the global lock's undo journal (journal.ts), after the slots
  H_TRIM_EPOCH = 28, // bumped when the heap grows: arenas then give back the empty runs they keep (bin.ts)
  H_KEPT_DECAY = 29, // ms an arena keeps empty runs it has not needed (keptDecayMs; 0: the default; arena.ts)
  H_FIXED_WORDS = 32,
  // Heap profiles (profile.ts), in words the fields above left unused:
  H_PROF_LOCK = 15, // guards the profile's tables (lock order: profile, arena, global)
  H_PROF_MEAN = 22, // mean bytes between samples (HF_PROFILE set)
  H_PROF_ROOT = 23, // byte address of the profile's root block, 0 before the first sample
  H_PROF_FRAMES = 27, // frames a sampled stack keeps (profile.maxFrames; 0: the default)

  HF_THREAD_CACHE = 1,
  HF_DEBUG = 2,
  HF_PROFILE = 4, // sampled heap profiles (profile.ts)
  HF_NO_KEEP = 8, // arenas give emptied small runs back at once, keeping none (keepEmptyRuns: false; bin.ts)

  // The roots area (roots.ts; added with snapshots): the last ROOTS_WORDS words of the header's
  // H_HEADER_PAGES pages, after the thread slots. ROOTS entries of a name (up to 12 bytes of UTF-8,
  // zero-padded; all zero = an empty entry) and a pointer, so a restored heap finds its data again.
  //
  //   +--------+--------+--------+--------+
  //   |  name (12 bytes)         |  ptr   |   entry r at word ROOT_WORDS * r
  //   +--------+--------+--------+--------+
  ROOTS = 16,
  ROOT_NAME_BYTES = 12,
  ROOT_PTR = 3,
  ROOT_WORDS = 4,
  ROOTS_WORDS = ROOTS * ROOT_WORDS,

  // ---- Chunk table entry --------------------------------------------------------------------------
  //
  //   bit 31              8 7    5  4    3    2    1 0
  //      +-----------------+------+----+----+----+-----+
  //      |      arg        |unused|INST|SMPL|ZERO|kind |
  //      +-----------------+------+----+----+----+-----+
  //
  //   kind CK_FREE       unused chunk, in the global pool (or beyond the buffer's end)
  //        CK_ARENA      arena chunk; arg = arena index
  //        CK_HUGE       first chunk of a huge allocation; arg = its length in pages
  //        CK_HUGE_BODY  later chunk of a huge allocation; arg = distance to the first chunk
  //   ZERO  (free chunks) every byte is zero: it came from the buffer's growth and was never used
  //   INST  (CK_HUGE) inset: the block starts at page CHUNK_HEADER_PAGES of its first chunk, not at
  //         its first byte - a large run that realloc made huge in place (heap.ts: promoteLarge);
  //         the chunk's header pages stay unused. Its length (arg) counts from the block's start.

  CK_MASK = 3,
  CK_FREE = 0,
  CK_ARENA = 1,
  CK_HUGE = 2,
  CK_HUGE_BODY = 3,
  CK_ZERO = 1 << 2,
  CK_ARG_SHIFT = 8,
  CK_SAMPLED = 1 << 3, // (CK_HUGE) a sampled block of the heap profile (profile.ts)
  CK_INSET = 1 << 4, // (CK_HUGE) the block starts at the chunk's first data page (see above)

  // ---- Arena record ----------------------------------------------------------------------------------

  A_LOCK = 0,
  A_LOCK_NAP = 1, // check() naps here (lock.ts)
  A_NTHREADS = 2, // threads attached to this arena (Atomics)
  A_SPARE = 3, // a kept empty chunk: its index + 1, or 0
  A_RUNS = 4, // root of the free page run tree (a global page number, 0 = empty)
  A_NCHUNKS = 5, // chunks owned, the spare included
  A_ACTIVE_PAGES = 6, // pages in small and large runs
  A_META_PAGES = 7, // pages of thread cache blocks carved from this arena
  // f64 counters
  A_SMALL_ALLOCATED = 8,
  A_SMALL_NMALLOC = 10,
  A_SMALL_NFREE = 12,
  A_LARGE_ALLOCATED = 14,
  A_LARGE_NMALLOC = 16,
  A_LARGE_NFREE = 18,
  A_SCRATCH = 20, // a word for binTake to write one region into (no thread cache)
  A_EMPTY = 21, // first page of the arena's table of kept empty small runs (below), or 0: none yet
  A_BINS = 22, // the bin records follow

  // ---- Bin record (inside an arena record) ------------------------------------------------------------

  B_RUNCUR = 0, // the run being allocated from: its first global page, or 0
  B_RUNS = 1, // root of the tree of other non-full runs, by address
  B_CURRUNS = 2, // runs of this class
  B_CURREGS = 3, // regions handed out (thread caches included)
  // f64 counters
  B_NMALLOC = 4,
  B_NFREE = 6,
  B_NFILLS = 8,
  B_NFLUSHES = 10,
  BIN_WORDS = 12,

  // ---- Table of kept empty runs (a one-page meta run of the arena: bin.ts) ----------------------------
  //
  //   word  0 .. 63    ET_HEAD + bin: the bin's last emptied run (a global page), 0 = none; each
  //                    run links to the next through its first page's map entry (MAP_LEFT)
  //   word 64 .. 127   ET_COUNT + bin: how many runs that list holds
  //   word 128         ET_EPOCH: the H_TRIM_EPOCH this arena last answered
  //   word 130 .. 131  ET_STAMP (f64): Date.now() when the arena last looked for runs unneeded
  //                    for H_KEPT_DECAY ms (keptDecay)
  //   word 192 .. 255  ET_LOW + bin: the fewest runs the list held since then: that many were not
  //                    needed all that time
  //   word 256 .. 319  ET_DUE + bin: of those, the runs still to give back (keptDecay's sections)
  //
  // All of it is derived state (journal.ts): repair.ts rebuilds the lists from the runs' bitmaps,
  // and sets the low-water marks and the runs due to 0 (nothing goes back for want of use until
  // the decay has looked once more).
  ET_HEAD = 0,
  ET_COUNT = 64,
  ET_EPOCH = 128,
  ET_STAMP = 130,
  ET_LOW = 192,
  ET_DUE = 256,
  ET_END = 320, // the words above in use (NBINS of each 64-word area)
  ET_PAGES = 1,

  // ---- Thread slot ------------------------------------------------------------------------------------

  //   state word:  bit 31              2  1 0
  //                +--------------------+-----+
  //                | tag (watch(), or 0)|state|      claimed with one compareExchange, tag and all
  //                +--------------------+-----+
  S_STATE = 0, // SS_* | tag << SS_TAG_SHIFT (Atomics)
  S_ARENA = 1,
  S_TCACHE = 2, // byte address of the slot's thread cache (inside its thread block), or 0
  S_GEN = 3, // bumped on every claim: tells apart successive threads of one slot
  S_BLOCK = 4, // byte address of the slot's thread block (journal, then cache), or 0
  S_RECLAIMER = 5, // SS_RECLAIM: slot + 1 of the thread reclaiming this one
  S_RECLAIMING = 6, // slot + 1 of the slot this thread is reclaiming, or 0
  SLOT_WORDS = 8,
  SS_FREE = 0,
  SS_LIVE = 1,
  SS_RECLAIM = 2, // its thread is gone and a reclaim() is returning its cache (one reclaim per slot)
  SS_MASK = 3,
  SS_TAG_SHIFT = 2,
  DEFAULT_SLOTS = 1024,

  // ---- Undo journal (journal.ts draws it) ------------------------------------------------------------

  J_STATE = 0, // 1 while a critical section is open: its derived state may be half-updated
  J_ARENA = 1, // the arena whose lock the section holds (thread journals)
  J_COUNT = 2, // words of entries written
  J_ENTRIES = 4, // then 2 * J_CAP words of entries (journal.ts)
  J_CAP = 2046, // a thread journal: 4 + 2 * 2046 words = 4 pages
  J_WORDS = J_ENTRIES + 2 * J_CAP,
  GJ_CAP = 254, // the global journal, in the heap header
  GJ_WORDS = J_ENTRIES + 2 * GJ_CAP,
  JOURNAL_PAGES = (J_WORDS * 4) / PAGE_SIZE, // a thread block starts with its journal

  // ---- Lock word (lock.ts draws its bits) ---------------------------------------------------

  LOCK_FREE = 0,

  // ---- A freed small region ------------------------------------------------------------------------------
  //
  // Every free region carries a mark in its first word, whether it sits in a thread cache or in
  // its run's bitmap: FRESH_MARK ^ ptr from the moment its run is carved, FREE_MARK ^ ptr once it
  // has been freed; malloc() clears it. So free() needs only the mark to refuse a region that is
  // not live (a double free, or a region never handed out): it looks closer (thread caches,
  // bitmap) only when the mark is there. And a bin or a thread cache handing a region out finds the
  // mark gone when the region was written after it was freed (CORRUPTION, instead of two owners).
  //
  //   mark ^ ptr, low bits:  ...1 1   FRESH_MARK  never handed out
  //                          ...1 0   FREE_MARK   freed
  //                          ...0 x   the same, "stale": seen in a thread cache by the cache GC's
  //                                   last visit and not used since (tcache.ts: cacheGc)
  //
  // (word ^ ptr) | MARK_BITS === FRESH_MARK tests for any mark (bin.ts: hasFreeMark); bit 0 tells
  // fresh from freed, bit 1 clear means stale. (ptr is 8-aligned, so the xor leaves the low bits
  // of the mark as they are.)
  FREE_MARK = 0x7ee1f4ee,
  FRESH_MARK = 0x7ee1f4ef,
  MARK_FRESH_BIT = 1,
  MARK_USED_BIT = 2,
  MARK_BITS = MARK_FRESH_BIT | MARK_USED_BIT,
  JUNK_FREE = 0x5a, // debug: freed bytes
  JUNK_ALLOC = 0xa5, // debug: new small regions
}

/** Page and chunk sizes, for users of the package. */
export const PAGE_SIZE: number = L.PAGE_SIZE;
export const CHUNK_SIZE: number = L.CHUNK_SIZE;
