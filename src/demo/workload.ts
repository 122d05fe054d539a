// workload: what each demo worker does, over and over, to the shared table.
//
//   50% get     look the key up, check every byte of its record
//   30% put     malloc a record of a random size, fill it, link it (free the record it replaces)
//   20% delete  unlink the key's record, check it, free it
//
// Keys are uniform over a fixed key space, so about 60% of them are present at any time
// (puts of absent keys balance deletes of present ones: 0.3 (1 - p) = 0.2 p). Record sizes mix
// what real programs allocate: mostly small, some up to the largest small class, a few large page
// runs and, rarely, huge multi-chunk blocks.

import { Put, SharedTable } from "./table.js";

/** What the main thread hands each worker (see worker.ts). */
export interface WorkerData {
  table: number;
  ctl: SharedArrayBuffer;
  id: number;
  keys: number;
  seed: number;
}

export const enum Phase {
  WAIT = 0,
  GO = 1,
  STOP = 2,
}

/** Payload bytes of a record, from a uniform random number r in [0, 1). */
export function recordSize(r: number, s: number): number {
  if (r < 0.6) return Math.floor(s * 116); // 12 .. 128-byte blocks
  if (r < 0.85) return 116 + Math.floor(s * 900); // .. 1 KiB
  if (r < 0.985) return 1012 + Math.floor(s * 13300); // .. 14 KiB: the largest small classes
  if (r < 0.9995) return 14400 + Math.floor(s * 120000); // large: page runs up to ~132 KiB
  return (1 << 20) + Math.floor(s * (3 << 19)); // huge: 1 .. 2.5 MiB, whole chunks
}

export interface Counters {
  ops: number;
  gets: number;
  hits: number;
  inserts: number;
  replaces: number;
  deletes: number;
  full: number;
  bytesWritten: number;
  bytesChecked: number;
}

export function newCounters(): Counters {
  return { ops: 0, gets: 0, hits: 0, inserts: 0, replaces: 0, deletes: 0, full: 0, bytesWritten: 0, bytesChecked: 0 };
}

/** xorshift32: a fast, small random number generator (one per thread). */
export class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = seed | 0 || 0x2545f491;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x;
    return (x >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Runs `n` operations of the mix on `table`, adding to `c`. */
export function runOps(table: SharedTable, keys: number, n: number, rng: Rng, c: Counters): void {
  for (let k = 0; k < n; k++) {
    const op = rng.next();
    const key = rng.int(keys);
    if (op < 0.5) {
      c.gets++;
      const len = table.get(key);
      if (len >= 0) {
        c.hits++;
        c.bytesChecked += len;
      }
    } else if (op < 0.8) {
      const len = recordSize(rng.next(), rng.next());
      const r = table.put(key, len, rng.int(0x7fffffff));
      if (r === Put.FULL) c.full++;
      else {
        c.bytesWritten += len;
        if (r === Put.INSERTED) c.inserts++;
        else c.replaces++;
      }
    } else {
      const len = table.delete(key);
      if (len >= 0) {
        c.deletes++;
        c.bytesChecked += len;
      }
    }
  }
  c.ops += n;
}
