// V8 and the fast paths: a caller that V8 optimized while every free took the fast path stays
// optimized when a free first takes the slow path (heap.ts: primeFree). Without the priming, the
// first slow free deoptimized such a caller, and a loop called seldom was then left in slower
// code for the rest of its thread's life (2x, measured on a larson-style loop in workers).
// Likewise a caller of the lock through its first contended lock (lock.ts: lockPrime).
// The checks run in a child node with --allow-natives-syntax (test/jit/*.mjs), which optimizes
// the caller on demand and reads its optimization status: no timing involved.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const script = fileURLToPath(new URL("../../test/jit/free-slow-path.mjs", import.meta.url));
const lockScript = fileURLToPath(new URL("../../test/jit/lock-contended.mjs", import.meta.url));

interface Outcome {
  before: boolean;
  after: boolean;
  allocated: number;
}

async function outcome(...args: string[]): Promise<Outcome> {
  const { stdout } = await run(process.execPath, ["--allow-natives-syntax", script, ...args], { timeout: 30000 });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "") as Outcome;
}

test("a caller optimized on fast frees stays optimized through the first slow free", async (t) => {
  // The control: the same with a copy of free that was never primed. Where this V8 does not
  // deoptimize the caller then, there is nothing for the priming to prevent.
  const control = await outcome("--unprimed");
  assert.equal(control.before, true, "the caller was optimized");
  assert.equal(control.allocated, 0);
  const primed = await outcome();
  assert.equal(primed.before, true, "the caller was optimized");
  assert.equal(primed.allocated, 0, "every block was freed");
  if (control.after) {
    t.skip("this V8 keeps the caller optimized even without the priming");
    return;
  }
  assert.equal(primed.after, true, "the first slow free deoptimized the caller");
});

interface LockOutcome {
  before: boolean;
  after: boolean;
  got: boolean;
  free: boolean;
}

async function lockOutcome(...args: string[]): Promise<LockOutcome> {
  const { stdout } = await run(process.execPath, ["--allow-natives-syntax", lockScript, ...args], { timeout: 30000 });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "") as LockOutcome;
}

test("a caller optimized on free locks stays optimized through its first contended lock (lockPrime)", async (t) => {
  // The control: no lockPrime(). Where this V8 does not deoptimize the caller then, there is
  // nothing for the priming to prevent.
  const control = await lockOutcome("--unprimed");
  assert.equal(control.before, true, "the caller was optimized");
  assert.ok(control.got && control.free, "the caller got the lock once the other owner let it go, and released it");
  const primed = await lockOutcome();
  assert.equal(primed.before, true, "the caller was optimized");
  assert.ok(primed.got && primed.free, "the caller got the lock once the other owner let it go, and released it");
  if (control.after) {
    t.skip("this V8 keeps the caller optimized even without the priming");
    return;
  }
  assert.equal(primed.after, true, "the first contended lock deoptimized the caller");
});
