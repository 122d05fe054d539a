// snapshot: a heap kept as bytes - heap.snapshot(), Heap.restore / restoreInto, heap.save / Heap.load.
//
// A snapshot holds the heap's header chunk and every other chunk in use (arena chunks and huge
// blocks, whole), in a file format of its own:
//
//   word  0      1      2        3        4      5         6        7
//   +------+------+--------+--------+------+---------+--------+-----------+
//   | "sabm" "snap" | format | layout | base | nchunks | stored | maxChunks |  64-byte header
//   +------+------+--------+--------+------+---------+--------+-----------+
//   | length (lo, hi) | checksum | 0 0 0 0 0                              |
//   +------------------------------------------------------------------------+
//   | chunk list: `stored` chunk indexes, ascending, 0-padded to 16 bytes     |
//   +------------------------------------------------------------------------+
//   | the stored chunks, CHUNK_SIZE bytes each, in list order                 |
//   +------------------------------------------------------------------------+
//
//   format     SNAPSHOT_FORMAT (this file layout); layout: L.HEAP_VERSION (the heap's own)
//   base       the heap's base: a restored heap sits at the same byte offset, so every pointer
//              stays what it was
//   nchunks    chunks in the buffer (H_NCHUNKS); those not stored were unused (the pool)
//   length     bytes of the whole snapshot; checksum: xxHash32 (hash.ts) of all of it, with the
//              checksum word itself 0
//
// Taking one: every lock is taken in the documented order (arenas by index, then the global lock,
// as check() does), the chunks are copied, the locks released. So the allocator's metadata is
// consistent; what the program writes into its blocks meanwhile is the program's to quiesce, and a
// thread cache's stacks, which their threads change without a lock, are exact when those threads
// are idle. Blocks in thread caches are simply in the copied cache blocks.
//
// Restoring one: the bytes are checked (magic, versions, sizes, list, checksum, the heap's own
// header) before anything is made; then the chunks go to their places, every lock word is cleared
// (the snapshot was taken with all of them held, no journal open), the restoring thread takes slot 0
// (adopting the saved one, or attaching), and every other thread slot is reclaimed (reclaim():
// cached blocks go back to their arenas). Any fault in the bytes: HeapError BAD_SNAPSHOT, and no heap.

import { arenaWord, lockAll, unlockAll } from "./arena.js";
import { hasFreeMark } from "./bin.js";
import { chunkEntry, chunkKind, setChunkEntry, zeroRangeOf } from "./chunk.js";
import { badSnapshot, HeapError } from "./errors.js";
import { Hash32 } from "./hash.js";
import type { Heap, HeapHandle } from "./heap.js";
import { spaceOf } from "./inspect.js";
import { L } from "./layout.js";
import { Backing, chunkWord, Space } from "./space.js";
import { largeBinBytes, slotCache, TC_CAP, TC_LARGE, TC_STACK, tcCount, tcSetCount } from "./tcache.js";

/** Version of the snapshot format (not of the heap's layout: that is L.HEAP_VERSION). */
export const SNAPSHOT_FORMAT = 1;

const MAGIC0 = 0x6d626173; // "sabm", little-endian
const MAGIC1 = 0x70616e73; // "snap"
const SN_MAGIC0 = 0;
const SN_MAGIC1 = 1;
const SN_FORMAT = 2;
const SN_LAYOUT = 3;
const SN_BASE = 4;
const SN_NCHUNKS = 5;
const SN_STORED = 6;
const SN_MAX_CHUNKS = 7;
const SN_LENGTH_LO = 8;
const SN_LENGTH_HI = 9;
const SN_CHECKSUM = 10;
const SN_HEADER_WORDS = 16;
export const SNAPSHOT_HEADER_BYTES = SN_HEADER_WORDS * 4;

const LOCK_WAIT_MS = 5000;
const WASM_PAGE = 65536;

/** Who calls Heap.attach for this module (heap.ts passes it: no import cycle of values). */
/** Heap.attach, or (with `adopt`) Heap.adoptSlot: passed in, since heap.ts imports this module. */
export type Attach = (handle: HeapHandle, adopt?: number) => Heap;

// ---- Taking -------------------------------------------------------------------------------------------


/** Bytes of the chunk list, padded to whole 16-byte stripes. */
function listBytes(stored: number): number {
  return Math.ceil((stored * 4) / 16) * 16;
}

/**
 * The snapshot's header and chunk list for the heap as it is now (every lock held): the chunks in
 * use, ascending. The checksum word is 0, the length filled in.
 */
