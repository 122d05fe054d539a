// `sabmalloc inspect FILE` on a heap saved by `sabmalloc demo --save`, and `demo --load` going on
// from it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = join(root, "dist/cli.js");

test("demo --save, inspect (report, check, map, JSON), demo --load: the table comes back and the workload goes on", { timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sabmalloc-inspect-"));
  try {
    const file = join(dir, "heap.bin");
    const saved = JSON.parse((await run(process.execPath, [cli, "demo", "--workers", "2", "--seconds", "0.5", "--keys", "3000",
      "--max-bytes", "128M", "--json", "--out", join(dir, "a.svg"), "--save", file], { timeout: 100000 })).stdout);
    assert.equal(saved.saved.file, file);
    assert.ok(saved.saved.bytes > 1 << 20);

    const { stdout } = await run(process.execPath, [cli, "inspect", file, "--svg", join(dir, "map.svg")], { timeout: 60000 });
    assert.match(stdout, /a sabmalloc heap snapshot of/);
    assert.match(stdout, /roots: demo\.table = \d+/);
    assert.match(stdout, /___ Begin sabmalloc statistics ___/);
    assert.match(stdout, /check\(\): passed/);
    assert.match(readFileSync(join(dir, "map.svg"), "utf8"), /^<svg /);

    const j = JSON.parse((await run(process.execPath, [cli, "inspect", file, "--json"], { timeout: 60000 })).stdout);
    assert.equal(j.check, "passed");
    assert.equal(j.stats.threads, 1);
    assert.equal(j.stats.allocated, saved.stats.allocated - saved.stats.cached, "the saved heap's live bytes");
    assert.ok(j.roots["demo.table"] > 0);

    const loaded = JSON.parse((await run(process.execPath, [cli, "demo", "--workers", "2", "--seconds", "0.5", "--json",
      "--out", join(dir, "b.svg"), "--load", file], { timeout: 100000 })).stdout);
    assert.equal(loaded.loaded.records, saved.table.records, "every record found and verified");
    assert.equal(loaded.config.keys, 4096, "the key space of the saved table: half its 8192 slots");
    assert.ok(loaded.results.ops > 0);
    assert.equal(loaded.teardown.check, "passed");
    assert.equal(loaded.teardown.allocated, 0);

    // A damaged file: BAD_SNAPSHOT, exit 1.
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 1;
    writeFileSync(join(dir, "bad.bin"), bytes);
    await assert.rejects(run(process.execPath, [cli, "inspect", join(dir, "bad.bin")]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /BAD_SNAPSHOT: checksum/);
      return true;
    });
    await assert.rejects(run(process.execPath, [cli, "inspect"]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /usage: sabmalloc inspect/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
