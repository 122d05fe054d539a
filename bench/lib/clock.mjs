// The adaptive deadline check of the flat measured loops (workloads/micro.mjs; native.c: clk_end,
// clk_check). Reading the clock costs ~30 ns, more than a fast malloc+free, while one thi.ng free
// with a million live blocks costs milliseconds. So a loop runs its operations in chunks of
// `stride`, an inner loop with nothing but the workload's own lines, and reads the clock after
// each chunk: the stride doubles while two readings are less than 1 ms apart (up to 4096) and
// halves when they are more than 2 ms apart, so a slow allocator stops within a few operations
// of the deadline. The harness passes each run a fresh Clock; its methods run once a chunk.

export class Clock {
  /** A clock for a run that must stop once performance.now() passes `deadline` (ms). */
  constructor(deadline) {
    this.deadline = deadline;
    this.stride = 1;
    this.last = performance.now();
  }

  /** Starts the timed part (stride 1 again); returns its start time, performance.now(). */
  start() {
    this.stride = 1;
    this.last = performance.now();
    return this.last;
  }

  /** Stride 1 again, for a phase whose operations may cost far more than the last ones'. */
  restride() {
    this.stride = 1;
  }

  /** The end of the next chunk of operations from `i` of `n`: `stride` of them at most. */
  end(i, n) {
    return n - i > this.stride ? i + this.stride : n;
  }

  /** After a chunk: true when the deadline has passed; else the stride adapts. */
  passed() {
    const now = performance.now();
    if (now > this.deadline) return true;
    const d = now - this.last;
    this.last = now;
    const s = this.stride;
    this.stride = d < 1 ? (s < 4096 ? s * 2 : s) : d > 2 && s > 1 ? s >> 1 : s;
    return false;
  }
}