function headWords(s: Space): Int32Array {
  s.refresh();
  const m = s.i32;
  const nchunks = Atomics.load(m, s.hdr + L.H_NCHUNKS);
  const list: number[] = [];
  for (let c = 0; c < nchunks; c++) if (c === 0 || chunkKind(m[s.ct + c]) !== L.CK_FREE) list.push(c);
  const head = new Int32Array(SN_HEADER_WORDS + listBytes(list.length) / 4);
  const length = head.length * 4 + list.length * L.CHUNK_SIZE;
  head[SN_MAGIC0] = MAGIC0;
  head[SN_MAGIC1] = MAGIC1;
  head[SN_FORMAT] = SNAPSHOT_FORMAT;
  head[SN_LAYOUT] = L.HEAP_VERSION;
  head[SN_BASE] = s.hb;
  head[SN_NCHUNKS] = nchunks;
  head[SN_STORED] = list.length;
  head[SN_MAX_CHUNKS] = m[s.hdr + L.H_MAX_CHUNKS];
  head[SN_LENGTH_LO] = length % 4294967296;
  head[SN_LENGTH_HI] = Math.floor(length / 4294967296);
  head.set(list, SN_HEADER_WORDS);
  return head;
}

/** The chunks a header lists. */
function chunkList(head: Int32Array): Int32Array {
  return head.subarray(SN_HEADER_WORDS, SN_HEADER_WORDS + head[SN_STORED]);
}

function snapshotLength(head: Int32Array): number {
  return (head[SN_LENGTH_LO] >>> 0) + (head[SN_LENGTH_HI] >>> 0) * 4294967296;
}

/** heap.snapshot(): the header chunk and every chunk in use, as one Uint8Array. */
export function takeSnapshot(heap: Heap): Uint8Array {
  const s = spaceOf(heap);
  s.refresh();
  let out: Uint8Array;
  let head: Int32Array;
  const taken = lockAll(s, LOCK_WAIT_MS, "snapshot");
  try {
    head = headWords(s);
    out = new Uint8Array(snapshotLength(head));
    out.set(new Uint8Array(head.buffer));
    let at = head.length * 4;
    for (const c of chunkList(head)) {
      const from = s.hb + c * L.CHUNK_SIZE;
      out.set(s.u8.subarray(from, from + L.CHUNK_SIZE), at);
      at += L.CHUNK_SIZE;
    }
  } finally {
    unlockAll(s, taken);
  }
  // The copy is ours alone now: hash it without holding anything.
  const words = new Int32Array(out.buffer, 0, out.length / 4);
  const h = new Hash32();
  h.update(words, 0, words.length);
  words[SN_CHECKSUM] = h.digest();
  return out;
}

/**
 * heap.save(path): the snapshot written to a file as it is taken, a chunk at a time (one 1 MiB
 * scratch buffer: the hash and the file see the same bytes even while the program writes its
 * blocks). Every lock is held while the chunks are written, as for snapshot().
 */
export async function saveSnapshot(heap: Heap, path: string): Promise<void> {
  const fs = await import("node:fs");
  const s = spaceOf(heap);
  s.refresh();
  const scratch = new Int32Array(L.CHUNK_WORDS);
  const scratch8 = new Uint8Array(scratch.buffer);
  const fd = fs.openSync(path, "w");
  let ok = false;
  try {
    const writeAll = (bytes: Uint8Array, pos: number): void => {
      for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done, bytes.length - done, pos + done);
    };
    const h = new Hash32();
    let head: Int32Array;
    const taken = lockAll(s, LOCK_WAIT_MS, "snapshot");
    try {
      head = headWords(s);
      h.update(head, 0, head.length);
      writeAll(new Uint8Array(head.buffer), 0);
      let pos = head.length * 4;
      for (const c of chunkList(head)) {
        const from = s.hb + c * L.CHUNK_SIZE;
        scratch8.set(s.u8.subarray(from, from + L.CHUNK_SIZE));
        h.update(scratch, 0, L.CHUNK_WORDS);
        writeAll(scratch8, pos);
        pos += L.CHUNK_SIZE;
      }
    } finally {
      unlockAll(s, taken);
    }
    head[SN_CHECKSUM] = h.digest();
    writeAll(new Uint8Array(head.buffer, 0, SNAPSHOT_HEADER_BYTES), 0);
    ok = true;
  } finally {
    fs.closeSync(fd);
    if (!ok) fs.rmSync(path, { force: true });
  }
}

