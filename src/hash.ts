// hash: xxHash32 (Yann Collet's), fed in pieces, for the checksum of heap snapshots (snapshot.ts).
//
// Snapshots are read and written a chunk at a time, so the hash keeps its four lanes between
// calls. Every piece is a whole number of 16-byte stripes (the snapshot pads its parts to 16
// bytes), read as little-endian 32-bit words from an Int32Array: the result is exactly xxHash32
// with seed 0 of the concatenated bytes (inputs of at least 16 bytes). Word reads make it fast in
// JavaScript: about 2 GB/s here, so hashing adds little to a copy of the heap.
//
//   stripe: | w0 | w1 | w2 | w3 |   lane i: acc = rotl(acc + wi * P2, 13) * P1

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;

export class Hash32 {
  private v1 = (P1 + P2) | 0;
  private v2 = P2;
  private v3 = 0;
  private v4 = -P1 | 0;
  /** Bytes hashed so far. */
  length = 0;

  /** Hashes words [from, from + words) of `m`; `words` is a multiple of 4 (16-byte stripes). */
  update(m: Int32Array, from: number, words: number): void {
    if ((words & 3) !== 0) throw new RangeError("sabmalloc: hash input must be whole 16-byte stripes");
    let v1 = this.v1;
    let v2 = this.v2;
    let v3 = this.v3;
    let v4 = this.v4;
    const end = from + words;
    for (let i = from; i < end; i += 4) {
      v1 = (v1 + Math.imul(m[i], P2)) | 0;
      v1 = Math.imul((v1 << 13) | (v1 >>> 19), P1);
      v2 = (v2 + Math.imul(m[i + 1], P2)) | 0;
      v2 = Math.imul((v2 << 13) | (v2 >>> 19), P1);
      v3 = (v3 + Math.imul(m[i + 2], P2)) | 0;
      v3 = Math.imul((v3 << 13) | (v3 >>> 19), P1);
      v4 = (v4 + Math.imul(m[i + 3], P2)) | 0;
      v4 = Math.imul((v4 << 13) | (v4 >>> 19), P1);
    }
    this.v1 = v1;
    this.v2 = v2;
    this.v3 = v3;
    this.v4 = v4;
    this.length += words * 4;
  }

  /** The hash of everything so far, as an unsigned 32-bit number. */
  digest(): number {
    const { v1, v2, v3, v4 } = this;
    let h = (((v1 << 1) | (v1 >>> 31)) + ((v2 << 7) | (v2 >>> 25)) + ((v3 << 12) | (v3 >>> 20)) + ((v4 << 18) | (v4 >>> 14))) | 0;
    h = (h + (this.length % 4294967296)) | 0;
    h ^= h >>> 15;
    h = Math.imul(h, P2);
    h ^= h >>> 13;
    h = Math.imul(h, P3);
    h ^= h >>> 16;
    return h >>> 0;
  }
}

/** xxHash32 of `bytes` (a multiple of 16 bytes, at least 16), for tests. */
export function xxhash32(bytes: Uint8Array): number {
  const copy = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const h = new Hash32();
  h.update(new Int32Array(copy.buffer, copy.byteOffset, copy.length >>> 2), 0, copy.length >>> 2);
  return h.digest();
}
