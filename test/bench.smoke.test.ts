// The benchmark suite runs: `bench/run.mjs --smoke` (tiny sizes) completes against the built
// library and reports a result for every workload and every allocator, single- and multi-threaded.
// No timing is asserted: speed is shown by `npm run bench`, never by a test.
// The native (C) columns must run when the machine has a C compiler (native-jemalloc: when
// libjemalloc.so.2 is installed too); without them, the run must still pass with those columns skipped.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

const hasCompiler = [process.env.CC, "cc", "gcc", "clang"].some((cc) => cc && spawnSync(cc, ["--version"]).status === 0);
const hasJemalloc = existsSync("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2") ||
  /libjemalloc\.so\.2 /.test(spawnSync("ldconfig", ["-p"], { encoding: "utf8" }).stdout ?? "");
const nativeIds = process.platform === "linux" && hasCompiler ? ["native-glibc", ...(hasJemalloc ? ["native-jemalloc"] : [])] : [];

interface Outcome {
  status: string; nsPerOp?: { median: number }; rate?: { median: number }; rates?: number[];
  otherCores?: { median: number } | null; memory?: { peakRequested: number; samples: number } | null;
}
interface Results {
  meta: { freshHosts?: boolean; mtReps?: number };
  adapters: { id: string; ok: boolean; reason?: string }[];
  st: { id: string; title: string; adapters: Record<string, Outcome> }[];
  mt: {
    id: string;
    rows: { workers: number; configs: Record<string, Outcome> }[];
    floor?: { floor: { scaling: number }; sabmalloc: { scaling: number } };
  }[];
}