// ---- Checking ------------------------------------------------------------------------------------------

/** Checks a snapshot's 64-byte header against itself and against `size`, the bytes there are. */
function checkHead(head: Int32Array, size: number): void {
  if (head[SN_MAGIC0] !== MAGIC0 || head[SN_MAGIC1] !== MAGIC1) throw badSnapshot("not a sabmalloc snapshot (no magic number)");
  if (head[SN_FORMAT] !== SNAPSHOT_FORMAT) throw badSnapshot(`snapshot format ${head[SN_FORMAT]}, this sabmalloc reads ${SNAPSHOT_FORMAT}`);
  if (!(head[SN_LAYOUT] >= L.HEAP_VERSION_READ_MIN && head[SN_LAYOUT] <= L.HEAP_VERSION)) {
    throw badSnapshot(`heap layout version ${head[SN_LAYOUT]}, this sabmalloc reads ${L.HEAP_VERSION_READ_MIN} to ${L.HEAP_VERSION}`);
  }
  const base = head[SN_BASE] >>> 0;
  const max = head[SN_MAX_CHUNKS];
  const nchunks = head[SN_NCHUNKS];
  const stored = head[SN_STORED];
  if (base % WASM_PAGE !== 0 || max < 1 || max > L.MAX_CHUNKS || base + max * L.CHUNK_SIZE > L.MAX_BUFFER_BYTES) {
    throw badSnapshot(`base ${base} and ${max} chunks at most do not make a heap below 4 GiB`);
  }
  if (nchunks < 1 || nchunks > max || stored < 1 || stored > nchunks) {
    throw badSnapshot(`${stored} of ${nchunks} chunks stored (at most ${max}): impossible`);
  }
  const length = SNAPSHOT_HEADER_BYTES + listBytes(stored) + stored * L.CHUNK_SIZE;
  if (snapshotLength(head) !== length) throw badSnapshot(`header says ${snapshotLength(head)} bytes, ${stored} chunks make ${length}`);
  if (size < length) throw badSnapshot(`truncated: ${size} bytes of ${length}`);
  if (size > length) throw badSnapshot(`${size - length} bytes past the snapshot's end (${length} bytes)`);
}

/** Checks the chunk list (after checkHead): chunk 0 first, then ascending, all below nchunks. */
function checkList(head: Int32Array): void {
  const list = chunkList(head);
  if (list[0] !== 0) throw badSnapshot("the header chunk (0) is not stored");
  for (let i = 1; i < list.length; i++) {
    if (!(list[i] > list[i - 1] && list[i] < head[SN_NCHUNKS])) throw badSnapshot(`chunk list: entry ${i} (${list[i]}) out of order or range`);
  }
  for (let i = SN_HEADER_WORDS + list.length; i < head.length; i++) if (head[i] !== 0) throw badSnapshot("chunk list: padding is not zero");
}

/** Checks the heap header inside chunk 0 (words from `hdr` of `m`) against the snapshot's header. */
function checkHeapHeader(m: Int32Array, hdr: number, head: Int32Array): void {
  const nslots = m[hdr + L.H_NSLOTS];
  const narenas = m[hdr + L.H_NARENAS];
  const pages = m[hdr + L.H_HEADER_PAGES];
  if (m[hdr + L.H_MAGIC] !== L.HEAP_MAGIC || m[hdr + L.H_VERSION] !== head[SN_LAYOUT] ||
      m[hdr + L.H_NCHUNKS] !== head[SN_NCHUNKS] || m[hdr + L.H_MAX_CHUNKS] !== head[SN_MAX_CHUNKS] ||
      !(nslots >= 1 && narenas >= 1 && pages >= 1 && L.CHUNK_HEADER_PAGES + pages <= L.CHUNK_PAGES)) {
    throw badSnapshot("chunk 0 holds no heap header that matches the snapshot's");
  }
  for (const w of [L.H_CHUNKTAB, L.H_ARENAS, L.H_SLOTS]) {
    const at = m[hdr + w];
    if (!(at > L.HEADER_WORD && at < L.HEADER_WORD + pages * (L.PAGE_SIZE / 4))) throw badSnapshot("heap header: table offsets out of range");
  }
}

/** The 64-byte header at the start of `first`, of a snapshot of `size` bytes, checked. */
function parseHead(first: Uint8Array, size: number): Int32Array {
  if (first.length < SNAPSHOT_HEADER_BYTES) throw badSnapshot(`truncated: ${size} bytes, the header alone is ${SNAPSHOT_HEADER_BYTES}`);
  const head = new Int32Array(SN_HEADER_WORDS);
  new Uint8Array(head.buffer).set(first.subarray(0, SNAPSHOT_HEADER_BYTES));
  checkHead(head, size);
  return head;
}

