// V8 and the fast paths: a caller that V8 optimized while every free took the fast path stays
// optimized when a free first takes the slow path (heap.ts: primeFree). Without the priming, the
// first slow free deoptimized such a caller, and a loop called seldom was then left in slower
// code for the rest of its thread's life (2x, measured on a larson-style loop in workers).
// Likewise a caller of the lock through its first contended lock (lock.ts: lockPrime).
// The checks run in a child node with --allow-natives-syntax (test/jit/*.mjs), which optimizes
// the caller on demand and reads its optimization status: no timing involved.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const script = fileURLToPath(new URL("../../test/jit/free-slow-path.mjs", import.meta.url));
const lockScript = fileURLToPath(new URL("../../test/jit/lock-contended.mjs", import.meta.url));

/** Runs `file` in a child node with the natives syntax; its last line of output, as JSON. */
async function child<T>(file: string, args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, ["--allow-natives-syntax", file, ...args], { timeout: 30000 });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "") as T;
}

/** What a child reports: whether its caller was optimized before the event, and after it. */
interface Optimized {
  before: boolean;
  after: boolean;
}

/**
 * Runs a child twice, as the control (--unprimed) and primed, checks each with `sound`, and then
 * that the primed caller stayed optimized through the event: where this V8 keeps even the
 * control's caller optimized, there is nothing for the priming to prevent, and the test skips.
 */
async function primingKeepsOptimized<T extends Optimized>(t: TestContext, file: string, sound: (o: T) => void, event: string): Promise<void> {
  const control = await child<T>(file, ["--unprimed"]);
  assert.equal(control.before, true, "the caller was optimized");
  sound(control);
  const primed = await child<T>(file, []);
  assert.equal(primed.before, true, "the caller was optimized");
  sound(primed);
  if (control.after) {
    t.skip("this V8 keeps the caller optimized even without the priming");
    return;
  }
  assert.equal(primed.after, true, `${event} deoptimized the caller`);
}

test("a caller optimized on fast frees stays optimized through the first slow free", async (t) => {
  // The control: a copy of free that was never primed.
  await primingKeepsOptimized<Optimized & { allocated: number }>(t, script, (o) => {
    assert.equal(o.allocated, 0, "every block was freed");
  }, "the first slow free");
});

test("a caller optimized on free locks stays optimized through its first contended lock (lockPrime)", async (t) => {
  // The control: no lockPrime().
  await primingKeepsOptimized<Optimized & { got: boolean; free: boolean }>(t, lockScript, (o) => {
    assert.ok(o.got && o.free, "the caller got the lock once the other owner let it go, and released it");
  }, "the first contended lock");
});
