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

// ---- Pages and chunks ----------------------------------------------------------------------

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT; // 4096, the seed's page
export const CHUNK_SHIFT = 20;
export const CHUNK_SIZE = 1 << CHUNK_SHIFT; // 1 MiB: a heap of `initialBytes: 1 << 20` is one chunk
export const CHUNK_PAGES = CHUNK_SIZE / PAGE_SIZE; // 256
export const CHUNK_WORDS = CHUNK_SIZE / 4;
export const MAX_BUFFER_BYTES = 2 ** 32; // pointers are unsigned 32-bit numbers
export const MAX_CHUNKS = MAX_BUFFER_BYTES / CHUNK_SIZE; // 4096

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
// count of a small run (first page only).

export const MAP_ENTRY_WORDS = 4;
export const MAP_INFO = 0;
export const MAP_LEFT = 1;
export const MAP_RIGHT = 2;
export const MAP_NFREE = 3;
export const AUX_OFFSET_WORDS = PAGE_SIZE / 4; // the aux area starts at page 1
export const AUX_SLOT_WORDS = 16; // bitmap words available per run = 512 bits
export const CHUNK_HEADER_PAGES = 5; // 4 KiB map + 16 KiB aux
export const FIRST_DATA_PAGE = CHUNK_HEADER_PAGES;
export const DATA_PAGES = CHUNK_PAGES - CHUNK_HEADER_PAGES; // 251: the largest "large" run

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

export const PI_STATE_MASK = 3;
export const PS_FREE = 0;
export const PS_SMALL = 1;
export const PS_LARGE = 2;
export const PS_META = 3;
export const PI_HEAD = 1 << 2;
export const PI_ZERO = 1 << 3;
export const PI_BIN_SHIFT = 4;
export const PI_BIN_MASK = 63;
export const PI_SIZE_SHIFT = 10;
export const PI_SIZE_MASK = 1023;

// ---- Heap header ------------------------------------------------------------------------------
//
// Starts right after chunk 0's chunk header, at word HEADER_WORD (relative to the heap base):
//
//   +----------------+-----------------+------------------------+-------------------+
//   | fixed fields   | chunk table     | arena records          | thread slots      |
//   | (H_* below)    | 1 word a chunk  | ARENA_WORDS each       | SLOT_WORDS each   |
//   +----------------+-----------------+------------------------+-------------------+

export const HEADER_WORD = (CHUNK_HEADER_PAGES * PAGE_SIZE) / 4;
export const HEAP_MAGIC = 0x5ab3a11c | 0;
export const HEAP_VERSION = 1;

export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_FLAGS = 2; // HF_* bits
export const H_MAX_CHUNKS = 3; // the heap never grows past this many chunks
export const H_NCHUNKS = 4; // chunks in the buffer now (Atomics: read by every thread)
export const H_LOCK = 5; // the global lock: chunk pool, growth, huge allocations
export const H_LOCK_OWNER = 6;
export const H_NARENAS = 7;
export const H_NSLOTS = 8;
export const H_HEADER_PAGES = 9; // pages of chunk 0 after its chunk header taken by this header
export const H_CHUNKTAB = 10; // word offset (from the heap base) of the chunk table
export const H_ARENAS = 11; // word offset of the first arena record
export const H_SLOTS = 12; // word offset of the first thread slot
export const H_POOL_CHUNKS = 13; // chunks in the global pool (free, not owned by an arena)
export const H_DOUBLE_FREES = 14; // double frees found late, while flushing a cache
// f64 counters (even word offsets)
export const H_HUGE_ALLOCATED = 16;
export const H_HUGE_NMALLOC = 18;
export const H_HUGE_NFREE = 20;
export const H_FIXED_WORDS = 24;

export const HF_THREAD_CACHE = 1;
export const HF_DEBUG = 2;

// ---- Chunk table entry --------------------------------------------------------------------------
//
//   bit 31              8 7        3   2    1 0
//      +-----------------+----------+----+-----+
//      |      arg        |  unused  |ZERO|kind |
//      +-----------------+----------+----+-----+
//
//   kind CK_FREE       unused chunk, in the global pool (or beyond the buffer's end)
//        CK_ARENA      arena chunk; arg = arena index
//        CK_HUGE       first chunk of a huge allocation; arg = its length in pages
//        CK_HUGE_BODY  later chunk of a huge allocation; arg = distance to the first chunk
//   ZERO  (free chunks) every byte is zero: it came from the buffer's growth and was never used

export const CK_MASK = 3;
export const CK_FREE = 0;
export const CK_ARENA = 1;
export const CK_HUGE = 2;
export const CK_HUGE_BODY = 3;
export const CK_ZERO = 1 << 2;
export const CK_ARG_SHIFT = 8;

// ---- Arena record ----------------------------------------------------------------------------------

export const A_LOCK = 0;
export const A_LOCK_OWNER = 1;
export const A_NTHREADS = 2; // threads attached to this arena (Atomics)
export const A_SPARE = 3; // a kept empty chunk: its index + 1, or 0
export const A_RUNS = 4; // root of the free page run tree (a global page number, 0 = empty)
export const A_NCHUNKS = 5; // chunks owned, the spare included
export const A_ACTIVE_PAGES = 6; // pages in small and large runs
export const A_META_PAGES = 7; // pages of thread cache blocks carved from this arena
// f64 counters
export const A_SMALL_ALLOCATED = 8;
export const A_SMALL_NMALLOC = 10;
export const A_SMALL_NFREE = 12;
export const A_LARGE_ALLOCATED = 14;
export const A_LARGE_NMALLOC = 16;
export const A_LARGE_NFREE = 18;
export const A_SCRATCH = 20; // a word for binTake to write one region into (no thread cache)
export const A_BINS = 22; // the bin records follow

// ---- Bin record (inside an arena record) ------------------------------------------------------------

export const B_RUNCUR = 0; // the run being allocated from: its first global page, or 0
export const B_RUNS = 1; // root of the tree of other non-full runs, by address
export const B_CURRUNS = 2; // runs of this class
export const B_CURREGS = 3; // regions handed out (thread caches included)
// f64 counters
export const B_NMALLOC = 4;
export const B_NFREE = 6;
export const B_NFILLS = 8;
export const B_NFLUSHES = 10;
export const BIN_WORDS = 12;

// ---- Thread slot ------------------------------------------------------------------------------------

export const S_STATE = 0; // SS_* (Atomics)
export const S_ARENA = 1;
export const S_TCACHE = 2; // byte address of the slot's thread cache block, or 0
export const S_GEN = 3; // bumped on every claim: tells apart successive threads of one slot
export const SLOT_WORDS = 4;
export const SS_FREE = 0;
export const SS_LIVE = 1;
export const DEFAULT_SLOTS = 128;

// ---- Lock word ----------------------------------------------------------------------------------------

export const LOCK_FREE = 0;
export const LOCK_HELD = 1;
export const LOCK_CONTENDED = 2; // held, and a thread may be sleeping on it

// ---- A freed small region ------------------------------------------------------------------------------
//
// free() writes FREE_MARK ^ ptr into a region's first word; a second free finding it there looks
// closer (thread caches, bitmap) before it calls the pointer a double free. malloc() clears it.
export const FREE_MARK = 0x7ee1f4ee;
export const JUNK_FREE = 0x5a; // debug: freed bytes
export const JUNK_ALLOC = 0xa5; // debug: new small regions
