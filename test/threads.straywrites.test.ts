// 20 random words written over one chunk's header pages (an off-by-one in a user's struct layout
// does this): later ordinary malloc/free calls work or throw HeapError, never hang (every walk
// is bounded), never overflow the stack, never throw anything else. Each try runs in a worker that
// must answer within its time limit.

import assert from "node:assert/strict";
import { test } from "node:test";
import { firstMessage, spawn } from "./threads.util.js";

// (The allocator before bounded walks hung in 1 of 24 such tries, silently, at 100% CPU.)
const TRIES = 40;

interface Outcome {
  ok: boolean;
  heapErrors: number;
  other: string[];
}

test("stray writes over a chunk header end in HeapError or work, never a hang", { timeout: 300_000 }, async (t) => {
  let noticed = 0;
  for (let seed = 1; seed <= TRIES; seed++) {
    const w = spawn(t, "stray", { seed, words: 20, calls: 3000 });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      firstMessage<Outcome>(w),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`try ${seed}: no answer in 20 s: a hang`)), 20_000);
      }),
    ]).finally(() => clearTimeout(timer));
    await w.terminate();
    assert.deepEqual(outcome.other, [], `try ${seed}: only HeapErrors`);
    if (outcome.heapErrors > 0) noticed++;
  }
  assert.ok(noticed >= TRIES / 2, `the damage is noticed in most tries (${noticed} of ${TRIES})`);
});