/** Bytes of header and chunk list of a snapshot whose checked header is `head`. */
function headBytes(head: Int32Array): number {
  return SNAPSHOT_HEADER_BYTES + listBytes(head[SN_STORED]);
}

/** The header and chunk list (its first headBytes(head) bytes in `bytes`) as aligned words, checked. */
function parseList(head: Int32Array, bytes: Uint8Array): Int32Array {
  const all = new Int32Array(headBytes(head) / 4);
  new Uint8Array(all.buffer).set(bytes.subarray(0, all.length * 4));
  checkList(all);
  return all;
}

/** Header and list of the snapshot `bytes`, checked. */
function readHead(bytes: Uint8Array): Int32Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("sabmalloc: a snapshot is a Uint8Array (from heap.snapshot())");
  return parseList(parseHead(bytes, bytes.length), bytes);
}

/** Hash of a snapshot's bytes after its header, aligned or not (a chunk at a time through `scratch`). */
function hashBody(h: Hash32, bytes: Uint8Array, from: number, scratch: Int32Array): void {
  const aligned = (bytes.byteOffset + from) % 4 === 0;
  const words = aligned ? new Int32Array(bytes.buffer, bytes.byteOffset + from, (bytes.length - from) / 4) : null;
  for (let at = from; at < bytes.length; at += L.CHUNK_SIZE) {
    const n = Math.min(L.CHUNK_SIZE, bytes.length - at);
    if (words !== null) {
      h.update(words, (at - from) / 4, n / 4);
    } else {
      new Uint8Array(scratch.buffer).set(bytes.subarray(at, at + n));
      h.update(scratch, 0, n / 4);
    }
  }
}

function checkSum(head: Int32Array, h: Hash32): void {
  const want = head[SN_CHECKSUM] >>> 0;
  const got = h.digest();
  if (got !== want) throw badSnapshot(`checksum ${got.toString(16)} where the header says ${want.toString(16)}: damaged bytes`);
}

/** Hash of the header and list, with the checksum word as 0. */
function hashHead(head: Int32Array): Hash32 {
  const copy = head.slice();
  copy[SN_CHECKSUM] = 0;
  const h = new Hash32();
  h.update(copy, 0, copy.length);
  return h;
}

// ---- Restoring -------------------------------------------------------------------------------------------

/** Heap.restore: a new heap on a new growable SharedArrayBuffer, at the saved base. */
export function restoreSnapshot(bytes: Uint8Array, options: { maxBytes?: number } | undefined, attach: Attach): Heap {
  const head = readHead(bytes);
  const h = hashHead(head);
  hashBody(h, bytes, head.length * 4, new Int32Array(L.CHUNK_WORDS));
  checkSum(head, h);
  const buf = newBuffer(head, options);
  const u8 = new Uint8Array(buf, 0, buf.byteLength);
  copyChunks(head, bytes, u8);
  checkHeapHeader(new Int32Array(buf, 0, buf.byteLength / 4), (head[SN_BASE] >>> 0) / 4 + L.HEADER_WORD, head);
  return adopt(buf, head, true, attach);
}

/** Heap.restoreInto: the heap rebuilt inside `memory`, at the saved base. */
export function restoreSnapshotInto(memory: WebAssembly.Memory, bytes: Uint8Array, attach: Attach): Heap {
  if (!(memory instanceof WebAssembly.Memory) || !(memory.buffer instanceof SharedArrayBuffer)) {
    throw new TypeError("sabmalloc: restoreInto needs a shared WebAssembly.Memory");
  }
  const head = readHead(bytes);
  const h = hashHead(head);
  hashBody(h, bytes, head.length * 4, new Int32Array(L.CHUNK_WORDS));
  checkSum(head, h);
  // The heap of this snapshot in its memory: chunk 0 must carry a heap header (checked on the bytes,
  // before the memory is touched).
  const c0 = new Int32Array(L.CHUNK_WORDS);
  new Uint8Array(c0.buffer).set(bytes.subarray(head.length * 4, head.length * 4 + L.CHUNK_SIZE));
  checkHeapHeader(c0, L.HEADER_WORD, head);
  const base = head[SN_BASE] >>> 0;
  const need = base + head[SN_NCHUNKS] * L.CHUNK_SIZE;
  const have = (memory.buffer as unknown as SharedArrayBuffer).byteLength;
  if (need > have) {
    try {
      memory.grow(Math.ceil((need - have) / WASM_PAGE));
    } catch {
      throw badSnapshot(`the heap at base ${base} needs the memory to reach ${need} bytes; it cannot grow past ${have}`);
    }
  }
  const buf = memory.buffer as unknown as SharedArrayBuffer;
  const u8 = new Uint8Array(buf, 0, buf.byteLength);
  copyChunks(head, bytes, u8);
  return adopt(memory, head, false, attach);
}

