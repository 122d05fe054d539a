// The benchmark suite runs: `bench/run.mjs --smoke` (tiny sizes) completes against the built
// library and reports a result for every workload and every allocator, single- and multi-threaded.
// No timing is asserted: speed is shown by `npm run bench`, never by a test.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

interface Outcome { status: string; nsPerOp?: { median: number }; rate?: { median: number } }
interface Results {
  adapters: { id: string; ok: boolean }[];
  st: { id: string; title: string; adapters: Record<string, Outcome> }[];
  mt: { id: string; rows: { workers: number; configs: Record<string, Outcome> }[] }[];
}

test("bench --smoke completes and reports every workload for every allocator", { timeout: 180_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), "sabmalloc-bench-"));
  try {
    const json = join(out, "results.json");
    const r = spawnSync(process.execPath, ["--expose-gc", "bench/run.mjs", "--smoke", "--require-sabmalloc",
      "--out-dir", out, "--json", json], { cwd: root, encoding: "utf8", timeout: 170_000 });
    assert.equal(r.status, 0, `bench exited with ${r.status}\n${r.stdout}\n${r.stderr}`);
    const res = JSON.parse(readFileSync(json, "utf8")) as Results;
    const ids = res.adapters.map((a) => a.id);
    assert.deepEqual(ids.sort(), ["as-tlsf", "gc-f64", "gc-u8", "sabmalloc", "sabmalloc-lock", "thi.ng"]);
    for (const a of res.adapters) assert.ok(a.ok, `${a.id} loaded`);
    // Single-threaded: one row per workload, a measured number for every allocator (a slow peer may
    // time out: that is a result too), and sabmalloc itself always completes.
    assert.ok(res.st.length >= 8, `${res.st.length} single-threaded workloads`);
    for (const w of res.st) {
      for (const id of ids) {
        const o = w.adapters[id];
        assert.ok(o && (o.status === "ok" || o.status === "timeout"), `${w.id} / ${id}: ${o?.status}`);
      }
      assert.equal(w.adapters.sabmalloc.status, "ok", `${w.id} / sabmalloc`);
      assert.ok((w.adapters.sabmalloc.nsPerOp?.median ?? 0) > 0, `${w.id} / sabmalloc has a time`);
    }
    // Multi-threaded: every workload at 1, 2 and 4 workers, both configurations completed.
    assert.deepEqual(res.mt.map((w) => w.id).sort(), ["cache-scratch", "larson", "mstress", "xmalloc"]);
    for (const w of res.mt) {
      assert.deepEqual(w.rows.map((row) => row.workers), [1, 2, 4], w.id);
      for (const row of w.rows) {
        for (const cfg of ["sabmalloc", "sabmalloc-lock"]) {
          assert.equal(row.configs[cfg]?.status, "ok", `${w.id} x${row.workers} / ${cfg}`);
          assert.ok((row.configs[cfg].rate?.median ?? 0) > 0, `${w.id} x${row.workers} / ${cfg} has a rate`);
        }
      }
    }
    const md = readFileSync(join(out, "results.md"), "utf8");
    for (const w of res.st) assert.ok(md.includes(w.title), `results.md has a row for ${w.title}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
