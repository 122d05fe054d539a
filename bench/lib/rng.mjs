// Seeded pseudo-random numbers. Every workload's trace is generated from these, so every
// allocator sees exactly the same sequence of requests for a given --seed.

/** FNV-1a hash of strings/numbers into a 32-bit seed. */
export function seedFor(...parts) {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = String(part);
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x2c; // separator
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) || 1;
}

/** sfc32 generator (small, fast, good statistical quality), seeded through splitmix32. */
export class Rng {
  constructor(seed) {
    let s = seed >>> 0;
    const sm = () => {
      s = (s + 0x9e3779b9) | 0;
      let t = s ^ (s >>> 16);
      t = Math.imul(t, 0x21f0aafd);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.a = sm(); this.b = sm(); this.c = sm(); this.d = sm() | 1;
    for (let i = 0; i < 12; i++) this.u32();
  }
  /** uniform integer in [0, 2^32) */
  u32() {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a; this.b = b; this.c = c; this.d = d;
    return t >>> 0;
  }
  /** uniform float in [0, 1) */
  float() { return this.u32() / 4294967296; }
  /** uniform integer in [lo, hi] (inclusive) */
  int(lo, hi) { return lo + Math.floor(this.float() * (hi - lo + 1)); }
  /** integer in [lo, hi], log-uniformly distributed (small sizes as likely per octave as large ones) */
  logInt(lo, hi) {
    const v = Math.floor(lo * Math.pow((hi + 1) / lo, this.float()));
    return v > hi ? hi : v;
  }
}

/** A Uint32Array of n log-uniform sizes in [lo, hi]. */
export function sizeTrace(rng, n, lo, hi) {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.logInt(lo, hi);
  return out;
}

/** A Uint32Array of n uniform integers in [0, m). */
export function indexTrace(rng, n, m) {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.u32() % m;
  return out;
}

export function sum(arr) {
  let s = 0;
  for (let i = 0; i < arr.length; i++) s += arr[i];
  return s;
}