/** Heap.load(path): a snapshot file read straight into a new heap's buffer. */
export async function loadSnapshot(path: string, options: { maxBytes?: number } | undefined, attach: Attach): Promise<Heap> {
  const fs = await import("node:fs");
  const fd = fs.openSync(path, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const readAll = (into: Uint8Array, pos: number): void => {
      for (let done = 0; done < into.length;) {
        const n = fs.readSync(fd, into, done, into.length - done, pos + done);
        if (n === 0) throw badSnapshot(`truncated while reading at byte ${pos + done}`);
        done += n;
      }
    };
    const first = new Uint8Array(Math.min(size, SNAPSHOT_HEADER_BYTES));
    readAll(first, 0);
    const head0 = parseHead(first, size);
    const list = new Uint8Array(headBytes(head0));
    readAll(list, 0);
    const head = parseList(head0, list);
    const h = hashHead(head);
    const buf = newBuffer(head, options);
    const m = new Int32Array(buf, 0, buf.byteLength / 4);
    const u8 = new Uint8Array(buf, 0, buf.byteLength);
    const base = head[SN_BASE] >>> 0;
    let pos = head.length * 4;
    for (const c of chunkList(head)) {
      const at = base + c * L.CHUNK_SIZE;
      readAll(u8.subarray(at, at + L.CHUNK_SIZE), pos);
      h.update(m, at / 4, L.CHUNK_WORDS);
      pos += L.CHUNK_SIZE;
    }
    checkSum(head, h);
    checkHeapHeader(m, base / 4 + L.HEADER_WORD, head);
    return adopt(buf, head, true, attach);
  } finally {
    fs.closeSync(fd);
  }
}

/** A growable SharedArrayBuffer for the heap of `head`: its chunks now, room to grow as it had. */
function newBuffer(head: Int32Array, options: { maxBytes?: number } | undefined): SharedArrayBuffer {
  const base = head[SN_BASE] >>> 0;
  const bytes = base + head[SN_NCHUNKS] * L.CHUNK_SIZE;
  let max = base + head[SN_MAX_CHUNKS] * L.CHUNK_SIZE;
  const maxBytes = options?.maxBytes;
  if (maxBytes !== undefined) {
    if (typeof maxBytes !== "number" || !Number.isInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`sabmalloc: maxBytes must be a non-negative integer, not ${maxBytes}`);
    }
    if (base + maxBytes < bytes) throw new RangeError(`sabmalloc: maxBytes ${maxBytes} is less than the ${bytes - base} bytes the snapshot's heap has`);
    max = Math.min(max, base + Math.floor(maxBytes / L.CHUNK_SIZE) * L.CHUNK_SIZE);
  }
  return new SharedArrayBuffer(bytes, { maxByteLength: max });
}

/** Copies the stored chunks of `bytes` to their places in `u8` (the whole buffer). */
function copyChunks(head: Int32Array, bytes: Uint8Array, u8: Uint8Array): void {
  const base = head[SN_BASE] >>> 0;
  let from = head.length * 4;
  for (const c of chunkList(head)) {
    u8.set(bytes.subarray(from, from + L.CHUNK_SIZE), base + c * L.CHUNK_SIZE);
    from += L.CHUNK_SIZE;
  }
}

/**
 * Makes the restored image a working heap: chunks that were not stored become unused (zero when
 * the buffer is new), every lock is released, the restorer attaches and reclaims every other
 * thread slot, and ends up in slot 0.
 */
