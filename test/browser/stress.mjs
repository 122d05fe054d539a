// The stress workload of the browser test, run by every Web Worker and by the page's main thread.
//
// Each thread keeps LOCAL live blocks; every operation frees one (checking its pattern first) and
// allocates another of a random size (8 B .. 2 MiB), fills it with a pattern derived from its
// address and size, and now and then reallocs one or swaps one with the shared exchange array (which
// lives in the heap too), so that blocks are freed by threads other than the one that made them.
//
//   block: | size (u32) | word i = ptr ^ (i * 0x9e3779b1), for i = 1 .. size/4 - 1 |

const LOCAL = 512;

export class Stress {
  constructor(heap, xchg, nxchg, seed) {
    this.heap = heap;
    this.xchg = xchg; // byte address of the exchange array: nxchg words, 0 = empty
    this.nxchg = nxchg;
    this.x = seed | 0 || 1;
    this.local = new Array(LOCAL).fill(0);
    this.ops = 0;
    this.checked = 0;
    this.u32 = new Uint32Array(0);
    this.i32 = new Int32Array(0);
  }

  rand() {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x;
    return (x >>> 0) / 4294967296;
  }

  size() {
    const r = this.rand();
    const s = this.rand();
    if (r < 0.7) return 8 + Math.floor(s * 248);
    if (r < 0.95) return 256 + Math.floor(s * 16128);
    if (r < 0.999) return 16384 + Math.floor(s * 180000);
    return (1 << 20) + Math.floor(s * (1 << 20));
  }

  view(end) {
    if (end > this.u32.byteLength) {
      const b = this.heap.buffer;
      this.u32 = new Uint32Array(b, 0, b.byteLength >>> 2);
      this.i32 = new Int32Array(b, 0, b.byteLength >>> 2);
    }
    return this.u32;
  }

  fill(p, n) {
    const m = this.view(p + n);
    const w = p >>> 2;
    m[w] = n;
    for (let i = 1; i < n >>> 2; i++) m[w + i] = (p ^ Math.imul(i, 0x9e3779b1)) >>> 0;
  }

  check(p, upTo = Infinity) {
    const m = this.view(p + 4);
    const w = p >>> 2;
    const n = m[w];
    if (n < 8 || n > this.heap.usableSize(p)) throw new Error(`block ${p}: size word ${n} is wrong`);
    this.view(p + n);
    const words = Math.min(n, upTo) >>> 2;
    for (let i = 1; i < words; i++) {
      if (this.u32[w + i] !== ((p ^ Math.imul(i, 0x9e3779b1)) >>> 0)) throw new Error(`block ${p} (${n} B): word ${i} was overwritten`);
    }
    this.checked++;
    return n;
  }

  alloc() {
    const n = (this.size() + 3) & ~3;
    const p = this.heap.malloc(n);
    if (p === 0) throw new Error(`malloc(${n}) returned 0`);
    if (p % 8 !== 0 || (n >= 16 && p % 16 !== 0)) throw new Error(`malloc(${n}) = ${p} is misaligned`);
    this.fill(p, n);
    return p;
  }

  /** Runs `n` operations. */
  step(n) {
    const heap = this.heap;
    for (let k = 0; k < n; k++) {
      const i = Math.floor(this.rand() * LOCAL);
      const old = this.local[i];
      const r = this.rand();
      if (old !== 0 && r < 0.05) {
        // realloc: the contents up to the smaller size must survive
        const had = this.check(old);
        const want = (this.size() + 3) & ~3;
        const p = heap.realloc(old, want);
        if (p === 0) throw new Error(`realloc(${old}, ${want}) returned 0`);
        const m = this.view(p + want);
        const keep = Math.min(had, want) >>> 2;
        for (let j = 1; j < keep; j++) {
          if (m[(p >>> 2) + j] !== ((old ^ Math.imul(j, 0x9e3779b1)) >>> 0)) throw new Error(`realloc(${old} -> ${p}): word ${j} lost`);
        }
        this.fill(p, want);
        this.local[i] = p;
      } else if (old !== 0 && r < 0.15) {
        // swap with the exchange array: what comes out was probably made by another thread
        this.view(this.xchg + 4 * this.nxchg);
        const j = (this.xchg >>> 2) + Math.floor(this.rand() * this.nxchg);
        const got = Atomics.exchange(this.i32, j, old) >>> 0;
        if (got !== 0) this.check(got);
        this.local[i] = got;
      } else {
        if (old !== 0) {
          this.check(old);
          heap.free(old);
        }
        this.local[i] = this.alloc();
      }
    }
    this.ops += n;
  }

  /** Frees every local block. */
  finish() {
    for (let i = 0; i < LOCAL; i++) {
      if (this.local[i] !== 0) {
        this.check(this.local[i]);
        this.heap.free(this.local[i]);
        this.local[i] = 0;
      }
    }
  }
}

/** Frees whatever is left in the exchange array (after every thread has finished). */
export function drainExchange(heap, xchg, nxchg) {
  const s = new Stress(heap, xchg, nxchg, 1);
  const m = s.view(xchg + 4 * nxchg);
  let n = 0;
  for (let j = 0; j < nxchg; j++) {
    const p = m[(xchg >>> 2) + j];
    if (p !== 0) {
      s.check(p);
      heap.free(p);
      m[(xchg >>> 2) + j] = 0;
      n++;
    }
  }
  return n;
}
