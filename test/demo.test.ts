// The command-line demo (`sabmalloc demo`, what `npm start` runs): workers share a heap and a hash
// map in it, every record is checked, and at the end the heap is consistent and empty.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = join(root, "dist/cli.js");

test("sabmalloc demo --json reports throughput and stats, writes the heap map, and leaves the heap empty", { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sabmalloc-demo-"));
  try {
    const out = join(dir, "map.svg");
    const { stdout, stderr } = await run(process.execPath,
      [cli, "demo", "--workers", "2", "--seconds", "0.5", "--max-bytes", "64M", "--json", "--out", out], { timeout: 50000 });
    const r = JSON.parse(stdout);
    assert.equal(r.config.workers, 2);
    assert.ok(r.results.ops > 1000, `ops ${r.results.ops}`);
    assert.ok(r.results.opsPerSec > 0);
    assert.equal(r.results.workers.length, 2);
    assert.ok(r.table.records > 0);
    assert.equal(r.stats.threads, 3, "the main thread and both workers were attached when the stats were taken");
    assert.ok(r.stats.allocated > 0 && r.stats.capacity <= 64 * 2 ** 20);
    assert.equal(r.teardown.check, "passed");
    assert.equal(r.teardown.allocated, 0);
    const svg = readFileSync(out, "utf8");
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.doesNotMatch(stderr, /\x1b\[/, "no progress bar escapes when stderr is not a terminal");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("sabmalloc demo prints a report without --json; bad flags print the usage and exit 2", { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sabmalloc-demo-"));
  try {
    const { stdout } = await run(process.execPath, [cli, "demo", "--workers", "1", "--seconds", "0.3", "--keys", "2000"],
      { cwd: dir, timeout: 50000 });
    assert.match(stdout, /throughput: .* ops\/s/);
    assert.match(stdout, /___ Begin sabmalloc statistics ___/);
    assert.match(stdout, /heap map: wrote heapmap\.svg/);
    assert.match(stdout, /teardown: .*check\(\) passed, allocated 0 B$/m);
    await assert.rejects(run(process.execPath, [cli, "demo", "--workers", "zero"]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /usage: sabmalloc demo/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("sabmalloc demo --chaos terminates and replaces workers while it runs, and still verifies every record", { timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sabmalloc-demo-"));
  try {
    const { stdout } = await run(process.execPath,
      [cli, "demo", "--workers", "2", "--seconds", "4", "--max-bytes", "64M", "--chaos", "--json", "--out", join(dir, "m.svg")],
      { timeout: 110000 });
    const r = JSON.parse(stdout);
    assert.ok(r.chaos.kills >= 1, `workers terminated: ${r.chaos.kills}`);
    assert.ok(r.table.records > 0, "every record still there was checked byte for byte");
    assert.equal(r.teardown.check, "passed");
    assert.equal(r.teardown.stats.threads, 1, "every terminated worker's slot was reclaimed");
    // Only records in flight in a terminated worker may be lost: one per termination at most.
    assert.ok(r.teardown.allocated <= r.chaos.kills * 2.6 * 2 ** 20, `allocated ${r.teardown.allocated}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