function adopt(backing: Backing, head: Int32Array, fresh: boolean, attach: Attach): Heap {
  const base = head[SN_BASE] >>> 0;
  const s = new Space(backing, base);
  const m = s.i32;
  s.ct = s.hw + m[s.hdr + L.H_CHUNKTAB];
  const stored = new Set(chunkList(head));
  for (let c = 1; c < head[SN_NCHUNKS]; c++) {
    if (!stored.has(c)) setChunkEntry(s, c, L.CK_FREE | (fresh ? L.CK_ZERO : 0));
  }
  m[s.hdr + L.H_VERSION] = L.HEAP_VERSION; // an older layout this version reads is this one (layout.ts)
  // Derived state that older sabmallocs did not keep (they left the word 0): counted again.
  for (let c = 0; c < head[SN_NCHUNKS]; c++) {
    if (stored.has(c) && chunkKind(chunkEntry(s, c)) === L.CK_ARENA) m[chunkWord(s, c) + L.CHUNK_ZERO_RANGE] = zeroRangeOf(s, c);
  }
  // The snapshot was taken with every lock held (and a thread may have been inside a lock).
  s.ar = s.hw + m[s.hdr + L.H_ARENAS];
  m[s.hdr + L.H_LOCK] = L.LOCK_FREE;
  m[s.hdr + L.H_LOCK_NAP] = 0;
  m[s.hdr + L.H_PROF_LOCK] = L.LOCK_FREE; // (snapshots take it too: lock order profile, arenas, global)
  for (let a = 0; a < m[s.hdr + L.H_NARENAS]; a++) {
    m[arenaWord(s, a) + L.A_LOCK] = L.LOCK_FREE;
    m[arenaWord(s, a) + L.A_LOCK_NAP] = 0;
  }
  s.sl = s.hw + m[s.hdr + L.H_SLOTS];
  s.refresh();
  dropInFlight(s);
  return attachAsFirst(s, Object.freeze({ backing, base }), attach);
}

/**
 * Takes out of the snapshot's thread caches every block that does not carry its free mark. The
 * fast paths change a cache without a lock, so a snapshot taken while a thread mallocs can list a
 * block in the thread's cache that the thread had already taken (mark cleared, maybe written): that
 * block is in use, and reclaim() must not free it. It stays allocated (lost, as a block in flight
 * when a thread dies). A snapshot of idle threads has no such block.
 */
function dropInFlight(s: Space): void {
  const m = s.i32;
  const nslots = m[s.hdr + L.H_NSLOTS];
  const end = s.hb + s.nchunks * L.CHUNK_SIZE;
  for (let k = 0; k < nslots; k++) {
    const tw = slotCache(s, k);
    if (tw === 0) continue;
    for (let b = 0; b < L.TC_NBINS; b++) {
      const n = tcCount(m, tw, b);
      if (n <= 0 || n > TC_CAP[b]) continue; // a stack the reclaim will find as it is
      const stack = tw + TC_STACK[b];
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const p = m[stack + i] >>> 0;
        if (p >= s.hb + L.CHUNK_HEADER_PAGES * L.PAGE_SIZE && p < end && p % 8 === 0 && hasFreeMark(m, p)) m[stack + kept++] = p;
      }
      if (kept === n) continue;
      tcSetCount(m, tw, b, kept);
      m[tw + TC_LARGE] -= (n - kept) * largeBinBytes(b);
    }
  }
}

/** flush(), a double free found as in reclaimQuietly. */
function flushQuietly(heap: Heap): void {
  try {
    heap.flush();
  } catch (e) {
    if (!(e instanceof HeapError && e.code === "DOUBLE_FREE")) throw e;
  }
}

/** reclaim(k); a double free found while its cache is returned was a block freed already: no loss. */
function reclaimQuietly(heap: Heap, k: number): void {
  try {
    heap.reclaim(k);
  } catch (e) {
    if (!(e instanceof HeapError && e.code === "DOUBLE_FREE")) throw e;
  }
}

/**
 * The restorer ends up in slot 0, every other slot of the snapshot reclaimed: it takes slot 0 over
 * (Heap.adoptSlot: its block, journal and cached blocks become the restorer's) when the snapshot's
 * slot 0 was in use, else it attaches (the lowest free slot: 0). The snapshot's slots may all have
 * been in use (maxThreads: 1), so no free slot is needed.
 */
function attachAsFirst(s: Space, handle: HeapHandle, attach: Attach): Heap {
  const m = s.i32;
  const n = m[s.hdr + L.H_NSLOTS];
  const adopted = (Atomics.load(m, s.sl + L.S_STATE) & L.SS_MASK) !== L.SS_FREE && m[s.sl + L.S_BLOCK] !== 0;
  const first = adopted ? attach(handle, 0) : attach(handle);
  for (let k = 0; k < n; k++) if (k !== first.slot) reclaimQuietly(first, k);
  if (adopted) flushQuietly(first); // the blocks its thread had cached are free again, as every other thread's
  return first;
}