test("bench --smoke completes and reports every workload for every allocator", { timeout: 180_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), "sabmalloc-bench-"));
  try {
    const json = join(out, "results.json");
    const r = spawnSync(process.execPath, ["--expose-gc", "bench/run.mjs", "--smoke", "--require-sabmalloc",
      "--out-dir", out, "--json", json], { cwd: root, encoding: "utf8", timeout: 170_000 });
    assert.equal(r.status, 0, `bench exited with ${r.status}\n${r.stdout}\n${r.stderr}`);
    const res = JSON.parse(readFileSync(json, "utf8")) as Results;
    assert.deepEqual(res.adapters.map((a) => a.id).sort(), ["as-tlsf", "freelist", "gc-f64", "gc-u8", "js-objects",
      "native-glibc", "native-jemalloc", "no-allocator", "no-allocator-checked", "no-allocator-mark", "no-allocator-move", "no-allocator-touch", "sabmalloc", "sabmalloc-lock", "sabmalloc-profiled", "sabmalloc-wasm", "thi.ng"]);
    for (const a of res.adapters) {
      if (a.id.startsWith("native-") && !nativeIds.includes(a.id)) continue; // no compiler / no jemalloc: skipped
      assert.ok(a.ok, `${a.id} loaded${a.reason ? `: ${a.reason}` : ""}`);
    }
    const ids = res.adapters.filter((a) => a.ok).map((a) => a.id);
    // Single-threaded: one row per workload, a measured number for every allocator it applies to (a
    // slow peer may time out: that is a result too), and sabmalloc itself always completes.
    assert.ok(res.st.length >= 8, `${res.st.length} single-threaded workloads`);
    const tree = /^tree\//;
    for (const w of res.st) {
      for (const id of ids) {
        const o = w.adapters[id];
        const na = (tree.test(w.id) ? id === "gc-u8" || id === "gc-f64" : id === "freelist" || id === "js-objects") ||
          (id === "no-allocator-touch" && !w.id.startsWith("replace/")) ||
          (id === "no-allocator-mark" && !w.id.startsWith("batch/") && !w.id.startsWith("replace/") && !/^malloc-free\/(16|32)$|^tree\/(4|10|16)$/.test(w.id)) ||
          (id === "no-allocator-checked" && !/^malloc-free\/(16|32)$|^replace\/1[kM]$|^tree\/(4|10|16)$/.test(w.id)) ||
          (id === "no-allocator-move" && !w.id.startsWith("realloc/")) ||
          (id === "sabmalloc-wasm" && !/^(calloc|realloc)\//.test(w.id));
        if (na) assert.equal(o?.status, "n/a", `${w.id} / ${id}`);
        else assert.ok(o && (o.status === "ok" || o.status === "timeout"), `${w.id} / ${id}: ${o?.status}`);
      }
      for (const id of nativeIds) assert.ok((w.adapters[id].nsPerOp?.median ?? 0) > 0, `${w.id} / ${id} has a time`);
      assert.equal(w.adapters.sabmalloc.status, "ok", `${w.id} / sabmalloc`);
      assert.ok((w.adapters.sabmalloc.nsPerOp?.median ?? 0) > 0, `${w.id} / sabmalloc has a time`);
    }
    // Multi-threaded: every workload at 1, 2 and 4 workers, both configurations completed; larson
    // and tree also in C (pthreads) where the native columns run.
    assert.deepEqual(res.mt.map((w) => w.id).sort(), ["cache-scratch", "larson", "mstress", "tree", "xmalloc"]);
    for (const w of res.mt) {
      assert.deepEqual(w.rows.map((row) => row.workers), [1, 2, 4], w.id);
      for (const row of w.rows) {
        for (const cfg of ["sabmalloc", "sabmalloc-lock", ...(w.id === "larson" || w.id === "tree" ? nativeIds : [])]) {
          assert.equal(row.configs[cfg]?.status, "ok", `${w.id} x${row.workers} / ${cfg}`);
          assert.ok((row.configs[cfg].rate?.median ?? 0) > 0, `${w.id} x${row.workers} / ${cfg} has a rate`);
        }
        // Memory comes from a repetition of its own, not timed: as many rates as timed repetitions,
        // each measured, and the workloads that sample memory have the sampler's report (a smoke
        // run's trees may end between two samples: its peaks can be 0).
        const sab = row.configs.sabmalloc;
        assert.equal(sab.rates?.length, res.meta.mtReps, `${w.id} x${row.workers}: a rate for each timed repetition, none for the untimed one`);
        assert.ok(sab.rates?.every((x) => x > 0), `${w.id} x${row.workers}: every timed repetition measured`);
        if (!/^cache-/.test(w.id)) assert.ok(Number.isFinite(sab.memory?.samples), `${w.id} x${row.workers}: memory sampled`);
      }
    }
    // The progress lines show it: each heap configuration's untimed repetition ("m") comes before
    // the timed ones ("."), in every row of the workloads that sample memory (4 workloads x 3
    // worker counts), and in no other row.
    const rowLines = r.stdout.split("\n").filter((l) => / workers: /.test(l));
    assert.equal(rowLines.filter((l) => /^mm\.+ /.test(l)).length, 12, `rows with an untimed memory repetition first:\n${rowLines.join("\n")}`);
    assert.equal(rowLines.filter((l) => /m/.test(l.split(" ")[0]) && !/^mm\.+ /.test(l)).length, 0, "no other row samples memory");
    // The scaling floors of the larson and tree loops (target 4), measured in the same run; and on
    // Linux, the CPU that threads other than the workers used while they ran (a share of a core).
    for (const id of ["larson", "tree"]) {
      const w = res.mt.find((x) => x.id === id);
      assert.ok((w?.floor?.floor.scaling ?? 0) > 0 && (w?.floor?.sabmalloc.scaling ?? 0) > 0, `${id} has its scaling floor`);
      if (process.platform === "linux") {
        for (const row of w?.rows ?? []) {
          const other = row.configs.sabmalloc.otherCores?.median;
          assert.ok(Number.isFinite(other) && (other as number) > -0.5 && (other as number) < 4, `${id} x${row.workers}: other threads' CPU ${other}`);
        }
      }
    }
    const md = readFileSync(join(out, "results.md"), "utf8");
    // Each workload ran in fresh host threads (no JIT state carried over from the rows before), and
    // the method says so.
    assert.equal(res.meta.freshHosts, true);
    assert.ok(md.includes("a fresh one for each workload"), "results.md says each workload had fresh hosts");
    // The targets of issue 11, each checked against the run: one row per target group.
    assert.ok(md.includes("## Targets"), "results.md has the targets");
    for (const t of ["1. bulk", "1. trees", "2. live blocks", "3. growing", "4. two workers", "5. hit pair", "6. native column"]) {
      assert.ok(md.includes(`| ${t} |`), `results.md has the target ${t}`);
    }
    // --report writes the same results.md again from the run's JSON, running nothing.
    const again = mkdtempSync(join(tmpdir(), "sabmalloc-report-"));
    try {
      const rr = spawnSync(process.execPath, ["bench/run.mjs", "--report", json, "--out-dir", again], { cwd: root, encoding: "utf8", timeout: 30_000 });
      assert.equal(rr.status, 0, rr.stderr);
      assert.equal(readFileSync(join(again, "results.md"), "utf8"), md, "--report renders the run's results.md again");
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
    for (const w of res.st) assert.ok(md.includes(w.title), `results.md has a row for ${w.title}`);
    for (const id of nativeIds) assert.ok(md.includes(`| ${id} |`) || md.includes(` ${id} |`), `results.md has a column for ${id}`);
    if (nativeIds.includes("native-jemalloc")) assert.ok(md.includes("### Ratios against native-jemalloc"), "results.md has the ratios against native-jemalloc");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
